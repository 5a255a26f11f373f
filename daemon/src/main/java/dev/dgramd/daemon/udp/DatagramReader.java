package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive path of one socket: reads datagrams in batches (recvmmsg(2) on epoll, into a buffer
 * each event loop keeps), hands each to the {@link SocketObserver} as a 'message' (copied, so the
 * receive buffer is free again at once: into the loop's {@link BurstBuffer}, borrowed until the
 * burst ends), tells it when a burst of reads ends, reports read errors
 * as 'error' and the kernel's drop count a few times a second. Event-loop confined.
 */
final class DatagramReader extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(DatagramReader.class);
    private static final int RECEIVE_BUFFER = 65_536;
    /** Datagrams one recvmmsg(2) call may return (epoll); each gets room for the largest payload. */
    private static final int DATAGRAMS_PER_READ = 16;
    /**
     * Datagrams read per readiness event, at most (up to four recvmmsg calls): they become one
     * event batch, so under load fewer, larger batches go out; a lone datagram still goes at once.
     */
    private static final int DATAGRAMS_PER_WAKEUP = 4 * DATAGRAMS_PER_READ;
    private static final ReceiveBuffers RECEIVE_BUFFERS_V4 = new ReceiveBuffers(
            SocketConfig.Family.IPV4.maxPayload() * DATAGRAMS_PER_READ, DATAGRAMS_PER_WAKEUP);
    private static final ReceiveBuffers RECEIVE_BUFFERS_V6 = new ReceiveBuffers(
            SocketConfig.Family.IPV6.maxPayload() * DATAGRAMS_PER_READ, DATAGRAMS_PER_WAKEUP);
    /** How long after a read burst the kernel's drops counter is read (off the datagram path, at most once per period). */
    private static final long KERNEL_DROPS_DELAY_MS = 100;

    private final String socketId;
    private final DatagramChannel channel;
    private final SocketCounters counters;
    private final SocketTaps taps;
    private final SocketObserver observer;
    private final Consumer<SocketEvent> emit;
    private final BooleanSupplier closed;
    // The kernel's drops counter as last read, and whether a read is scheduled.
    private long kernelDropsSeen;
    private boolean kernelDropsCheckScheduled;

    /**
     * Configures {@code channel}'s reads and joins its pipeline.
     *
     * @param emit emits a read error's 'error' event on the socket
     * @param closed whether the socket is closed (a read error after close is not reported)
     */
    DatagramReader(String socketId, DatagramChannel channel, SocketConfig.Family family, SocketCounters counters,
                   SocketTaps taps, SocketObserver observer, Consumer<SocketEvent> emit, BooleanSupplier closed) {
        this.socketId = socketId;
        this.channel = channel;
        this.counters = counters;
        this.taps = taps;
        this.observer = observer;
        this.emit = emit;
        this.closed = closed;
        if (channel.config().setOption(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, family.maxPayload())) {
            // epoll: recvmmsg reads up to DATAGRAMS_PER_READ datagrams per system call, into a
            // buffer each event loop keeps (ReceiveBuffers says why)
            channel.config().setOption(ChannelOption.RCVBUF_ALLOCATOR,
                    family == SocketConfig.Family.IPV6 ? RECEIVE_BUFFERS_V6 : RECEIVE_BUFFERS_V4);
        } else {
            channel.config().setOption(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER));
        }
        channel.config().setOption(ChannelOption.AUTO_CLOSE, false);
        channel.pipeline().addLast(this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        DatagramPacket packet = (DatagramPacket) msg;
        try {
            ByteBuf content = packet.content();
            SocketEvent.Message m = BurstBuffer.ofThisThread().message(this, content, packet.sender());
            counters.received(m.length());
            if (taps.active()) {
                taps.copy(DatagramTap.Direction.RECEIVED, packet.sender(), m.data());
            }
            observer.onEvent(m);
        } finally {
            packet.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        try {
            observer.onBurstEnd();
        } finally {
            BurstBuffer.ofThisThread().release(this); // the burst's borrowed messages are written out, or copied
        }
        if (!kernelDropsCheckScheduled) {
            kernelDropsCheckScheduled = true;
            channel.eventLoop().schedule(this::scheduledKernelDropsCheck, KERNEL_DROPS_DELAY_MS, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!closed.getAsBoolean()) {
            emit.accept(new SocketEvent.Error(DgramError.system(SystemError.of(cause), "recvmsg", null, 0)));
        }
    }

    private void scheduledKernelDropsCheck() {
        kernelDropsCheckScheduled = false;
        if (!closed.getAsBoolean()) {
            checkKernelDrops();
        }
    }

    /**
     * Reads the kernel's drops counter of the socket; when it grew, counts the difference and tells
     * the observer. A few times a second at most (and once at close): one getsockopt(2), never per
     * datagram.
     */
    /** The kernel's drops counter as last read: a socket handed over goes on from there. */
    long kernelDropsSeen() {
        return kernelDropsSeen;
    }

    /** Sets {@link #kernelDropsSeen()}, before the first read of a socket taken over. */
    void kernelDropsSeen(long seen) {
        kernelDropsSeen = seen;
    }

    void checkKernelDrops() {
        long now = Sockopts.kernelDrops(channel);
        if (now > kernelDropsSeen) {
            long more = now - kernelDropsSeen;
            kernelDropsSeen = now;
            counters.kernelDropped(more);
            try {
                observer.onKernelDrops(more);
                observer.onBurstEnd();
            } catch (RuntimeException e) {
                SocketLog.warn(log, socketId, "socket {}: event observer failed", socketId, e);
            }
        }
    }
}
