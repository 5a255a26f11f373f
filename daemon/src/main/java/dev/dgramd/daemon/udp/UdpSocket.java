package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
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
    /** A datagram to send; {@code data} is released by the socket. Port 0 and address null: the connected peer. */
    public record Outgoing(long id, ByteBuf data, int port, String address, boolean emitError)
            implements OutgoingDatagram {
        /** {@code d} as an Outgoing: itself when it is one, else its current values (its payload read). */
        static Outgoing of(OutgoingDatagram d) {
            return d instanceof Outgoing o ? o : new Outgoing(d.id(), d.data(), d.port(), d.address(), d.emitError());
        }
    }

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
    private final SocketCounters counters;
    private final SocketGuard guard;
    private final SocketTaps taps;
    private final DatagramWriter writer;
    private final ChannelOptions options;
    private final LoopCalls calls;
    private final DatagramReader reader;

    // Event-loop confined state.
    private BindState bindState = BindState.UNBOUND;
    private ConnectState connectState = ConnectState.DISCONNECTED;
    private boolean closed;
    /** Handed to another process: the socket refuses everything, reads nothing, never closes here. */
    private boolean handedOver;
    private volatile InetSocketAddress local; // volatile: also read by localAddress() from any thread
    private volatile InetSocketAddress remote;
    /** Sized for the usual one or two (the bind and a send, a close); it grows when more wait. */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>(2);
    private long pendingBytes;
    private int pendingSends;
    private int lookups;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
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
        this.taps = new SocketTaps(id, loop);
        Consumer<SocketEvent> emitter = this::emit; // one for both paths
        this.writer = new DatagramWriter(channel, config.family(), guard, counters, taps, emitter);
        this.options = new ChannelOptions(channel, config, guard);
        this.calls = new LoopCalls(loop);
        this.reader = new DatagramReader(id, channel, config.family(), counters, taps, observer, emitter,
                () -> closed);
    }

    /** The socket's id, unique within its registry. */
    public String id() {
        return id;
    }

    /** The principal that owns the socket (the one that created it). */
    public String owner() {
        return owner;
    }

    /** The observer of its events, made by the registry's caller when the socket was created. */
    public SocketObserver observer() {
        return observer;
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
        return calls.run(() -> {
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
        return calls.run(() -> {
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
                    calls.whenDone(resolver.resolve(host, config.family(), "connect", port), (target, error) -> {
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
        return calls.run(() -> {
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
        return calls.run(() -> {
            if (closed || handedOver) {
                // handed over: the socket is the new process's to close
                return handedOver ? CompletableFuture.completedFuture(false) : closeFuture.thenApply(v -> false);
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
        reader.checkKernelDrops(); // the last count goes out ahead of 'close'
        if (!pending.isEmpty()) { // usually nothing waits: no error to build
            DgramError notRunning = DgramError.notRunning();
            while (!pending.isEmpty()) {
                pending.poll().fail(notRunning);
            }
        }
        channel.close().addListener(f -> {
            // Out of the registry (and the owner's quota) first: whoever sees 'close' or a tap's end
            // finds the socket gone and its quota slot free.
            onClosed.accept(this);
            emit(new SocketEvent.Close());
            taps.closeAll();
            closeFuture.complete(null);
        });
    }

    // ---------------------------------------------------------------- hand-over

    /**
     * What another daemon process needs to go on with this socket, besides what the kernel keeps
     * with the socket itself (its binding, connection, options and group memberships).
     *
     * @param fd the socket's file descriptor in this process, to pass over a unix socket
     * @param kernelDropsSeen the kernel's drops counter as last reported, so that the new process
     *     reports only drops after it
     */
    public record HandedOver(String id, String owner, SocketConfig config, InetSocketAddress local,
                             InetSocketAddress remote, long kernelDropsSeen, SocketCounters.Counts counts, int fd) {}

    /**
     * Stops this socket so that another process can take it over: once the work waiting for a bind,
     * connect or name lookup has run and every datagram given to it has gone to the kernel (at most
     * {@code flushMillis}: a datagram still unwritten then is lost when this process exits), the
     * socket stops reading (the kernel goes on receiving into its buffer), reports the kernel's last
     * drop count, and answers with its state. From then on every call fails with
     * ERR_DGRAMD_RESTARTING, nothing is read and {@link #close} does nothing: the socket is the new
     * process's. Fails with ERR_SOCKET_DGRAM_NOT_RUNNING when the socket is closed, and on the NIO
     * transport (no descriptor to pass) with ENOSYS.
     */
    public CompletableFuture<HandedOver> handOver(long flushMillis) {
        return calls.run(() -> {
            checkOpen();
            int fd = Transport.descriptor(channel);
            if (fd < 0) {
                throw DgramError.system(SystemError.ENOSYS, "handOver", null, 0);
            }
            CompletableFuture<HandedOver> result = new CompletableFuture<>();
            long deadline = System.nanoTime() + flushMillis * 1_000_000L;
            Runnable stop = () -> stopWhenWritten(result, fd, deadline);
            if (isBusy()) {
                pending.add(new Pending() {
                    @Override
                    public void run() {
                        stop.run();
                    }

                    @Override
                    public void fail(DgramError error) {
                        stop.run();
                    }
                });
            } else {
                stop.run();
            }
            return result;
        });
    }

    private void stopWhenWritten(CompletableFuture<HandedOver> result, int fd, long deadline) {
        if (closed) {
            result.completeExceptionally(DgramError.notRunning());
            return;
        }
        handedOver = true; // from here on every new call is refused
        if (writer.queuedCount() > 0 && System.nanoTime() - deadline < 0) {
            loop.schedule(() -> stopWhenWritten(result, fd, deadline), 1, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        if (writer.queuedCount() > 0) {
            log.warn("socket {}: {} datagram(s) still unwritten at the hand-over", id, writer.queuedCount());
        }
        channel.config().setAutoRead(false);
        reader.checkKernelDrops(); // the last count goes out ahead of the hand-over
        result.complete(new HandedOver(id, owner, config, local, remote, reader.kernelDropsSeen(),
                counters.counts(), fd));
    }

    /** The hand-over failed before another process took the socket: it goes on here, reading again. */
    public CompletableFuture<Void> resume() {
        return calls.run(() -> {
            if (handedOver && !closed) {
                handedOver = false;
                channel.config().setAutoRead(true);
            }
            return CompletableFuture.completedFuture(null);
        });
    }

    /**
     * For a socket taken over from another process, before it reads: its binding and connection
     * as they were, and the kernel's drops counter as the other process last reported it.
     */
    void adopted(InetSocketAddress boundTo, InetSocketAddress peer, long kernelDropsSeen) {
        if (boundTo != null) {
            bindState = BindState.BOUND;
            local = boundTo;
        }
        if (peer != null) {
            connectState = ConnectState.CONNECTED;
            remote = peer;
        }
        reader.kernelDropsSeen(kernelDropsSeen);
    }

    // ---------------------------------------------------------------- taps

    /**
     * Copies every datagram this socket receives or sends from now on to {@code tap}, until
     * {@link #removeTap} or the socket closes ({@link DatagramTap#onClose}). Costs nothing while no
     * tap is attached. Fails with ERR_SOCKET_DGRAM_NOT_RUNNING when the socket is closed.
     */
    public CompletableFuture<Void> addTap(DatagramTap tap) {
        return calls.run(() -> {
            checkOpen();
            taps.add(tap);
            return CompletableFuture.completedFuture(null);
        });
    }

    /** Taps attached now; from any thread. */
    public int tapCount() {
        return taps.count();
    }

    /** Stops copying datagrams to {@code tap}; does nothing when it is not attached. */
    public void removeTap(DatagramTap tap) {
        taps.remove(tap);
    }

    // ---------------------------------------------------------------- send

    /**
     * Sends {@code datagrams} in order, then flushes once. Each one is answered through {@code done}
     * on the event loop: with the bytes sent, or with an error (ERR_SOCKET_DGRAM_NOT_RUNNING,
     * ERR_SOCKET_BAD_PORT, ERR_SOCKET_DGRAM_IS_CONNECTED, EMSGSIZE, EINVAL, ENOTFOUND, ENOBUFS, ...),
     * which is also emitted as 'error' when the datagram asks for it: not the error of the bind or
     * connect it waited for (emitted once, by that bind or connect), nor ERR_SOCKET_DGRAM_NOT_RUNNING
     * (after close() Node throws; 'close' stays the last event). Binds the socket first if needed;
     * when that implicit bind fails, the datagram fails with the bind's error and nothing is sent.
     */
    public void send(List<Outgoing> datagrams, SendCompletion done) {
        if (loop.inEventLoop()) {
            sendAll(datagrams, done);
        } else {
            loop.execute(() -> sendAll(datagrams, done));
        }
    }

    /**
     * As {@link #send(List, SendCompletion)}, the datagrams read from {@code datagrams} before this
     * returns: on the event loop each is sent as it is read; from another thread they are taken
     * as {@link Outgoing}s and sent on the loop.
     */
    public void send(OutgoingDatagram.Batch datagrams, SendCompletion done) {
        if (loop.inEventLoop()) {
            boolean wrote = false;
            while (datagrams.next()) {
                wrote |= sendOne(datagrams, done);
            }
            if (wrote) {
                writer.flush();
            }
        } else {
            List<Outgoing> taken = new java.util.ArrayList<>();
            while (datagrams.next()) {
                taken.add(Outgoing.of(datagrams));
            }
            loop.execute(() -> sendAll(taken, done));
        }
    }

    private void sendAll(List<Outgoing> datagrams, SendCompletion done) {
        boolean wrote = false;
        for (Outgoing d : datagrams) {
            wrote |= sendOne(d, done);
        }
        if (wrote) {
            writer.flush();
        }
    }

    /** Returns true when something was written (and needs a flush). {@code d} is not kept: see dispatch. */
    private boolean sendOne(OutgoingDatagram d, SendCompletion done) {
        DgramError invalid = validate(d);
        if (invalid != null) {
            // After close() a send is refused without an event, as Node throws: 'close' stays the last event.
            writer.fail(d, invalid, done, d.emitError() && !closed);
            return false;
        }
        return dispatch(d, done);
    }

    /**
     * Sends a validated datagram now, or once the pending bind/connect is done. What waits takes
     * {@code d} as an {@link Outgoing} (a batch's current datagram moves on).
     */
    private boolean dispatch(OutgoingDatagram d, SendCompletion done) {
        if (bindState == BindState.UNBOUND) {
            DgramError bindFailed = LoopCalls.failureOf(startBind(0, config.family().anyAddress()));
            if (bindFailed != null) {
                // Refused or failed at once (a guard, SO_REUSEPORT on NIO): the send gets the bind's
                // error, emitted once already by the bind, and nothing is written on the unbound channel.
                writer.fail(d, bindFailed, done, false);
                return false;
            }
        }
        if (isBusy()) {
            int size = d.size();
            if (pendingBytes + size > DatagramWriter.MAX_QUEUED_BYTES) {
                writer.fail(d, DgramError.system(SystemError.ENOBUFS, "send", d.address(), d.port()), done);
                return false;
            }
            pendingBytes += size;
            pendingSends++;
            Outgoing waiting = Outgoing.of(d);
            pending.add(new Pending() {
                @Override
                public void run() {
                    pendingBytes -= size;
                    pendingSends--;
                    if (dispatch(waiting, done)) {
                        writer.flush();
                    }
                }

                @Override
                public void fail(DgramError error) {
                    pendingBytes -= size;
                    pendingSends--;
                    // The bind or connect error was emitted once already; at close nothing is emitted.
                    writer.fail(waiting, error, done, false);
                }
            });
            return false;
        }
        if (connectState == ConnectState.CONNECTED) {
            return writer.write(d, remote, true, done);
        }
        String host = isEmpty(d.address()) ? config.family().loopback() : d.address();
        InetSocketAddress literal = writer.literalTarget(host, d.port());
        if (literal != null) {
            return writer.write(d, literal, false, done);
        }
        CompletableFuture<InetAddress> target = resolver.resolve(host, config.family(), "send", d.port());
        if (target.isDone()) {
            // Answered at once (a literal of the other family, text no resolver could answer): no
            // lookup to wait for, so nothing to settle. Settling here would recurse once per queued
            // send and overflow the stack on a long queue.
            DgramError error = LoopCalls.failureOf(target);
            if (error != null) {
                writer.fail(d, error, done);
                return false;
            }
            return writer.write(d, new InetSocketAddress(target.join(), d.port()), false, done);
        }
        // A name lookup: later sends (and a close) wait for it, so datagrams leave in the order given.
        // Its answer is always taken in a task of its own, so the settle below never nests in one
        // that is running.
        lookups++;
        Outgoing waiting = Outgoing.of(d);
        target.whenComplete((v, e) -> loop.execute(() -> LoopCalls.complete(target, (address, error) -> {
            lookups--;
            if (error != null) {
                writer.fail(waiting, error, done);
            } else if (!channel.isOpen()) {
                writer.fail(waiting, DgramError.notRunning(), done);
            } else if (writer.write(waiting, new InetSocketAddress(address, waiting.port()), false, done)) {
                writer.flush();
            }
            settle(null);
        })));
        return false;
    }

    private DgramError validate(OutgoingDatagram d) {
        if (handedOver) {
            return DgramError.restarting();
        }
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

    // ---------------------------------------------------------------- queries and options

    /** socket.address(). Fails with EBADF (getsockname) when unbound. */
    public CompletableFuture<InetSocketAddress> address() {
        return calls.run(() -> {
            checkOpen();
            if (bindState != BindState.BOUND) {
                throw DgramError.system(SystemError.EBADF, "getsockname", null, 0);
            }
            return CompletableFuture.completedFuture(local);
        });
    }

    /** socket.remoteAddress(). Fails with ERR_SOCKET_DGRAM_NOT_CONNECTED. */
    public CompletableFuture<InetSocketAddress> remoteAddress() {
        return calls.run(() -> {
            checkOpen();
            if (connectState != ConnectState.CONNECTED) {
                throw DgramError.of("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
            }
            return CompletableFuture.completedFuture(remote);
        });
    }

    /** socket.setBroadcast(flag). Fails with EBADF when unbound, EACCES when the guard refuses. */
    public CompletableFuture<Void> setBroadcast(boolean flag) {
        return boundCall("setBroadcast", () -> {
            options.setBroadcast(flag);
            return null;
        });
    }

    /** socket.setTTL(ttl), 1..255. Fails with EINVAL, EBADF. */
    public CompletableFuture<Integer> setTtl(int ttl) {
        return calls.run(() -> {
            checkOpen();
            ChannelOptions.checkTtl(ttl, 1, "setTTL");
            return boundCall("setTTL", () -> options.setTtl(ttl));
        });
    }

    /** socket.setMulticastTTL(ttl), 0..255. Fails with EINVAL, EBADF. */
    public CompletableFuture<Integer> setMulticastTtl(int ttl) {
        return calls.run(() -> {
            checkOpen();
            ChannelOptions.checkTtl(ttl, 0, "setMulticastTTL");
            return boundCall("setMulticastTTL", () -> options.setMulticastTtl(ttl));
        });
    }

    /** socket.setMulticastLoopback(flag). Fails with EBADF when unbound. */
    public CompletableFuture<Boolean> setMulticastLoopback(boolean flag) {
        return boundCall("setMulticastLoopback", () -> options.setMulticastLoopback(flag));
    }

    /**
     * socket.setMulticastInterface(iface): an IPv4 interface address for udp4; "::%name" or
     * "::%index" (or "::") for udp6. Fails with EINVAL, EADDRNOTAVAIL, EBADF.
     */
    public CompletableFuture<Void> setMulticastInterface(String iface) {
        return boundCall("setMulticastInterface", () -> {
            options.setMulticastInterface(iface);
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

    /** A join binds first if needed; a leave fails with EBADF when unbound. */
    private CompletableFuture<Void> membership(boolean join, String source, String group, String iface, String syscall) {
        return calls.run(() -> {
            checkOpen();
            ChannelOptions.Membership membership = options.membership(join, source, group, iface, syscall);
            CompletableFuture<Void> result = new CompletableFuture<>();
            Pending op = new Pending() {
                @Override
                public void run() {
                    try {
                        membership.apply();
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
        return calls.run(() -> {
            checkOpen();
            ChannelOptions.checkBufferSize(newSize);
            if (bindState != BindState.BOUND) {
                throw ChannelOptions.bufferSizeUnbound(send);
            }
            return CompletableFuture.completedFuture(options.bufferSize(send, newSize));
        });
    }

    /** socket.getSendQueueSize(): bytes held by the daemon for this socket, not yet given to the kernel. */
    public CompletableFuture<Long> sendQueueSize() {
        return calls.run(() -> CompletableFuture.completedFuture(pendingBytes + writer.queuedBytes()));
    }

    /** socket.getSendQueueCount(): datagrams held by the daemon for this socket, not yet sent. */
    public CompletableFuture<Long> sendQueueCount() {
        return calls.run(() -> CompletableFuture.completedFuture(pendingSends + writer.queuedCount()));
    }

    // ---------------------------------------------------------------- internals

    private CompletableFuture<InetSocketAddress> startBind(int port, String host) {
        bindState = BindState.BINDING;
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        calls.whenDone(resolver.resolve(host, config.family(), "bind", port), (address, error) -> {
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
                options.applyBeforeBind();
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

    private void bindFailed(DgramError error, CompletableFuture<InetSocketAddress> result) {
        bindState = BindState.UNBOUND;
        emit(new SocketEvent.Error(error));
        result.completeExceptionally(error);
        settle(error);
    }

    /** Runs {@code op} once bound, binding implicitly (port 0, all interfaces) if needed. */
    private void afterBind(Pending op) {
        if (bindState == BindState.UNBOUND) {
            DgramError bindFailed = LoopCalls.failureOf(startBind(0, config.family().anyAddress()));
            if (bindFailed != null) {
                op.fail(bindFailed); // failed at once: nothing pending would ever run op
                return;
            }
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
        return calls.run(() -> {
            checkOpen();
            if (bindState != BindState.BOUND) {
                throw DgramError.system(SystemError.EBADF, syscall, null, 0);
            }
            return CompletableFuture.completedFuture(call.call());
        });
    }

    private void checkOpen() {
        if (handedOver && !closed) {
            throw DgramError.restarting();
        }
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

    private static boolean isEmpty(String s) {
        return s == null || s.isEmpty();
    }
}
