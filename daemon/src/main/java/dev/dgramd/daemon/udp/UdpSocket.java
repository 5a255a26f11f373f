package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A UDP socket with the semantics of Node's {@code dgram.Socket}, on a Netty datagram channel.
 *
 * <p>Every method may be called from any thread; the work runs on the socket's event loop, where
 * all state lives and all events are emitted (to the {@link SocketObserver}), in order.
 * Methods answer with a future that fails with a {@link DgramError} carrying Node's code.
 *
 * <p>Node semantics: {@link #send}, {@link #connect} and {@link #addMembership} bind an unbound
 * socket to port 0 on all interfaces first; sends and a close issued while a bind or connect is
 * pending run after it, in order; {@link #close} emits 'close' once.
 *
 * <p>The socket's {@link SocketGuard} is asked before each bind, connect, send, setBroadcast(true)
 * and group join, on resolved addresses; an operation it refuses fails with the guard's error
 * exactly as a kernel failure would (future, send completion, and 'error' where Node emits one).
 */
public final class UdpSocket {
    private static final Logger log = LoggerFactory.getLogger(UdpSocket.class);
    /**
     * Bytes of sends held while a bind, connect or name lookup is pending, and bytes the kernel has
     * not yet taken: beyond either bound a send fails with ENOBUFS.
     */
    private static final int MAX_PENDING_BYTES = 4 << 20;
    private static final int RECEIVE_BUFFER = 65_536;
    /** Datagrams one recvmmsg(2) call may return (epoll); each gets room for the largest payload. */
    private static final int DATAGRAMS_PER_READ = 16;
    /**
     * Datagrams read per readiness event, at most (up to four recvmmsg calls): they become one
     * event batch, so under load fewer, larger batches go out; a lone datagram still goes at once.
     */
    private static final int DATAGRAMS_PER_WAKEUP = 4 * DATAGRAMS_PER_READ;
    private static final DatagramTap[] NO_TAPS = {};
    private static final ReceiveBuffers RECEIVE_BUFFERS_V4 = new ReceiveBuffers(
            SocketConfig.Family.IPV4.maxPayload() * DATAGRAMS_PER_READ, DATAGRAMS_PER_WAKEUP);
    private static final ReceiveBuffers RECEIVE_BUFFERS_V6 = new ReceiveBuffers(
            SocketConfig.Family.IPV6.maxPayload() * DATAGRAMS_PER_READ, DATAGRAMS_PER_WAKEUP);
    /** How long after a read burst the kernel's drops counter is read (off the datagram path, at most once per period). */
    private static final long KERNEL_DROPS_DELAY_MS = 100;

    /** A datagram to send; {@code data} is released by the socket. Port 0 and address null: the connected peer. */
    public record Outgoing(long id, ByteBuf data, int port, String address, boolean emitError) {}

    /** The outcome of one {@link Outgoing}, on the socket's event loop. */
    @FunctionalInterface
    public interface SendCompletion {
        /**
         * {@code error} is null when {@code bytes} were sent.
         *
         * @param size the payload size of the datagram, sent or not
         */
        void done(long id, int bytes, DgramError error, int size);
    }

    /** What an observer factory knows of the socket it observes: its id and event loop. */
    public record Context(String id, EventLoop eventLoop) {}

    private enum BindState { UNBOUND, BINDING, BOUND }

    private enum ConnectState { DISCONNECTED, CONNECTING, CONNECTED }

    /** Work waiting for a bind or connect to finish. */
    private interface Pending {
        void run();

        void fail(DgramError error);
    }

    private final String id;
    private final String owner;
    private final SocketConfig config;
    private final DatagramChannel channel;
    private final EventLoop loop;
    private final AddressResolver resolver;
    private final SocketObserver observer;
    private final Consumer<UdpSocket> onClosed;
    private final boolean ipv6;
    private final SocketCounters counters;
    private final SocketGuard guard;

    // Event-loop confined state.
    private BindState bindState = BindState.UNBOUND;
    private ConnectState connectState = ConnectState.DISCONNECTED;
    private boolean closed;
    private volatile InetSocketAddress local; // volatile: also read by localAddress() from any thread
    private volatile InetSocketAddress remote;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long pendingBytes;
    private int pendingSends;
    private int lookups;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private volatile DatagramTap[] taps = NO_TAPS; // written on the loop; volatile for tapCount()
    // The last literal destination of send(), parsed (event-loop confined).
    private String lastTargetHost;
    private int lastTargetPort = -1;
    private InetSocketAddress lastTarget;
    // The kernel's drops counter as last read, and whether a read is scheduled (event-loop confined).
    private long kernelDropsSeen;
    private boolean kernelDropsCheckScheduled;

    UdpSocket(String id, String owner, SocketConfig config, DatagramChannel channel, AddressResolver resolver,
              SocketObserver observer, Consumer<UdpSocket> onClosed, SocketCounters counters, SocketGuard guard) {
        this.id = id;
        this.owner = owner;
        this.config = config;
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.resolver = resolver;
        this.observer = observer;
        this.onClosed = onClosed;
        this.counters = counters;
        this.guard = guard;
        this.ipv6 = config.family() == SocketConfig.Family.IPV6;
        int maxPayload = config.family().maxPayload();
        if (channel.config().setOption(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, maxPayload)) {
            // epoll: recvmmsg reads up to DATAGRAMS_PER_READ datagrams per system call, into a
            // buffer each event loop keeps (ReceiveBuffers says why)
            channel.config().setOption(ChannelOption.RCVBUF_ALLOCATOR, config.family() == SocketConfig.Family.IPV6
                    ? RECEIVE_BUFFERS_V6 : RECEIVE_BUFFERS_V4);
        } else {
            channel.config().setOption(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER));
        }
        channel.config().setOption(ChannelOption.AUTO_CLOSE, false);
        channel.pipeline().addLast(new Receiver());
    }

    /** The socket's id, unique within its registry. */
    public String id() {
        return id;
    }

    /** The principal that owns the socket (the one that created it). */
    public String owner() {
        return owner;
    }

    /** The options it was created with. */
    public SocketConfig config() {
        return config;
    }

    /** The event loop that owns this socket. */
    public EventLoop eventLoop() {
        return loop;
    }

    /** The allocator of the socket's channel: for {@link Outgoing} payloads in the buffers it writes best. */
    public ByteBufAllocator alloc() {
        return channel.alloc();
    }

    /** This socket's traffic counters, readable from any thread. */
    public SocketCounters counters() {
        return counters;
    }

    /** The address the socket is bound to, or null while unbound; from any thread. */
    public InetSocketAddress localAddress() {
        return local;
    }

    /** The connected peer, or null while not connected; from any thread. */
    public InetSocketAddress connectedPeer() {
        return remote;
    }

    /** Completes once the socket is closed and 'close' was emitted. */
    public CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    // ---------------------------------------------------------------- bind, connect, close

    /**
     * socket.bind(port, address).
     * Fails with ERR_SOCKET_BAD_PORT, ERR_SOCKET_ALREADY_BOUND, ERR_SOCKET_DGRAM_NOT_RUNNING at once;
     * a failure of the bind itself (EADDRINUSE, ENOTFOUND, ...) is also emitted as 'error'.
     *
     * @param address a literal or host name; null or empty for all interfaces
     */
    public CompletableFuture<InetSocketAddress> bind(int port, String address) {
        return onLoop(() -> {
            checkOpen();
            if (bindState != BindState.UNBOUND) {
                throw DgramError.of("ERR_SOCKET_ALREADY_BOUND", "Socket is already bound");
            }
            if (port < 0 || port > 65_535) {
                throw DgramError.badPort(">= 0 and < 65536", port);
            }
            return startBind(port, isEmpty(address) ? config.family().anyAddress() : address);
        });
    }

    /**
     * socket.connect(port, address), binding first if needed.
     * Fails with ERR_SOCKET_BAD_PORT, ERR_SOCKET_DGRAM_IS_CONNECTED, ERR_SOCKET_DGRAM_NOT_RUNNING at
     * once; a failure to bind, resolve or connect is also emitted as 'error'.
     *
     * @param address a literal or host name; null or empty for the loopback address
     */
    public CompletableFuture<InetSocketAddress> connect(int port, String address) {
        return onLoop(() -> {
            checkOpen();
            if (connectState != ConnectState.DISCONNECTED) {
                throw DgramError.of("ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
            }
            if (port < 1 || port > 65_535) {
                throw DgramError.badPort("> 0 and < 65536", port);
            }
            String host = isEmpty(address) ? config.family().loopback() : address;
            connectState = ConnectState.CONNECTING;
            CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
            afterBind(new Pending() {
                @Override
                public void run() {
                    whenResolved(resolver.resolve(host, config.family(), "connect", port), (target, error) -> {
                        if (error != null) {
                            connectFailed(error, result);
                            return;
                        }
                        InetSocketAddress peer = new InetSocketAddress(target, port);
                        DgramError refused = guard.checkDestination(peer, "connect");
                        if (refused != null) {
                            connectFailed(refused, result);
                            return;
                        }
                        try {
                            Sockopts.connect(channel, peer);
                        } catch (DgramError e) {
                            connectFailed(e, result);
                            return;
                        }
                        connectState = ConnectState.CONNECTED;
                        remote = peer;
                        emit(new SocketEvent.Connect(peer));
                        result.complete(peer);
                        settle(null);
                    });
                }

                @Override
                public void fail(DgramError error) {
                    connectState = ConnectState.DISCONNECTED;
                    result.completeExceptionally(error); // the bind failure was emitted already
                }
            });
            return result;
        });
    }

    private void connectFailed(DgramError error, CompletableFuture<InetSocketAddress> result) {
        connectState = ConnectState.DISCONNECTED;
        emit(new SocketEvent.Error(error));
        result.completeExceptionally(error);
        settle(error);
    }

    /** socket.disconnect(). Fails with ERR_SOCKET_DGRAM_NOT_CONNECTED. */
    public CompletableFuture<Void> disconnect() {
        return onLoop(() -> {
            checkOpen();
            if (connectState != ConnectState.CONNECTED) {
                throw DgramError.of("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
            }
            Sockopts.disconnect(channel);
            connectState = ConnectState.DISCONNECTED;
            remote = null;
            return CompletableFuture.completedFuture(null);
        });
    }

    /**
     * socket.close(). Idempotent: completes with true when this call closed the socket, false when
     * it was closed (or closing) already. Work pending on a bind runs first, as in Node.
     */
    public CompletableFuture<Boolean> close() {
        return onLoop(() -> {
            if (closed) {
                return closeFuture.thenApply(v -> false);
            }
            closed = true; // no new work is accepted from here on
            if (isBusy()) {
                pending.add(new Pending() {
                    @Override
                    public void run() {
                        finishClose();
                    }

                    @Override
                    public void fail(DgramError error) {
                        finishClose();
                    }
                });
            } else {
                finishClose();
            }
            return closeFuture.thenApply(v -> true);
        });
    }

    private void finishClose() {
        checkKernelDrops(); // the last count goes out ahead of 'close'
        DgramError notRunning = DgramError.notRunning();
        while (!pending.isEmpty()) {
            pending.poll().fail(notRunning);
        }
        channel.close().addListener(f -> {
            emit(new SocketEvent.Close());
            onClosed.accept(this); // gone from the registry before a tap hears of the close
            DatagramTap[] ended = taps;
            taps = NO_TAPS;
            for (DatagramTap tap : ended) {
                try {
                    tap.onClose();
                } catch (RuntimeException e) {
                    SocketLog.warn(log, id, "socket {}: tap failed", id, e);
                }
            }
            closeFuture.complete(null);
        });
    }

    // ---------------------------------------------------------------- taps

    /**
     * Copies every datagram this socket receives or sends from now on to {@code tap}, until
     * {@link #removeTap} or the socket closes ({@link DatagramTap#onClose}). Costs nothing while no
     * tap is attached. Fails with ERR_SOCKET_DGRAM_NOT_RUNNING when the socket is closed.
     */
    public CompletableFuture<Void> addTap(DatagramTap tap) {
        return onLoop(() -> {
            checkOpen();
            DatagramTap[] more = Arrays.copyOf(taps, taps.length + 1);
            more[taps.length] = tap;
            taps = more;
            return CompletableFuture.completedFuture(null);
        });
    }

    /** Taps attached now; from any thread. */
    public int tapCount() {
        return taps.length;
    }

    /** Stops copying datagrams to {@code tap}; does nothing when it is not attached. */
    public void removeTap(DatagramTap tap) {
        Runnable remove = () -> taps = Arrays.stream(taps).filter(t -> t != tap).toArray(DatagramTap[]::new);
        if (loop.inEventLoop()) {
            remove.run();
        } else {
            try {
                loop.execute(remove);
            } catch (RejectedExecutionException e) {
                // the loop is gone, and the socket with it
            }
        }
    }

    private void tapped(DatagramTap.Direction direction, InetSocketAddress peer, byte[] data) {
        for (DatagramTap tap : taps) {
            try {
                tap.onDatagram(direction, peer, data);
            } catch (RuntimeException e) {
                SocketLog.warn(log, id, "socket {}: tap failed", id, e);
            }
        }
    }

    // ---------------------------------------------------------------- send

    /**
     * Sends {@code datagrams} in order, then flushes once. Each one is answered through {@code done}
     * on the event loop: with the bytes sent, or with an error (ERR_SOCKET_DGRAM_NOT_RUNNING,
     * ERR_SOCKET_BAD_PORT, ERR_SOCKET_DGRAM_IS_CONNECTED, EMSGSIZE, EINVAL, ENOTFOUND, ENOBUFS, ...),
     * which is also emitted as 'error' when the datagram asks for it. Binds the socket first if needed.
     */
    public void send(List<Outgoing> datagrams, SendCompletion done) {
        if (loop.inEventLoop()) {
            sendAll(datagrams, done);
        } else {
            loop.execute(() -> sendAll(datagrams, done));
        }
    }

    private void sendAll(List<Outgoing> datagrams, SendCompletion done) {
        boolean wrote = false;
        for (Outgoing d : datagrams) {
            wrote |= sendOne(d, done);
        }
        if (wrote) {
            channel.flush();
        }
    }

    /** Returns true when something was written (and needs a flush). */
    private boolean sendOne(Outgoing d, SendCompletion done) {
        DgramError invalid = validate(d);
        if (invalid != null) {
            failSend(d, invalid, done);
            return false;
        }
        return dispatch(d, done);
    }

    /** Sends a validated datagram now, or once the pending bind/connect is done. */
    private boolean dispatch(Outgoing d, SendCompletion done) {
        if (bindState == BindState.UNBOUND) {
            startBind(0, config.family().anyAddress());
        }
        if (isBusy()) {
            int size = d.data().readableBytes();
            if (pendingBytes + size > MAX_PENDING_BYTES) {
                failSend(d, DgramError.system(SystemError.ENOBUFS, "send", d.address(), d.port()), done);
                return false;
            }
            pendingBytes += size;
            pendingSends++;
            pending.add(new Pending() {
                @Override
                public void run() {
                    pendingBytes -= size;
                    pendingSends--;
                    if (dispatch(d, done)) {
                        channel.flush();
                    }
                }

                @Override
                public void fail(DgramError error) {
                    pendingBytes -= size;
                    pendingSends--;
                    failSend(d, error, done);
                }
            });
            return false;
        }
        if (connectState == ConnectState.CONNECTED) {
            write(d, remote, done);
            return true;
        }
        String host = isEmpty(d.address()) ? config.family().loopback() : d.address();
        InetSocketAddress literal = literalTarget(host, d.port());
        if (literal != null) {
            write(d, literal, done);
            return true;
        }
        CompletableFuture<InetAddress> target = resolver.resolve(host, config.family(), "send", d.port());
        if (target.isDone()) {
            // Answered at once (a literal of the other family, text no resolver could answer): no
            // lookup to wait for, so nothing to settle. Settling here would recurse once per queued
            // send and overflow the stack on a long queue.
            DgramError error = failureOf(target);
            if (error != null) {
                failSend(d, error, done);
                return false;
            }
            write(d, new InetSocketAddress(target.join(), d.port()), done);
            return true;
        }
        // A name lookup: later sends (and a close) wait for it, so datagrams leave in the order given.
        // Its answer is always taken in a task of its own, so the settle below never nests in one
        // that is running.
        lookups++;
        target.whenComplete((v, e) -> loop.execute(() -> complete(target, (address, error) -> {
            lookups--;
            if (error != null) {
                failSend(d, error, done);
            } else if (!channel.isOpen()) {
                failSend(d, DgramError.notRunning(), done);
            } else {
                write(d, new InetSocketAddress(address, d.port()), done);
                channel.flush();
            }
            settle(null);
        })));
        return false;
    }

    /**
     * The destination {@code host}:{@code port} when {@code host} is an IP literal of the socket's
     * family, else null (a name to look up, or an error {@code resolve} reports). The last one is
     * kept: a flow to one peer parses its address once, not per datagram.
     */
    private InetSocketAddress literalTarget(String host, int port) {
        if (port == lastTargetPort && host.equals(lastTargetHost)) {
            return lastTarget;
        }
        InetAddress address = AddressResolver.literal(host, config.family());
        if (address == null || !AddressResolver.usable(address, config.family())) {
            return null;
        }
        lastTargetHost = host;
        lastTargetPort = port;
        lastTarget = new InetSocketAddress(address, port);
        return lastTarget;
    }

    private DgramError validate(Outgoing d) {
        if (closed) {
            return DgramError.notRunning();
        }
        boolean hasTarget = d.port() != 0 || !isEmpty(d.address());
        if (connectState == ConnectState.CONNECTED) {
            if (hasTarget) {
                return DgramError.of("ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
            }
        } else if (connectState == ConnectState.DISCONNECTED && (d.port() < 1 || d.port() > 65_535)) {
            return DgramError.badPort("> 0 and < 65536", d.port());
        }
        return null;
    }

    private void write(Outgoing d, InetSocketAddress to, SendCompletion done) {
        int size = d.data().readableBytes();
        if (size > config.family().maxPayload()) {
            // As the kernel answers Node: after the implicit bind, at send time.
            failSend(d, DgramError.system(SystemError.EMSGSIZE, "send", Addresses.text(to.getAddress()), to.getPort()),
                    done);
            return;
        }
        // The connected peer passed the guard at connect time.
        DgramError refused = to == remote ? null : guard.checkDestination(to, "send");
        if (refused == null) {
            refused = guard.admitSend(size, to);
        }
        if (refused != null) {
            failSend(d, refused, done);
            return;
        }
        if (size == 0) {
            writeEmpty(d, to, done);
            return;
        }
        ChannelOutboundBuffer queued = channel.unsafe().outboundBuffer();
        if (queued != null && queued.totalPendingWriteBytes() > MAX_PENDING_BYTES) {
            // The kernel is not taking datagrams as fast as they come: refuse rather than queue without bound.
            DgramError e = DgramError.system(SystemError.ENOBUFS, "send", Addresses.text(to.getAddress()), to.getPort());
            failSend(d, e, done);
            return;
        }
        byte[] copy = taps.length == 0 ? null : ByteBufUtil.getBytes(d.data()); // for the taps, if any
        channel.write(new DatagramPacket(d.data(), to), new Sent(d, to, done, size, copy));
    }

    /**
     * A datagram's write promise that completes the send itself when the channel completes it:
     * no listener to allocate and notify per datagram. On the event loop, as every write.
     */
    private final class Sent extends DefaultChannelPromise {
        private final Outgoing d;
        private final InetSocketAddress to;
        private final SendCompletion done;
        private final int size;
        private final byte[] copy;

        Sent(Outgoing d, InetSocketAddress to, SendCompletion done, int size, byte[] copy) {
            super(channel, loop);
            this.d = d;
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
                tapped(DatagramTap.Direction.SENT, to, copy);
            }
            done.done(d.id(), size, null, size);
        }

        private void failed(Throwable cause) {
            counters.sendFailed();
            DgramError e = cause instanceof DgramError de ? de
                    : DgramError.system(SystemError.of(cause), "send", Addresses.text(to.getAddress()), to.getPort());
            if (d.emitError()) {
                emit(new SocketEvent.Error(e));
            }
            done.done(d.id(), 0, e, size);
        }
    }

    /**
     * Netty drops zero-length datagrams, Node sends them: flush what is queued, then send it on the
     * socket directly.
     */
    private void writeEmpty(Outgoing d, InetSocketAddress to, SendCompletion done) {
        d.data().release();
        channel.flush();
        try {
            Sockopts.sendEmpty(channel, to);
            counters.sent(0);
            tapped(DatagramTap.Direction.SENT, to, new byte[0]);
            done.done(d.id(), 0, null, 0);
        } catch (DgramError e) {
            counters.sendFailed();
            if (d.emitError()) {
                emit(new SocketEvent.Error(e));
            }
            done.done(d.id(), 0, e, 0);
        }
    }

    private void failSend(Outgoing d, DgramError error, SendCompletion done) {
        int size = d.data().readableBytes();
        d.data().release();
        counters.sendFailed();
        if (d.emitError()) {
            emit(new SocketEvent.Error(error));
        }
        done.done(d.id(), 0, error, size);
    }

    // ---------------------------------------------------------------- queries and options

    /** socket.address(). Fails with EBADF (getsockname) when unbound. */
    public CompletableFuture<InetSocketAddress> address() {
        return onLoop(() -> {
            checkOpen();
            if (bindState != BindState.BOUND) {
                throw DgramError.system(SystemError.EBADF, "getsockname", null, 0);
            }
            return CompletableFuture.completedFuture(local);
        });
    }

    /** socket.remoteAddress(). Fails with ERR_SOCKET_DGRAM_NOT_CONNECTED. */
    public CompletableFuture<InetSocketAddress> remoteAddress() {
        return onLoop(() -> {
            checkOpen();
            if (connectState != ConnectState.CONNECTED) {
                throw DgramError.of("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
            }
            return CompletableFuture.completedFuture(remote);
        });
    }

    /** socket.setBroadcast(flag). Fails with EBADF when unbound. */
    public CompletableFuture<Void> setBroadcast(boolean flag) {
        return boundCall("setBroadcast", () -> {
            DgramError refused = flag ? guard.checkBroadcast() : null;
            if (refused != null) {
                throw refused;
            }
            channel.config().setBroadcast(flag);
            return null;
        });
    }

    /** socket.setTTL(ttl), 1..255. Fails with EINVAL, EBADF. */
    public CompletableFuture<Integer> setTtl(int ttl) {
        return onLoop(() -> {
            checkOpen();
            if (ttl < 1 || ttl > 255) {
                throw DgramError.system(SystemError.EINVAL, "setTTL", null, 0);
            }
            return boundCall("setTTL", () -> {
                Sockopts.setTtl(channel, ipv6, ttl);
                return ttl;
            });
        });
    }

    /** socket.setMulticastTTL(ttl), 0..255. Fails with EINVAL, EBADF. */
    public CompletableFuture<Integer> setMulticastTtl(int ttl) {
        return onLoop(() -> {
            checkOpen();
            if (ttl < 0 || ttl > 255) {
                throw DgramError.system(SystemError.EINVAL, "setMulticastTTL", null, 0);
            }
            return boundCall("setMulticastTTL", () -> {
                Sockopts.setMulticastTtl(channel, ipv6, ttl);
                return ttl;
            });
        });
    }

    /** socket.setMulticastLoopback(flag). Fails with EBADF when unbound. */
    public CompletableFuture<Boolean> setMulticastLoopback(boolean flag) {
        return boundCall("setMulticastLoopback", () -> {
            Sockopts.setMulticastLoopback(channel, ipv6, flag);
            return flag;
        });
    }

    /**
     * socket.setMulticastInterface(iface): an IPv4 interface address for udp4; "::%name" or
     * "::%index" (or "::") for udp6. Fails with EINVAL, EADDRNOTAVAIL, EBADF.
     */
    public CompletableFuture<Void> setMulticastInterface(String iface) {
        return boundCall("setMulticastInterface", () -> {
            if (ipv6) {
                Sockopts.setMulticastInterface(channel, null, interfaceIndex(iface, "setMulticastInterface"));
            } else {
                InetAddress a = AddressResolver.parseLiteral(iface == null ? "" : iface);
                if (!(a instanceof Inet4Address)) {
                    throw DgramError.system(SystemError.EINVAL, "setMulticastInterface", null, 0);
                }
                Sockopts.setMulticastInterface(channel, a, 0);
            }
            return null;
        });
    }

    /** socket.addMembership(group, iface), binding first if needed. Fails with EINVAL, EADDRINUSE, EADDRNOTAVAIL. */
    public CompletableFuture<Void> addMembership(String group, String iface) {
        return membership(true, null, group, iface, "addMembership");
    }

    /** socket.dropMembership(group, iface). Fails with EINVAL, EADDRNOTAVAIL. */
    public CompletableFuture<Void> dropMembership(String group, String iface) {
        return membership(false, null, group, iface, "dropMembership");
    }

    /** socket.addSourceSpecificMembership(source, group, iface), binding first if needed. */
    public CompletableFuture<Void> addSourceSpecificMembership(String source, String group, String iface) {
        return membership(true, source, group, iface, "addSourceSpecificMembership");
    }

    /** socket.dropSourceSpecificMembership(source, group, iface). */
    public CompletableFuture<Void> dropSourceSpecificMembership(String source, String group, String iface) {
        return membership(false, source, group, iface, "dropSourceSpecificMembership");
    }

    private CompletableFuture<Void> membership(boolean join, String source, String group, String iface, String syscall) {
        return onLoop(() -> {
            checkOpen();
            InetAddress groupAddress = AddressResolver.parseLiteral(group == null ? "" : group);
            InetAddress sourceAddress = source == null ? null : AddressResolver.parseLiteral(source);
            boolean familyOk = groupAddress != null && (groupAddress instanceof Inet6Address) == ipv6
                    && (source == null || (sourceAddress != null && (sourceAddress instanceof Inet6Address) == ipv6));
            if (!familyOk || !groupAddress.isMulticastAddress()) {
                throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
            }
            DgramError refused = join ? guard.checkMembership(groupAddress, sourceAddress, syscall) : null;
            if (refused != null) {
                throw refused;
            }
            InetAddress v4Interface = null;
            int v6Index = 0;
            if (!isEmpty(iface)) {
                if (ipv6) {
                    v6Index = interfaceIndex(iface, syscall);
                } else {
                    v4Interface = AddressResolver.parseLiteral(iface);
                    if (!(v4Interface instanceof Inet4Address)) {
                        throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
                    }
                }
            }
            InetAddress v4 = v4Interface;
            int v6 = v6Index;
            CompletableFuture<Void> result = new CompletableFuture<>();
            Pending op = new Pending() {
                @Override
                public void run() {
                    try {
                        Sockopts.membership(channel, join, groupAddress, sourceAddress, v4, v6, syscall);
                        result.complete(null);
                    } catch (DgramError e) {
                        result.completeExceptionally(e);
                    }
                }

                @Override
                public void fail(DgramError error) {
                    result.completeExceptionally(error);
                }
            };
            if (join) {
                afterBind(op);
            } else if (bindState != BindState.BOUND) {
                throw DgramError.system(SystemError.EBADF, syscall, null, 0);
            } else {
                op.run();
            }
            return result;
        });
    }

    /** socket.getRecvBufferSize(). Fails with ERR_SOCKET_BUFFER_SIZE when unbound. */
    public CompletableFuture<Integer> getRecvBufferSize() {
        return bufferSize(false, 0);
    }

    /**
     * socket.setRecvBufferSize(size); answers the size now in force (Linux doubles the request).
     * Size 0 changes nothing. Fails with ERR_SOCKET_BAD_BUFFER_SIZE (size &lt; 0 or &gt; 2^31-1),
     * ERR_SOCKET_BUFFER_SIZE (unbound).
     */
    public CompletableFuture<Integer> setRecvBufferSize(long size) {
        return bufferSize(false, size);
    }

    /** socket.getSendBufferSize(). Fails with ERR_SOCKET_BUFFER_SIZE when unbound. */
    public CompletableFuture<Integer> getSendBufferSize() {
        return bufferSize(true, 0);
    }

    /** socket.setSendBufferSize(size); as {@link #setRecvBufferSize}. */
    public CompletableFuture<Integer> setSendBufferSize(long size) {
        return bufferSize(true, size);
    }

    private CompletableFuture<Integer> bufferSize(boolean send, long newSize) {
        return onLoop(() -> {
            checkOpen();
            if (newSize < 0 || newSize > Integer.MAX_VALUE) {
                throw DgramError.of("ERR_SOCKET_BAD_BUFFER_SIZE", "Buffer size must be a positive integer");
            }
            if (bindState != BindState.BOUND) {
                String which = send ? "uv_send_buffer_size" : "uv_recv_buffer_size";
                throw DgramError.of("ERR_SOCKET_BUFFER_SIZE",
                        "Could not get or set buffer size: " + which + " returned EBADF (bad file descriptor)");
            }
            if (newSize > 0) {
                if (send) {
                    channel.config().setSendBufferSize((int) newSize);
                } else {
                    channel.config().setReceiveBufferSize((int) newSize);
                }
            }
            int now = send ? channel.config().getSendBufferSize() : channel.config().getReceiveBufferSize();
            return CompletableFuture.completedFuture(now);
        });
    }

    /** socket.getSendQueueSize(): bytes held by the daemon for this socket, not yet given to the kernel. */
    public CompletableFuture<Long> sendQueueSize() {
        return onLoop(() -> {
            ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
            return CompletableFuture.completedFuture(pendingBytes + (out == null ? 0 : out.totalPendingWriteBytes()));
        });
    }

    /** socket.getSendQueueCount(): datagrams held by the daemon for this socket, not yet sent. */
    public CompletableFuture<Long> sendQueueCount() {
        return onLoop(() -> {
            ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
            return CompletableFuture.completedFuture((long) pendingSends + (out == null ? 0 : out.size()));
        });
    }

    // ---------------------------------------------------------------- internals

    private CompletableFuture<InetSocketAddress> startBind(int port, String host) {
        bindState = BindState.BINDING;
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        whenResolved(resolver.resolve(host, config.family(), "bind", port), (address, error) -> {
            if (error != null) {
                bindFailed(error, result);
                return;
            }
            DgramError refused = guard.checkBind(address, port);
            if (refused != null) {
                bindFailed(refused, result);
                return;
            }
            try {
                applyBindOptions();
            } catch (DgramError e) {
                bindFailed(e, result);
                return;
            }
            channel.bind(new InetSocketAddress(address, port)).addListener(f -> {
                if (!f.isSuccess()) {
                    bindFailed(DgramError.system(SystemError.of(f.cause()), "bind", Addresses.text(address), port), result);
                    return;
                }
                bindState = BindState.BOUND;
                local = (InetSocketAddress) channel.localAddress();
                emit(new SocketEvent.Listening(local));
                result.complete(local);
                settle(null);
            });
        });
        return result;
    }

    private void applyBindOptions() {
        if (config.reuseAddr()) {
            channel.config().setReuseAddress(true);
        }
        if (config.reusePort()) {
            if (!channel.config().setOption(EpollChannelOption.SO_REUSEPORT, true)) {
                throw DgramError.system(SystemError.ENOSYS, "bind", null, 0);
            }
        }
        if (ipv6 && config.ipv6Only()) {
            Sockopts.setIpv6Only(channel, true);
        }
        if (config.recvBufferSize() > 0) {
            channel.config().setReceiveBufferSize(config.recvBufferSize());
        }
        if (config.sendBufferSize() > 0) {
            channel.config().setSendBufferSize(config.sendBufferSize());
        }
    }

    private void bindFailed(DgramError error, CompletableFuture<InetSocketAddress> result) {
        bindState = BindState.UNBOUND;
        emit(new SocketEvent.Error(error));
        result.completeExceptionally(error);
        settle(error);
    }

    /** Runs {@code op} once bound, binding implicitly (port 0, all interfaces) if needed. */
    private void afterBind(Pending op) {
        if (bindState == BindState.UNBOUND) {
            startBind(0, config.family().anyAddress());
        }
        if (bindState == BindState.BOUND) {
            op.run();
        } else {
            pending.add(op);
        }
    }

    private boolean isBusy() {
        return bindState == BindState.BINDING || connectState == ConnectState.CONNECTING || lookups > 0;
    }

    /** A bind or connect finished: run (or fail) what waited for it, until something new is pending. */
    private void settle(DgramError failure) {
        while (!pending.isEmpty() && !isBusy()) {
            Pending p = pending.poll();
            if (failure != null) {
                p.fail(failure);
            } else {
                p.run();
            }
        }
    }

    private <T> CompletableFuture<T> boundCall(String syscall, Callable<T> call) {
        return onLoop(() -> {
            checkOpen();
            if (bindState != BindState.BOUND) {
                throw DgramError.system(SystemError.EBADF, syscall, null, 0);
            }
            return CompletableFuture.completedFuture(call.call());
        });
    }

    private int interfaceIndex(String iface, String syscall) {
        if (iface != null && iface.equals("::")) {
            return 0;
        }
        int percent = iface == null ? -1 : iface.indexOf('%');
        if (percent < 0) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
        String scope = iface.substring(percent + 1);
        try {
            if (scope.chars().allMatch(Character::isDigit) && !scope.isEmpty()) {
                return Integer.parseInt(scope);
            }
            NetworkInterface ni = NetworkInterface.getByName(scope);
            if (ni == null) {
                throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
            }
            return ni.getIndex();
        } catch (SocketException | NumberFormatException e) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw DgramError.notRunning();
        }
    }

    private void emit(SocketEvent event) {
        if (event instanceof SocketEvent.Error) {
            counters.errorEmitted();
        }
        try {
            observer.onEvent(event);
            if (!(event instanceof SocketEvent.Message)) {
                observer.onBurstEnd();
            }
        } catch (RuntimeException e) {
            SocketLog.warn(log, id, "socket {}: event observer failed", id, e);
        }
    }

    /** Runs {@code then} on the event loop once {@code future} is done (at once when it already is). */
    private <T> void whenResolved(CompletableFuture<T> future, java.util.function.BiConsumer<T, DgramError> then) {
        if (future.isDone() && loop.inEventLoop()) {
            complete(future, then);
        } else {
            future.whenComplete((v, e) -> loop.execute(() -> complete(future, then)));
        }
    }

    private static <T> void complete(CompletableFuture<T> future, java.util.function.BiConsumer<T, DgramError> then) {
        DgramError error = failureOf(future);
        then.accept(error == null ? future.join() : null, error);
    }

    /** The error a completed lookup (or other step) failed with, as a DgramError; null if it succeeded. */
    private static DgramError failureOf(CompletableFuture<?> done) {
        if (!done.isCompletedExceptionally()) {
            return null;
        }
        try {
            done.join();
            return null;
        } catch (CompletionException e) {
            DgramError error = DgramError.causeOf(e);
            return error != null ? error : DgramError.system(SystemError.of(e.getCause()), "getaddrinfo", null, 0);
        }
    }

    /** Runs {@code call} on the event loop; a thrown {@link DgramError} fails the returned future. */
    private <T> CompletableFuture<T> onLoop(Callable<CompletableFuture<T>> call) {
        if (loop.inEventLoop()) {
            return invoke(call);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            loop.execute(() -> invoke(call).whenComplete((v, e) -> {
                if (e != null) {
                    result.completeExceptionally(e instanceof java.util.concurrent.CompletionException ? e.getCause() : e);
                } else {
                    result.complete(v);
                }
            }));
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(DgramError.notRunning());
        }
        return result;
    }

    private static <T> CompletableFuture<T> invoke(Callable<CompletableFuture<T>> call) {
        try {
            return call.call();
        } catch (DgramError e) {
            return CompletableFuture.failedFuture(e);
        } catch (Exception e) {
            return CompletableFuture.failedFuture(
                    DgramError.system(SystemError.of(e), "unknown", null, 0));
        }
    }

    private static boolean isEmpty(String s) {
        return s == null || s.isEmpty();
    }

    private void scheduledKernelDropsCheck() {
        kernelDropsCheckScheduled = false;
        if (!closed) {
            checkKernelDrops();
        }
    }

    /**
     * Reads the kernel's drops counter of the socket; when it grew, counts the difference and tells
     * the observer. On the loop, a few times a second at most: one getsockopt(2), never per datagram.
     */
    private void checkKernelDrops() {
        long now = Sockopts.kernelDrops(channel);
        if (now > kernelDropsSeen) {
            long more = now - kernelDropsSeen;
            kernelDropsSeen = now;
            counters.kernelDropped(more);
            try {
                observer.onKernelDrops(more);
                observer.onBurstEnd();
            } catch (RuntimeException e) {
                SocketLog.warn(log, id, "socket {}: event observer failed", id, e);
            }
        }
    }

    /** Turns received datagrams into 'message' events and read errors into 'error' events. */
    private final class Receiver extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket packet = (DatagramPacket) msg;
            try {
                ByteBuf content = packet.content();
                byte[] data = new byte[content.readableBytes()];
                content.getBytes(content.readerIndex(), data);
                counters.received(data.length);
                if (taps.length > 0) {
                    tapped(DatagramTap.Direction.RECEIVED, packet.sender(), data);
                }
                observer.onEvent(new SocketEvent.Message(data, packet.sender()));
            } finally {
                packet.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            observer.onBurstEnd();
            if (!kernelDropsCheckScheduled) {
                kernelDropsCheckScheduled = true;
                loop.schedule(UdpSocket.this::scheduledKernelDropsCheck, KERNEL_DROPS_DELAY_MS, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (closed) {
                return;
            }
            emit(new SocketEvent.Error(DgramError.system(SystemError.of(cause), "recvmsg", null, 0)));
        }
    }
}
