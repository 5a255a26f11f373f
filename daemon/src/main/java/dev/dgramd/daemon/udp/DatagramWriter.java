package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last stage of a socket's send path: writes one datagram whose destination is known to the
 * channel, and answers it through its {@link UdpSocket.SendCompletion} when the kernel took it or
 * refused it. Before writing it applies, in order, the family's payload limit (EMSGSIZE), the
 * {@link SocketGuard} (destination and rate), and the bound on bytes the kernel has not taken yet
 * (ENOBUFS). A failure is also emitted as 'error' when the datagram asks for it.
 *
 * <p>Where the kernel can segment (Linux, epoll), consecutive datagrams of one size to one
 * destination are gathered between flushes and written as one segmented send ({@link Segments});
 * every datagram keeps its own answer. Callers write, then {@link #flush} in the same event-loop
 * task: nothing stays gathered across tasks.
 *
 * <p>Event-loop confined, as the channel's writes are. Takes ownership of each datagram's payload:
 * it is released once written or refused.
 */
final class DatagramWriter {
    private static final Logger log = LoggerFactory.getLogger(DatagramWriter.class);
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
    /** The largest datagram gathered for a segmented send: an Ethernet MTU less the IP and UDP headers. */
    private final int maxSegment;
    /** Whether consecutive datagrams to one destination are gathered for one segmented send. */
    private boolean segmenting;
    private Segments run; // gathering, until the next flush at the latest
    private int lastRun = 1; // datagrams in the last run written
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
        this.maxSegment = family == SocketConfig.Family.IPV4 ? 1_472 : 1_452;
        this.segmenting = Transport.segments(channel);
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
     * Writes {@code d} to {@code to} without flushing, or answers its failure. Consecutive
     * datagrams to one destination may be gathered ({@link Segments}) until {@link #flush}.
     *
     * @param connectedPeer {@code to} is the connected peer, which the guard judged at connect time
     * @return whether something was written or gathered that needs a {@link #flush}
     */
    boolean write(OutgoingDatagram d, InetSocketAddress to, boolean connectedPeer, UdpSocket.SendCompletion done) {
        int size = d.size();
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
        if (queuedBytes() + (run == null ? 0 : run.bytes) > MAX_QUEUED_BYTES) {
            // The kernel is not taking datagrams as fast as they come: refuse rather than queue without bound.
            fail(d, DgramError.system(SystemError.ENOBUFS, "send", Addresses.text(to.getAddress()), to.getPort()), done);
            return false;
        }
        boolean tapped = taps.active();
        if (segmenting && !tapped && size <= maxSegment) {
            if (run != null && !run.takes(to, size)) {
                writeRun();
            }
            if (run == null) {
                // room for as many as the last run held, twice, within what the call has left
                int left = d.following() > 0 ? 1 + d.following() : Segments.MAX;
                int room = Math.min(Math.min(left, Math.max(2, 2 * lastRun)),
                        Math.min(Segments.MAX, family.maxPayload() / size));
                run = new Segments(to, size, room);
            }
            run.add(d, size, done);
            if (run.full()) {
                writeRun();
            }
            return true;
        }
        writeRun();
        byte[] copy = tapped ? ByteBufUtil.getBytes(d.data()) : null;
        channel.write(new DatagramPacket(d.data(), to), new Sent(d.id(), d.emitError(), to, done, size, copy));
        return true;
    }

    /** Writes what {@link #write} gathered, then flushes the channel. */
    void flush() {
        writeRun();
        channel.flush();
    }

    /** Writes the gathered run, if any, without flushing; a run of one as a plain datagram. */
    private void writeRun() {
        Segments r = run;
        if (r == null) {
            return;
        }
        run = null;
        lastRun = r.count;
        if (r.data.capacity() > 2 * r.bytes) {
            // fewer came than room was made for: what waits in the channel holds no more than it counts, twice
            r.data.capacity(r.bytes);
        }
        if (r.count == 1) {
            channel.write(new DatagramPacket(r.data, r.to), r); // answered as a Sent would be
        } else {
            r.data.retain(); // kept until answered: a refused run is sent again datagram by datagram
            channel.write(new SegmentedDatagramPacket(r.data, r.segment, r.to), r);
        }
    }

    /** Answers {@code d} with {@code error} without sending it, releasing its payload. */
    void fail(OutgoingDatagram d, DgramError error, UdpSocket.SendCompletion done) {
        fail(d, error, done, d.emitError());
    }

    /** As {@link #fail(OutgoingDatagram, DgramError, UdpSocket.SendCompletion)}, emitting 'error' only if {@code emitError}. */
    void fail(OutgoingDatagram d, DgramError error, UdpSocket.SendCompletion done, boolean emitError) {
        int size = d.size();
        d.discard();
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
        d.discard();
        flush();
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
     * A write promise that completes the sends behind it itself when the channel completes it: no
     * listener to allocate and notify per write. On the event loop, as every write.
     */
    private abstract class Answering extends DefaultChannelPromise {
        Answering() {
            super(channel, channel.eventLoop());
        }

        abstract void succeeded();

        abstract void failed(Throwable cause);

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
    }

    /** One datagram's write, answered as the kernel took or refused it. */
    private final class Sent extends Answering {
        private final long id;
        private final boolean emitError;
        private final InetSocketAddress to;
        private final UdpSocket.SendCompletion done;
        private final int size;
        private final byte[] copy;

        Sent(long id, boolean emitError, InetSocketAddress to, UdpSocket.SendCompletion done, int size, byte[] copy) {
            this.id = id;
            this.emitError = emitError;
            this.to = to;
            this.done = done;
            this.size = size;
            this.copy = copy;
        }

        @Override
        void succeeded() {
            counters.sent(size);
            if (copy != null) {
                taps.copy(DatagramTap.Direction.SENT, to, copy);
            }
            done.done(id, size, null, size);
        }

        @Override
        void failed(Throwable cause) {
            refused(id, emitError, to, done, size, cause);
        }
    }

    /** Answers a written datagram the channel failed with {@code cause}, emitting 'error' if asked. */
    private void refused(long id, boolean emitError, InetSocketAddress to, UdpSocket.SendCompletion done, int size,
                         Throwable cause) {
        counters.sendFailed();
        DgramError e = cause instanceof DgramError de ? de
                : DgramError.system(SystemError.of(cause), "send", Addresses.text(to.getAddress()), to.getPort());
        if (emitError) {
            emit.accept(new SocketEvent.Error(e));
        }
        done.done(id, 0, e, size);
    }

    /**
     * Consecutive datagrams to one destination gathered into one buffer, written as one
     * UDP_SEGMENT (GSO) send: all of one size but the last, which may be shorter; at most
     * {@link #MAX} (the kernel's UDP_MAX_SEGMENTS) and one IP packet's worth of bytes. The kernel
     * takes them in one system call and one trip down the IP stack, and cuts them into the
     * datagrams they were, each with its own UDP header. Once written, its write promise.
     *
     * <p>Refused whole, the datagrams are written again one by one, each answered as the kernel
     * answers it; when the refusal says the kernel or the device cannot segment them (EMSGSIZE or
     * EINVAL: the route's MTU is below the segment; EIO: no checksum offload, or an error that
     * cannot be told) the socket stops gathering. A connected socket's pending ICMP error
     * (ECONNREFUSED) is the first datagram's, as it would have been sent alone; the others are
     * written again.
     */
    private final class Segments extends Answering {
        static final int MAX = 64;
        final InetSocketAddress to;
        final int segment;
        final ByteBuf data;
        private long[] ids;
        private boolean[] emitErrors;
        private UdpSocket.SendCompletion[] dones;
        int count;
        int bytes;
        private boolean last; // a shorter datagram ended it

        Segments(InetSocketAddress to, int segment, int room) {
            this.to = to;
            this.segment = segment;
            this.data = channel.alloc().directBuffer(segment * room, family.maxPayload());
            this.ids = new long[room];
            this.emitErrors = new boolean[room];
            this.dones = new UdpSocket.SendCompletion[room];
        }

        /** Whether a datagram of {@code size} bytes to {@code to} can follow. */
        boolean takes(InetSocketAddress to, int size) {
            return !last && size <= segment && bytes + size <= family.maxPayload()
                    && (to == this.to || to.equals(this.to));
        }

        void add(OutgoingDatagram d, int size, UdpSocket.SendCompletion done) {
            if (count == ids.length) {
                int n = Math.min(MAX, 2 * count);
                ids = Arrays.copyOf(ids, n);
                emitErrors = Arrays.copyOf(emitErrors, n);
                dones = Arrays.copyOf(dones, n);
            }
            d.moveTo(data);
            ids[count] = d.id();
            emitErrors[count] = d.emitError();
            dones[count] = done;
            count++;
            bytes += size;
            last = size < segment;
        }

        boolean full() {
            return last || count == MAX || bytes + segment > family.maxPayload();
        }

        private int size(int i) {
            return i < count - 1 ? segment : bytes - segment * (count - 1);
        }

        @Override
        void succeeded() {
            if (count == 1) {
                counters.sent(bytes);
            } else {
                counters.sentSegmented(count, bytes);
                data.release();
            }
            for (int i = 0; i < count; i++) {
                int size = size(i);
                dones[i].done(ids[i], size, null, size);
            }
        }

        @Override
        void failed(Throwable cause) {
            SystemError error = SystemError.of(cause);
            int first = 0;
            if (count == 1 || error == SystemError.ECONNREFUSED) {
                // a datagram written alone; or the pending error the kernel reports once: the first datagram's
                refused(ids[0], emitErrors[0], to, dones[0], size(0), cause);
                if (count == 1) {
                    return; // written alone, as a plain datagram
                }
                first = 1;
            } else if (segmenting && (error == SystemError.EINVAL || error == SystemError.EMSGSIZE
                    || error == SystemError.EIO)) {
                segmenting = false;
                log.debug("{}: the kernel refused a segmented send ({}); this socket now sends datagram by datagram",
                        to, error);
            }
            for (int i = first, offset = segment * first; i < count; offset += size(i), i++) {
                channel.write(new DatagramPacket(data.retainedSlice(offset, size(i)), to),
                        new Sent(ids[i], emitErrors[i], to, dones[i], size(i), null));
            }
            data.release();
            channel.flush();
        }
    }
}
