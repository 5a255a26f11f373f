package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * The last stage of a socket's send path: writes one datagram whose destination is known to the
 * channel, and answers it through its {@link UdpSocket.SendCompletion} when the kernel took it or
 * refused it. Before writing it applies, in order, the family's payload limit (EMSGSIZE), the
 * {@link SocketGuard} (destination and rate), and the bound on bytes the kernel has not taken yet
 * (ENOBUFS). A failure is also emitted as 'error' when the datagram asks for it.
 *
 * <p>Event-loop confined, as the channel's writes are. Takes ownership of each datagram's payload:
 * it is released once written or refused.
 */
final class DatagramWriter {
    /**
     * Bytes of sends the daemon may hold for one socket: those waiting for a bind, connect or name
     * lookup (counted by the socket), and those written that the kernel has not taken yet (counted
     * here). Beyond either bound a send fails with ENOBUFS.
     */
    static final int MAX_QUEUED_BYTES = 4 << 20;

    private final DatagramChannel channel;
    private final SocketConfig.Family family;
    private final SocketGuard guard;
    private final SocketCounters counters;
    private final SocketTaps taps;
    private final Consumer<SocketEvent> emit;
    // The last literal destination, parsed: a flow to one peer parses its address once.
    private String lastHost;
    private int lastPort = -1;
    private InetSocketAddress lastTarget;

    /** @param emit emits a send's 'error' event on the socket */
    DatagramWriter(DatagramChannel channel, SocketConfig.Family family, SocketGuard guard, SocketCounters counters,
                   SocketTaps taps, Consumer<SocketEvent> emit) {
        this.channel = channel;
        this.family = family;
        this.guard = guard;
        this.counters = counters;
        this.taps = taps;
        this.emit = emit;
    }

    /**
     * The destination {@code host}:{@code port} when {@code host} is an IP literal of the socket's
     * family, else null (a name to look up, or an error {@link AddressResolver#resolve} reports).
     */
    InetSocketAddress literalTarget(String host, int port) {
        if (port == lastPort && host.equals(lastHost)) {
            return lastTarget;
        }
        InetAddress address = AddressResolver.literal(host, family);
        if (address == null || !AddressResolver.usable(address, family)) {
            return null;
        }
        lastHost = host;
        lastPort = port;
        lastTarget = new InetSocketAddress(address, port);
        return lastTarget;
    }

    /**
     * Writes {@code d} to {@code to} without flushing, or answers its failure.
     *
     * @param connectedPeer {@code to} is the connected peer, which the guard judged at connect time
     * @return whether something was written that needs a flush
     */
    boolean write(OutgoingDatagram d, InetSocketAddress to, boolean connectedPeer, UdpSocket.SendCompletion done) {
        int size = d.data().readableBytes();
        if (size > family.maxPayload()) {
            // As the kernel answers Node: after the implicit bind, at send time.
            fail(d, DgramError.system(SystemError.EMSGSIZE, "send", Addresses.text(to.getAddress()), to.getPort()),
                    done);
            return false;
        }
        DgramError refused = connectedPeer ? null : guard.checkDestination(to, "send");
        if (refused == null) {
            refused = guard.admitSend(size, to);
        }
        if (refused != null) {
            fail(d, refused, done);
            return false;
        }
        if (size == 0) {
            writeEmpty(d, to, done);
            return false;
        }
        if (queuedBytes() > MAX_QUEUED_BYTES) {
            // The kernel is not taking datagrams as fast as they come: refuse rather than queue without bound.
            fail(d, DgramError.system(SystemError.ENOBUFS, "send", Addresses.text(to.getAddress()), to.getPort()), done);
            return false;
        }
        byte[] copy = taps.active() ? ByteBufUtil.getBytes(d.data()) : null;
        channel.write(new DatagramPacket(d.data(), to), new Sent(d.id(), d.emitError(), to, done, size, copy));
        return true;
    }

    /** Answers {@code d} with {@code error} without sending it, releasing its payload. */
    void fail(OutgoingDatagram d, DgramError error, UdpSocket.SendCompletion done) {
        fail(d, error, done, d.emitError());
    }

    /** As {@link #fail(OutgoingDatagram, DgramError, UdpSocket.SendCompletion)}, emitting 'error' only if {@code emitError}. */
    void fail(OutgoingDatagram d, DgramError error, UdpSocket.SendCompletion done, boolean emitError) {
        int size = d.data().readableBytes();
        d.data().release();
        counters.sendFailed();
        if (emitError) {
            emit.accept(new SocketEvent.Error(error));
        }
        done.done(d.id(), 0, error, size);
    }

    /** Bytes written that the kernel has not taken yet. */
    long queuedBytes() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    /** Datagrams written that the kernel has not taken yet. */
    long queuedCount() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.size();
    }

    /**
     * Netty drops zero-length datagrams, Node sends them: flush what is queued, then send it on the
     * socket directly.
     */
    private void writeEmpty(OutgoingDatagram d, InetSocketAddress to, UdpSocket.SendCompletion done) {
        d.data().release();
        channel.flush();
        try {
            Sockopts.sendEmpty(channel, to);
            counters.sent(0);
            taps.copy(DatagramTap.Direction.SENT, to, new byte[0]);
            done.done(d.id(), 0, null, 0);
        } catch (DgramError e) {
            counters.sendFailed();
            if (d.emitError()) {
                emit.accept(new SocketEvent.Error(e));
            }
            done.done(d.id(), 0, e, 0);
        }
    }

    /**
     * A datagram's write promise that completes the send itself when the channel completes it:
     * no listener to allocate and notify per datagram. On the event loop, as every write.
     */
    private final class Sent extends DefaultChannelPromise {
        private final long id;
        private final boolean emitError;
        private final InetSocketAddress to;
        private final UdpSocket.SendCompletion done;
        private final int size;
        private final byte[] copy;

        Sent(long id, boolean emitError, InetSocketAddress to, UdpSocket.SendCompletion done, int size, byte[] copy) {
            super(channel, channel.eventLoop());
            this.id = id;
            this.emitError = emitError;
            this.to = to;
            this.done = done;
            this.size = size;
            this.copy = copy;
        }

        @Override
        public ChannelPromise setSuccess(Void result) {
            super.setSuccess(result);
            succeeded();
            return this;
        }

        @Override
        public boolean trySuccess(Void result) {
            if (!super.trySuccess(result)) {
                return false;
            }
            succeeded();
            return true;
        }

        @Override
        public ChannelPromise setFailure(Throwable cause) {
            super.setFailure(cause);
            failed(cause);
            return this;
        }

        @Override
        public boolean tryFailure(Throwable cause) {
            if (!super.tryFailure(cause)) {
                return false;
            }
            failed(cause);
            return true;
        }

        private void succeeded() {
            counters.sent(size);
            if (copy != null) {
                taps.copy(DatagramTap.Direction.SENT, to, copy);
            }
            done.done(id, size, null, size);
        }

        private void failed(Throwable cause) {
            counters.sendFailed();
            DgramError e = cause instanceof DgramError de ? de
                    : DgramError.system(SystemError.of(cause), "send", Addresses.text(to.getAddress()), to.getPort());
            if (emitError) {
                emit.accept(new SocketEvent.Error(e));
            }
            done.done(id, 0, e, size);
        }
    }
}
