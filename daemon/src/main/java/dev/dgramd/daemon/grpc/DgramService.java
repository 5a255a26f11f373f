package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.auth.Principal;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.policy.Enforcer;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketLog;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.UdpSocket;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.AddMembershipResponse;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipResponse;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AddressResponse;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.BindResponse;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CloseResponse;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.ConnectResponse;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.CreateSocketResponse;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.DisconnectRequest;
import dev.dgramd.proto.v1.DisconnectResponse;
import dev.dgramd.proto.v1.DropMembershipRequest;
import dev.dgramd.proto.v1.DropMembershipResponse;
import dev.dgramd.proto.v1.DropSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.DropSourceSpecificMembershipResponse;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeResponse;
import dev.dgramd.proto.v1.GetSendBufferSizeRequest;
import dev.dgramd.proto.v1.GetSendBufferSizeResponse;
import dev.dgramd.proto.v1.GetSendQueueCountRequest;
import dev.dgramd.proto.v1.GetSendQueueCountResponse;
import dev.dgramd.proto.v1.GetSendQueueSizeRequest;
import dev.dgramd.proto.v1.GetSendQueueSizeResponse;
import dev.dgramd.proto.v1.RemoteAddressRequest;
import dev.dgramd.proto.v1.RemoteAddressResponse;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendResponse;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SetBroadcastResponse;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceResponse;
import dev.dgramd.proto.v1.SetMulticastLoopbackRequest;
import dev.dgramd.proto.v1.SetMulticastLoopbackResponse;
import dev.dgramd.proto.v1.SetMulticastTtlRequest;
import dev.dgramd.proto.v1.SetMulticastTtlResponse;
import dev.dgramd.proto.v1.SetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.SetRecvBufferSizeResponse;
import dev.dgramd.proto.v1.SetSendBufferSizeRequest;
import dev.dgramd.proto.v1.SetSendBufferSizeResponse;
import dev.dgramd.proto.v1.SetTtlRequest;
import dev.dgramd.proto.v1.SetTtlResponse;
import dev.dgramd.proto.v1.SessionRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dgramd.v1.Dgram service: translates each RPC into a call on a {@link UdpSocket} and each
 * socket's events into its Events stream. Runs on the transport's event loops (direct executor);
 * nothing here blocks.
 *
 * <p>Every socket belongs to the principal that created it ({@link Principal#current()}): a call
 * naming another principal's socket is answered NOT_FOUND, as for an id that never existed. The
 * {@link Enforcer} sets each principal's socket quota and gives each socket its guard.
 */
public final class DgramService extends DgramGrpc.DgramImplBase {
    private static final Logger log = LoggerFactory.getLogger(DgramService.class);
    private static final java.util.regex.Pattern SOCKET_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9._:/-]{1,128}");

    private final SocketRegistry registry;
    private final Enforcer enforcer;
    private final EventLoopGroup loops;
    private final EventBudget budget;
    private final DropCounters drops;
    private volatile boolean stopping;
    /** {@link #stopping}, as every socket's event stream asks it (one supplier for all). */
    private final java.util.function.BooleanSupplier isStopping = () -> stopping;
    private final Duration orphanGrace;
    private final Set<SendStreamCall> sendStreams = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Set<SessionCall> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final HandOverGate gate = new HandOverGate();

    /**
     * @param budget pays for the events kept for readers that are absent or behind, per socket and daemon-wide
     * @param drops counts the events dropped beyond it, and the orphans reaped
     * @param orphanGrace how long a socket whose Events stream went away waits for a new one before it
     *     is closed; zero never closes it. A socket that never had an Events stream is never reaped.
     * @throws IllegalArgumentException when {@code orphanGrace} is negative
     */
    public DgramService(SocketRegistry registry, Enforcer enforcer, EventLoopGroup loops, EventBudget budget,
                        DropCounters drops, Duration orphanGrace) {
        if (orphanGrace.isNegative()) {
            throw new IllegalArgumentException("orphanGrace must be >= 0, got " + orphanGrace);
        }
        this.registry = registry;
        this.enforcer = enforcer;
        this.loops = loops;
        this.budget = budget;
        this.drops = drops;
        this.orphanGrace = orphanGrace;
        // Made once now: the first one costs about 100 ms of class loading, which a hand-over
        // would otherwise spend while its sockets do not read.
        ErrorMapping.restarting();
    }

    /**
     * The daemon is stopping: from now on a socket's 'close' goes out ahead of the 'message' and
     * 'error' events still queued for it, which are dropped and counted. Call before closing the sockets.
     */
    public void stopping() {
        stopping = true;
    }

    /**
     * What the server serves: this service behind its hand-over gate, the data path's messages
     * read and written by hand ({@link HandCodedMethods}), the streamed responses serialized into
     * reused arrays ({@link ReusedResponseBuffers}).
     */
    public io.grpc.ServerServiceDefinition definition() {
        return io.grpc.ServerInterceptors.intercept(
                ReusedResponseBuffers.apply(HandCodedMethods.replace(bindService(), this::sendBatches,
                        this::eventBatches, this::sessionSlots)), gate);
    }

    /** One socket as handed to another daemon process: its state, its name (or null), and its events. */
    public record HandedSocket(UdpSocket.HandedOver socket, String name, HeldEvents events) {}

    /**
     * Hands every socket over, for another daemon process to take them: refuses every new call
     * from now on (UNAVAILABLE, ERR_DGRAMD_RESTARTING); lets every event loop run one turn, so that
     * the calls already in their methods have given the sockets their work; ends each SendStream
     * with ERR_DGRAMD_RESTARTING once the batches it took are answered (the client sends the rest
     * again); stops each socket ({@link UdpSocket#handOver}) and ends its Events stream with
     * ERR_DGRAMD_RESTARTING after the batches already given to gRPC; a Session takes no open from
     * the start and ends the same way once its slots ended. Completes with every socket
     * stopped so (a socket that closed meanwhile is left out). The sockets stay in the registry,
     * refusing everything, until {@link SocketRegistry#release} forgets them.
     *
     * @param flushMillis how long a socket may take to write the datagrams it was given
     */
    public CompletableFuture<List<HandedSocket>> handOver(long flushMillis) {
        gate.close();
        List<CompletableFuture<?>> turns = new java.util.ArrayList<>();
        for (EventExecutor e : loops) {
            turns.add(CompletableFuture.runAsync(() -> { }, e));
        }
        return CompletableFuture.allOf(turns.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            io.grpc.StatusRuntimeException status = ErrorMapping.restarting();
            for (SendStreamCall call : sendStreams) {
                call.handOver(status);
            }
            for (SessionCall call : sessions) {
                call.handOver(status);
            }
            List<CompletableFuture<HandedSocket>> each = new java.util.ArrayList<>();
            for (UdpSocket socket : registry.sockets()) {
                String name = registry.name(socket.id());
                each.add(socket.handOver(flushMillis)
                        .thenApplyAsync(h -> new HandedSocket(h, name, eventStream(socket).handOver(status)),
                                socket.eventLoop())
                        .exceptionally(e -> null)); // closed meanwhile: nothing to hand over
            }
            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(w -> {
                for (SessionCall call : sessions) {
                    call.end(status); // each slot ended already, after the batches it was given
                }
                List<HandedSocket> all = new java.util.ArrayList<>(each.size());
                for (CompletableFuture<HandedSocket> f : each) {
                    HandedSocket h = f.join();
                    if (h != null) {
                        all.add(h);
                    }
                }
                return all;
            });
        });
    }

    /**
     * The hand-over failed before the new process took the sockets: they go on here (reading, their
     * held events queued again), and calls are taken again. The clients whose streams ended
     * re-attach as they would to a new process.
     */
    public void resume(List<HandedSocket> sockets) {
        for (HandedSocket h : sockets) {
            UdpSocket socket = registry.get(h.socket().id());
            if (socket != null) {
                socket.eventLoop().execute(() -> eventStream(socket).resume(h.events()));
                socket.resume();
            }
        }
        gate.open();
    }

    /** The new process took {@code sockets}: they leave this daemon without 'close'. */
    public void handedOver(List<HandedSocket> sockets) {
        for (HandedSocket h : sockets) {
            UdpSocket socket = registry.get(h.socket().id());
            if (socket != null) {
                eventStream(socket).handedOver();
                registry.release(socket.id());
            }
        }
    }

    /**
     * Takes over a socket another daemon process handed over: the socket goes on with its id,
     * owner, name and state, its held events queue for the next stream, and when it had a stream it
     * waits its keep-alive for one to attach (a client re-attaching after the restart), as an orphan.
     * Fails as {@link SocketRegistry#adopt} does.
     */
    public CompletableFuture<UdpSocket> adopt(HandedSocket handed) {
        UdpSocket.HandedOver state = handed.socket();
        String principal = state.owner();
        HeldEvents held = handed.events();
        Duration keepAlive = held.keepAliveNanos() < 0 ? EventStream.FOREVER : Duration.ofNanos(held.keepAliveNanos());
        return registry.adopt(state, handed.name(), null,
                ctx -> enforcer.guard(principal, ctx.id()),
                ctx -> {
                    EventStream stream = new EventStream(ctx.eventLoop(), state.config().family(), budget.open(principal),
                            isStopping, drops, keepAlive, reaper(ctx.id()));
                    stream.restore(held);
                    return stream;
                })
                .whenComplete((socket, error) -> {
                    if (socket != null) {
                        socket.closeFuture().whenComplete((v, e) -> eventStream(socket).socketClosed());
                    }
                });
    }

    /** The event stream of {@code socket}: every socket this service creates is observed by one. */
    static EventStream eventStream(UdpSocket socket) {
        return (EventStream) socket.observer();
    }

    @Override
    public void createSocket(CreateSocketRequest request, StreamObserver<CreateSocketResponse> out) {
        create(request).whenComplete((opened, error) -> {
            if (error != null) {
                out.onError(ErrorMapping.toStatus(error));
                return;
            }
            out.onNext(CreateSocketResponse.newBuilder().setSocketId(opened.socket().id())
                    .setAttached(opened.attached()).build());
            out.onCompleted();
        });
    }

    /**
     * Creates a socket for the calling principal, or finds the open one that holds the request's
     * name ({@code attached}); fails with the errors CreateSocket answers.
     */
    private CompletableFuture<SocketRegistry.Opened> create(CreateSocketRequest request) {
        SocketConfig.Family family;
        switch (request.getType()) {
            case SOCKET_TYPE_UDP4 -> family = SocketConfig.Family.IPV4;
            case SOCKET_TYPE_UDP6 -> family = SocketConfig.Family.IPV6;
            default -> {
                return CompletableFuture.failedFuture(DgramError.of("ERR_SOCKET_BAD_TYPE",
                        "Bad socket type specified. Valid types are: udp4, udp6"));
            }
        }
        if (request.getRecvBufferSize() > Integer.MAX_VALUE || request.getSendBufferSize() > Integer.MAX_VALUE
                || request.getRecvBufferSize() < 0 || request.getSendBufferSize() < 0) {
            return CompletableFuture.failedFuture(DgramError.of("ERR_SOCKET_BUFFER_SIZE",
                    "Buffer size must be a positive integer"));
        }
        String name = request.getName();
        if (!name.isEmpty() && !SOCKET_NAME.matcher(name).matches()) {
            return CompletableFuture.failedFuture(DgramError.of("ERR_INVALID_ARG_VALUE",
                    "The socket name must be 1 to 128 letters, digits or ._-:/ characters"));
        }
        String principal = Principal.current();
        Duration keepAlive = request.hasKeepAlive()
                ? Duration.ofSeconds(request.getKeepAlive().getSeconds(), request.getKeepAlive().getNanos()) : null;
        if (keepAlive != null && keepAlive.isNegative()) {
            return CompletableFuture.failedFuture(DgramError.of("ERR_INVALID_ARG_VALUE",
                    "The keep-alive must not be negative"));
        }
        DgramError refused = keepAlive == null ? null : enforcer.checkKeepAlive(principal, keepAlive);
        if (refused != null) {
            enforcer.audit(principal, null, "createSocket", refused);
            return CompletableFuture.failedFuture(refused);
        }
        Duration socketKeepAlive = keepAlive != null ? keepAlive
                : orphanGrace.isZero() ? EventStream.FOREVER : orphanGrace;
        SocketConfig config = new SocketConfig(family, request.getReuseAddr(), request.getReusePort(),
                request.getIpv6Only(), request.getRecvBufferSize(), request.getSendBufferSize());
        return registry.open(name, config, currentLoop(), principal, enforcer.maxSockets(principal),
                ctx -> enforcer.guard(principal, ctx.id()),
                ctx -> new EventStream(ctx.eventLoop(), family, budget.open(principal), isStopping, drops,
                        socketKeepAlive, reaper(ctx.id())))
                .thenApply(opened -> {
                    if (!opened.attached()) {
                        return opened;
                    }
                    if (opened.socket().config().family() != family) {
                        throw DgramError.of("ERR_INVALID_ARG_VALUE", "The socket named '" + name + "' is "
                                + opened.socket().config().family().socketType() + ", not " + family.socketType());
                    }
                    if (keepAlive != null) {
                        eventStream(opened.socket()).keepAlive(keepAlive);
                    }
                    return opened;
                })
                .whenComplete((opened, error) -> {
                    if (error != null) {
                        enforcer.audit(principal, null, "createSocket", error);
                    } else if (!opened.attached()) {
                        // The socket's budget account closes with it.
                        opened.socket().closeFuture().whenComplete((v, e) -> eventStream(opened.socket()).socketClosed());
                    }
                });
    }

    /** The state an attached socket reports as events: 'listening' when bound, 'connect' when connected. */
    private static List<dev.dgramd.daemon.udp.SocketEvent> stateEvents(UdpSocket socket) {
        List<dev.dgramd.daemon.udp.SocketEvent> state = new java.util.ArrayList<>(2);
        InetSocketAddress local = socket.localAddress();
        if (local != null) {
            state.add(new dev.dgramd.daemon.udp.SocketEvent.Listening(local));
        }
        InetSocketAddress peer = socket.connectedPeer();
        if (peer != null) {
            state.add(new dev.dgramd.daemon.udp.SocketEvent.Connect(peer));
        }
        return state;
    }

    /** {@link #reap} of socket {@code id}, holding only the id (not the creation's context). */
    private Runnable reaper(String id) {
        return () -> reap(id);
    }

    /** Closes socket {@code id}, whose client went away more than the orphan grace ago. */
    private void reap(String id) {
        UdpSocket socket = registry.get(id);
        if (socket == null) {
            return;
        }
        socket.close().whenComplete((closedNow, error) -> {
            if (error != null) {
                SocketLog.warn(log, id, "closing orphaned socket failed", error);
            } else if (closedNow) {
                drops.orphansReaped.increment();
                SocketLog.info(log, id, "closed orphaned socket: no Events stream within its keep-alive");
            }
        });
    }

    /** The event loop running this call, so the socket's events need no thread hop to reach it. */
    private EventLoop currentLoop() {
        for (EventExecutor e : loops) {
            if (e.inEventLoop()) {
                return (EventLoop) e;
            }
        }
        return null;
    }

    /** An Events call ({@link HandCodedMethods}: its responses are {@link EventBatch}es). */
    void eventBatches(EventsRequest request, StreamObserver<EventBatch> out) {
        openEvents(request, EventSink.of((ServerCallStreamObserver<EventBatch>) out));
    }

    /**
     * What an Events call with {@code request} does, writing to {@code out}: creates the socket
     * (and binds it) or finds it by id, then attaches {@code out} to its event stream; or ends
     * {@code out} with the call's failure. Principal.current() must be the caller's.
     */
    void openEvents(EventsRequest request, EventSink out) {
        EventSink stream = out;
        if (request.hasCreate()) {
            if (!request.getSocketId().isEmpty()) {
                out.onError(ErrorMapping.toStatus(DgramError.of("ERR_INVALID_ARG_VALUE",
                        "Events takes socket_id or create, not both")));
                return;
            }
            BindRequest bind = request.hasBind() ? request.getBind() : null;
            if (bind != null && (bind.getPort() < 0 || bind.getPort() > 65_535)) {
                out.onError(ErrorMapping.toStatus(DgramError.badPort(">= 0 and < 65536", bind.getPort())));
                return;
            }
            create(request.getCreate()).whenComplete((opened, error) -> {
                if (error != null) {
                    out.onError(ErrorMapping.toStatus(error));
                    return;
                }
                UdpSocket socket = opened.socket();
                if (opened.attached()) {
                    eventStream(socket).attachNamed(stream, socket.id(), () -> stateEvents(socket));
                    if (bind != null && socket.localAddress() == null) {
                        socket.bind(bind.getPort(), bind.getAddress());
                    }
                    return;
                }
                eventStream(socket).attach(stream, socket.id());
                if (bind != null) {
                    // 'listening' or 'error' reaches the stream as an event; nothing else to answer.
                    socket.bind(bind.getPort(), bind.getAddress());
                }
            });
            return;
        }
        if (request.hasBind()) {
            out.onError(ErrorMapping.toStatus(DgramError.of("ERR_INVALID_ARG_VALUE",
                    "Events takes bind only with create")));
            return;
        }
        String id = request.getSocketId();
        // Only the owner may attach, or re-attach to an orphan: another principal sees no such socket.
        UdpSocket socket = registry.get(id, Principal.current());
        if (socket == null) {
            out.onError(unknownSocket(request.getSocketId()));
            return;
        }
        eventStream(socket).reattach(stream, id);
    }

    /** A Session call ({@link HandCodedMethods}: its responses are {@link SlotResponse}s). */
    StreamObserver<SessionRequest> sessionSlots(StreamObserver<SlotResponse> out) {
        SessionCall[] self = new SessionCall[1];
        self[0] = new SessionCall((ServerCallStreamObserver<SlotResponse>) out, Principal.current(),
                this::openEvents, this::closeQuietly, () -> sessions.remove(self[0]));
        sessions.add(self[0]);
        return self[0];
    }

    /** Closes socket {@code id} of {@code principal}, as a Close call would, answering no one (a Session's close). */
    private void closeQuietly(String id, String principal) {
        UdpSocket socket = registry.get(id, principal);
        if (socket != null) {
            socket.close().whenComplete((closedNow, error) -> {
                if (error != null) {
                    SocketLog.warn(log, id, "closing the socket of a Session slot failed", error);
                }
            });
        }
    }

    @Override
    public void bind(BindRequest request, StreamObserver<BindResponse> out) {
        call(request.getSocketId(), out, s -> s.bind(request.getPort(), request.getAddress()),
                (s, a) -> BindResponse.newBuilder().setAddress(info(s, a)).build());
    }

    @Override
    public void connect(ConnectRequest request, StreamObserver<ConnectResponse> out) {
        call(request.getSocketId(), out, s -> s.connect(request.getPort(), request.getAddress()),
                (s, a) -> ConnectResponse.newBuilder().setRemote(info(s, a)).build());
    }

    @Override
    public void disconnect(DisconnectRequest request, StreamObserver<DisconnectResponse> out) {
        call(request.getSocketId(), out, UdpSocket::disconnect, (s, v) -> DisconnectResponse.getDefaultInstance());
    }

    @Override
    public void send(SendRequest request, StreamObserver<SendResponse> out) {
        UdpSocket socket = lookup(request.getSocketId(), out);
        if (socket == null) {
            return;
        }
        UdpSocket.Outgoing d = new UdpSocket.Outgoing(0, Unpooled.wrappedBuffer(request.getData().asReadOnlyByteBuffer()),
                request.getPort(), request.getAddress(), false);
        socket.send(List.of(d), (id, bytes, error, size) -> {
            if (error != null) {
                out.onError(ErrorMapping.toStatus(error));
            } else {
                out.onNext(SendResponse.newBuilder().setBytes(bytes).build());
                out.onCompleted();
            }
        });
    }

    /** SendStream, as {@link #definition()} serves it: its requests are {@link SendBatchView}s. */
    StreamObserver<SendBatchView> sendBatches(StreamObserver<SendResultBatch> responses) {
        SendStreamCall[] self = new SendStreamCall[1];
        self[0] = new SendStreamCall(registry, Principal.current(), (ServerCallStreamObserver<SendResultBatch>) responses,
                () -> sendStreams.remove(self[0]));
        sendStreams.add(self[0]);
        return self[0];
    }

    /**
     * Ends the open Events, Session and SendStream calls of {@code principals}, whose credentials were
     * revoked, with UNAUTHENTICATED and ErrorInfo {@code ERR_DGRAMD_UNAUTHENTICATED}; their sockets
     * become orphans, closed after the orphan grace unless a client of the same principal (with
     * credentials still good) attaches a new Events stream. Their new calls fail already in
     * authentication. From any thread.
     */
    public void revoke(Set<String> principals) {
        for (UdpSocket socket : registry.sockets()) {
            if (principals.contains(socket.owner())) {
                eventStream(socket).end(revoked(socket.owner()));
            }
        }
        for (SendStreamCall call : sendStreams) {
            if (principals.contains(call.principal())) {
                call.end(revoked(call.principal()));
            }
        }
        for (SessionCall call : sessions) {
            if (principals.contains(call.principal())) {
                call.end(revoked(call.principal()));
            }
        }
    }

    private static io.grpc.StatusRuntimeException revoked(String principal) {
        return ErrorMapping.toStatus(DgramError.of("ERR_DGRAMD_UNAUTHENTICATED", "the credentials of principal '"
                + principal + "' were revoked (removed from the tokens file)"), com.google.rpc.Code.UNAUTHENTICATED);
    }

    @Override
    public void close(CloseRequest request, StreamObserver<CloseResponse> out) {
        String id = request.getSocketId();
        String principal = Principal.current();
        UdpSocket socket = registry.get(id, principal);
        if (socket == null) {
            if (registry.wasClosed(id, principal)) {
                out.onNext(CloseResponse.newBuilder().setAlreadyClosed(true).build());
                out.onCompleted();
            } else {
                out.onError(unknownSocket(id));
            }
            return;
        }
        call(id, out, UdpSocket::close, (s, closedNow) -> CloseResponse.newBuilder().setAlreadyClosed(!closedNow).build());
    }

    @Override
    public void address(AddressRequest request, StreamObserver<AddressResponse> out) {
        call(request.getSocketId(), out, UdpSocket::address, (s, a) -> {
            AddressInfo i = info(s, a);
            return AddressResponse.newBuilder().setAddress(i.getAddress()).setFamily(i.getFamily())
                    .setPort(i.getPort()).build();
        });
    }

    @Override
    public void remoteAddress(RemoteAddressRequest request, StreamObserver<RemoteAddressResponse> out) {
        call(request.getSocketId(), out, UdpSocket::remoteAddress, (s, a) -> {
            AddressInfo i = info(s, a);
            return RemoteAddressResponse.newBuilder().setAddress(i.getAddress()).setFamily(i.getFamily())
                    .setPort(i.getPort()).build();
        });
    }

    @Override
    public void setBroadcast(SetBroadcastRequest request, StreamObserver<SetBroadcastResponse> out) {
        call(request.getSocketId(), out, s -> s.setBroadcast(request.getFlag()), (s, v) -> SetBroadcastResponse.getDefaultInstance());
    }

    @Override
    public void setTtl(SetTtlRequest request, StreamObserver<SetTtlResponse> out) {
        call(request.getSocketId(), out, s -> s.setTtl(request.getTtl()),
                (s, ttl) -> SetTtlResponse.newBuilder().setTtl(ttl).build());
    }

    @Override
    public void setMulticastTtl(SetMulticastTtlRequest request, StreamObserver<SetMulticastTtlResponse> out) {
        call(request.getSocketId(), out, s -> s.setMulticastTtl(request.getTtl()),
                (s, ttl) -> SetMulticastTtlResponse.newBuilder().setTtl(ttl).build());
    }

    @Override
    public void setMulticastLoopback(SetMulticastLoopbackRequest request,
            StreamObserver<SetMulticastLoopbackResponse> out) {
        call(request.getSocketId(), out, s -> s.setMulticastLoopback(request.getFlag()),
                (s, flag) -> SetMulticastLoopbackResponse.newBuilder().setFlag(flag).build());
    }

    @Override
    public void setMulticastInterface(SetMulticastInterfaceRequest request,
            StreamObserver<SetMulticastInterfaceResponse> out) {
        call(request.getSocketId(), out, s -> s.setMulticastInterface(request.getInterfaceAddress()),
                (s, v) -> SetMulticastInterfaceResponse.getDefaultInstance());
    }

    @Override
    public void addMembership(AddMembershipRequest request, StreamObserver<AddMembershipResponse> out) {
        call(request.getSocketId(), out,
                s -> s.addMembership(request.getMulticastAddress(), request.getInterfaceAddress()),
                (s, v) -> AddMembershipResponse.getDefaultInstance());
    }

    @Override
    public void dropMembership(DropMembershipRequest request, StreamObserver<DropMembershipResponse> out) {
        call(request.getSocketId(), out,
                s -> s.dropMembership(request.getMulticastAddress(), request.getInterfaceAddress()),
                (s, v) -> DropMembershipResponse.getDefaultInstance());
    }

    @Override
    public void addSourceSpecificMembership(AddSourceSpecificMembershipRequest request,
            StreamObserver<AddSourceSpecificMembershipResponse> out) {
        call(request.getSocketId(), out, s -> s.addSourceSpecificMembership(request.getSourceAddress(),
                request.getGroupAddress(), request.getInterfaceAddress()), (s, v) -> AddSourceSpecificMembershipResponse.getDefaultInstance());
    }

    @Override
    public void dropSourceSpecificMembership(DropSourceSpecificMembershipRequest request,
            StreamObserver<DropSourceSpecificMembershipResponse> out) {
        call(request.getSocketId(), out, s -> s.dropSourceSpecificMembership(request.getSourceAddress(),
                request.getGroupAddress(), request.getInterfaceAddress()), (s, v) -> DropSourceSpecificMembershipResponse.getDefaultInstance());
    }

    @Override
    public void getRecvBufferSize(GetRecvBufferSizeRequest request, StreamObserver<GetRecvBufferSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::getRecvBufferSize, (s, size) -> GetRecvBufferSizeResponse.newBuilder().setSize(size).build());
    }

    @Override
    public void setRecvBufferSize(SetRecvBufferSizeRequest request, StreamObserver<SetRecvBufferSizeResponse> out) {
        call(request.getSocketId(), out, s -> s.setRecvBufferSize(request.getSize()),
                (s, size) -> SetRecvBufferSizeResponse.newBuilder().setSize(size).build());
    }

    @Override
    public void getSendBufferSize(GetSendBufferSizeRequest request, StreamObserver<GetSendBufferSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::getSendBufferSize, (s, size) -> GetSendBufferSizeResponse.newBuilder().setSize(size).build());
    }

    @Override
    public void setSendBufferSize(SetSendBufferSizeRequest request, StreamObserver<SetSendBufferSizeResponse> out) {
        call(request.getSocketId(), out, s -> s.setSendBufferSize(request.getSize()),
                (s, size) -> SetSendBufferSizeResponse.newBuilder().setSize(size).build());
    }

    @Override
    public void getSendQueueSize(GetSendQueueSizeRequest request, StreamObserver<GetSendQueueSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::sendQueueSize,
                (s, n) -> GetSendQueueSizeResponse.newBuilder().setSize(n).build());
    }

    @Override
    public void getSendQueueCount(GetSendQueueCountRequest request, StreamObserver<GetSendQueueCountResponse> out) {
        call(request.getSocketId(), out, UdpSocket::sendQueueCount,
                (s, n) -> GetSendQueueCountResponse.newBuilder().setCount(n).build());
    }

    // ---------------------------------------------------------------- helpers

    private static AddressInfo info(UdpSocket s, InetSocketAddress a) {
        return Protos.addressInfo(a, s.config().family());
    }

    private <T, R> void call(String socketId, StreamObserver<R> out, Function<UdpSocket, CompletableFuture<T>> op,
                             java.util.function.BiFunction<UdpSocket, T, R> answer) {
        UdpSocket socket = lookup(socketId, out);
        if (socket == null) {
            return;
        }
        op.apply(socket).whenComplete((value, error) -> {
            if (error != null) {
                out.onError(ErrorMapping.toStatus(error));
            } else {
                out.onNext(answer.apply(socket, value));
                out.onCompleted();
            }
        });
    }

    private UdpSocket lookup(String socketId, StreamObserver<?> out) {
        UdpSocket socket = registry.get(socketId, Principal.current());
        if (socket == null) {
            out.onError(unknownSocket(socketId));
        }
        return socket;
    }

    private io.grpc.StatusRuntimeException unknownSocket(String socketId) {
        return ErrorMapping.unknownSocket(registry.wasClosed(socketId, Principal.current()), socketId);
    }
}
