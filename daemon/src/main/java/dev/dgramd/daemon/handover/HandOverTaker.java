package dev.dgramd.daemon.handover;

import dev.dgramd.daemon.grpc.DgramService.HandedSocket;
import dev.dgramd.daemon.udp.UdpSocket;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The new daemon's side of a hand-over ({@link Frames}): connects to the running daemon's
 * hand-over socket, asks for its sockets, and receives their state and file descriptors. Blocking:
 * for the start of a daemon, before it serves. Each step waits at most the timeout.
 */
public final class HandOverTaker implements AutoCloseable {
    private final Channel channel;
    private final long timeoutNanos;
    /** Frames (ByteBuf, type byte first), descriptors, or the channel's end (a Throwable). */
    private final LinkedBlockingQueue<Object> inbox;
    private List<HandedSocket> sockets;

    private HandOverTaker(Channel channel, LinkedBlockingQueue<Object> inbox, Duration timeout) {
        this.channel = channel;
        this.inbox = inbox;
        this.timeoutNanos = timeout.toNanos();
    }

    /**
     * Connects to {@code path} and takes the sockets: when this returns, the running daemon has
     * stopped them and this process holds a descriptor of each ({@link #sockets}).
     *
     * @throws IOException when nobody listens there, the running daemon refuses (another user,
     *     another hand-over under way, a format it does not know), or a step times out
     */
    public static HandOverTaker connect(Path path, EventLoopGroup group, Duration timeout) throws IOException {
        LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        Channel ch;
        try {
            ch = new Bootstrap().group(group).channel(EpollDomainSocketChannel.class)
                    .handler(new ChannelInitializer<EpollDomainSocketChannel>() {
                        @Override
                        protected void initChannel(EpollDomainSocketChannel c) {
                            c.pipeline().addLast(Frames.decoder(), new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    inbox.add(msg);
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    inbox.add(new IOException("the running daemon closed the hand-over connection"));
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    inbox.add(cause);
                                    ctx.close();
                                }
                            });
                        }
                    })
                    .connect(new DomainSocketAddress(path.toString())).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the connect's or bind's IOException unchecked
            throw new IOException("hand-over socket " + path + ": cannot connect: " + e.getMessage(), e);
        }
        HandOverTaker taker = new HandOverTaker(ch, inbox, timeout);
        taker.take();
        return taker;
    }

    private void take() throws IOException {
        try {
            Frames.send(channel, Frames.TAKE).syncUninterruptibly();
            byte[] state = expect(Frames.STATE);
            List<HandedSocket> described = HandOverCodec.decode(state);
            ((EpollDomainSocketChannel) channel).config().setReadMode(DomainSocketReadMode.FILE_DESCRIPTORS);
            Frames.send(channel, Frames.SEND_FDS).syncUninterruptibly();
            List<HandedSocket> withFds = new ArrayList<>(described.size());
            for (HandedSocket h : described) {
                Object next = next();
                if (!(next instanceof FileDescriptor fd)) {
                    release(next);
                    throw new IOException("expected the descriptor of socket " + h.socket().id() + ", got " + next);
                }
                UdpSocket.HandedOver s = h.socket();
                withFds.add(new HandedSocket(new UdpSocket.HandedOver(s.id(), s.owner(), s.config(), s.local(),
                        s.remote(), s.kernelDropsSeen(), s.counts(), fd.intValue()), h.name(), h.events()));
            }
            ((EpollDomainSocketChannel) channel).config().setReadMode(DomainSocketReadMode.BYTES);
            sockets = withFds;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e instanceof IOException io ? io : new IOException("hand-over failed: " + e, e);
        }
    }

    /** The sockets taken, each with its descriptor in this process. */
    public List<HandedSocket> sockets() {
        return sockets;
    }

    /**
     * Tells the running daemon that this process reads the sockets now, and waits until it has
     * stopped listening on its addresses (so that this process can listen on them).
     */
    public void taken() throws IOException {
        Frames.send(channel, Frames.TAKEN).syncUninterruptibly();
        expect(Frames.RELEASED);
    }

    /** Tells the running daemon that this one listens in its place: it exits. */
    public void done() {
        Frames.send(channel, Frames.DONE).syncUninterruptibly();
    }

    /** Gives up before {@link #taken}: the running daemon goes on with its sockets. */
    public void fail(String why) {
        if (channel.isActive()) {
            Frames.error(channel, why).awaitUninterruptibly(timeoutNanos, TimeUnit.NANOSECONDS);
        }
        channel.close();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private byte[] expect(byte type) throws IOException {
        Object next = next();
        if (!(next instanceof ByteBuf frame)) {
            release(next);
            throw new IOException("hand-over: expected a message, got " + next);
        }
        try {
            byte got = frame.readByte();
            byte[] body = Frames.body(frame);
            if (got == Frames.ERROR) {
                throw new IOException("the running daemon refused the hand-over: "
                        + new String(body, StandardCharsets.UTF_8));
            }
            if (got != type) {
                throw new IOException("hand-over: expected '" + (char) type + "', got '" + (char) got + "'");
            }
            return body;
        } finally {
            frame.release();
        }
    }

    private Object next() throws IOException {
        Object next;
        try {
            next = inbox.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during the hand-over");
        }
        if (next == null) {
            throw new IOException("hand-over: the running daemon did not answer within "
                    + Duration.ofNanos(timeoutNanos));
        }
        if (next instanceof Throwable t) {
            throw t instanceof IOException io ? io : new IOException("hand-over connection failed: " + t, t);
        }
        return next;
    }

    private static void release(Object msg) {
        if (msg instanceof ByteBuf b) {
            b.release();
        }
    }
}
