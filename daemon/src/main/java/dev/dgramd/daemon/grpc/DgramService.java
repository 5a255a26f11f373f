package dev.dgramd.daemon.grpc;

import com.google.protobuf.Empty;
import dev.dgramd.daemon.auth.Principal;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.policy.Enforcer;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketLog;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.UdpSocket;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.BindResponse;
import dev.dgramd.proto.v1.BufferSizeResponse;
import dev.dgramd.proto.v1.CloseResponse;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.ConnectResponse;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.CreateSocketResponse;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventBatch;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.FlagResponse;
import dev.dgramd.proto.v1.MembershipRequest;
import dev.dgramd.proto.v1.SendBatch;
import dev.dgramd.proto.v1.SendQueueCountResponse;
import dev.dgramd.proto.v1.SendQueueSizeResponse;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendResponse;
import dev.dgramd.proto.v1.SendResultBatch;
import dev.dgramd.proto.v1.SetBufferSizeRequest;
import dev.dgramd.proto.v1.SetFlagRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SetTtlRequest;
import dev.dgramd.proto.v1.SocketRequest;
import dev.dgramd.proto.v1.SourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.TtlResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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

    private final SocketRegistry registry;
    private final Enforcer enforcer;
    private final EventLoopGroup loops;
    private final EventBudget budget;
    private final DropCounters drops;
    private volatile boolean stopping;
    private final Duration orphanGrace;
    private final Map<String, EventStream> streams = new ConcurrentHashMap<>();

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
    }

    /**
     * The daemon is stopping: from now on a socket's 'close' goes out ahead of the 'message' and
     * 'error' events still queued for it, which are dropped and counted. Call before closing the sockets.
     */
    public void stopping() {
        stopping = true;
    }

    /** The event stream of open socket {@code id}, or null; for admin calls. */
    EventStream eventStream(String id) {
        return streams.get(id);
    }

    @Override
    public void createSocket(CreateSocketRequest request, StreamObserver<CreateSocketResponse> out) {
        create(request).whenComplete((socket, error) -> {
            if (error != null) {
                out.onError(ErrorMapping.toStatus(error));
                return;
            }
            out.onNext(CreateSocketResponse.newBuilder().setSocketId(socket.id()).build());
            out.onCompleted();
        });
    }

    /** Creates a socket for the calling principal; fails with the errors CreateSocket answers. */
    private CompletableFuture<UdpSocket> create(CreateSocketRequest request) {
        SocketConfig.Family family;
        switch (request.getType()) {
            case UDP4 -> family = SocketConfig.Family.IPV4;
            case UDP6 -> family = SocketConfig.Family.IPV6;
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
        SocketConfig config = new SocketConfig(family, request.getReuseAddr(), request.getReusePort(),
                request.getIpv6Only(), request.getRecvBufferSize(), request.getSendBufferSize());
        String principal = Principal.current();
        return registry.create(config, currentLoop(), principal, enforcer.maxSockets(principal),
                ctx -> enforcer.guard(principal, ctx.id()), ctx -> {
            EventStream stream = new EventStream(ctx.eventLoop(), family, budget.open(principal), () -> stopping,
                    drops, orphanGrace, () -> reap(ctx.id()));
            streams.put(ctx.id(), stream);
            return stream;
        }).whenComplete((socket, error) -> {
            if (error != null) {
                enforcer.audit(principal, null, "createSocket", error);
            } else {
                socket.closeFuture().whenComplete((v, e) -> {
                    EventStream closed = streams.remove(socket.id());
                    if (closed != null) {
                        closed.socketClosed();
                    }
                });
            }
        });
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
                SocketLog.info(log, id, "closed orphaned socket: no Events stream for {} ms",
                        orphanGrace.toMillis());
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

    @Override
    public void events(EventsRequest request, StreamObserver<EventBatch> out) {
        ServerCallStreamObserver<EventBatch> stream = (ServerCallStreamObserver<EventBatch>) out;
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
            create(request.getCreate()).whenComplete((socket, error) -> {
                if (error != null) {
                    out.onError(ErrorMapping.toStatus(error));
                    return;
                }
                streams.get(socket.id()).attach(stream, socket.id());
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
        EventStream events = Principal.current().equals(registry.owner(id)) ? streams.get(id) : null;
        if (events == null) {
            out.onError(unknownSocket(request.getSocketId()));
            return;
        }
        events.attach(stream, null);
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
    public void disconnect(SocketRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out, UdpSocket::disconnect, (s, v) -> Empty.getDefaultInstance());
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

    @Override
    public StreamObserver<SendBatch> sendStream(StreamObserver<SendResultBatch> responses) {
        return new SendStreamCall(registry, Principal.current(), (ServerCallStreamObserver<SendResultBatch>) responses);
    }

    @Override
    public void close(SocketRequest request, StreamObserver<CloseResponse> out) {
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
    public void address(SocketRequest request, StreamObserver<AddressInfo> out) {
        call(request.getSocketId(), out, UdpSocket::address, DgramService::info);
    }

    @Override
    public void remoteAddress(SocketRequest request, StreamObserver<AddressInfo> out) {
        call(request.getSocketId(), out, UdpSocket::remoteAddress, DgramService::info);
    }

    @Override
    public void setBroadcast(SetFlagRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out, s -> s.setBroadcast(request.getFlag()), (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void setTtl(SetTtlRequest request, StreamObserver<TtlResponse> out) {
        call(request.getSocketId(), out, s -> s.setTtl(request.getTtl()),
                (s, ttl) -> TtlResponse.newBuilder().setTtl(ttl).build());
    }

    @Override
    public void setMulticastTtl(SetTtlRequest request, StreamObserver<TtlResponse> out) {
        call(request.getSocketId(), out, s -> s.setMulticastTtl(request.getTtl()),
                (s, ttl) -> TtlResponse.newBuilder().setTtl(ttl).build());
    }

    @Override
    public void setMulticastLoopback(SetFlagRequest request, StreamObserver<FlagResponse> out) {
        call(request.getSocketId(), out, s -> s.setMulticastLoopback(request.getFlag()),
                (s, flag) -> FlagResponse.newBuilder().setFlag(flag).build());
    }

    @Override
    public void setMulticastInterface(SetMulticastInterfaceRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out, s -> s.setMulticastInterface(request.getInterfaceAddress()),
                (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void addMembership(MembershipRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out,
                s -> s.addMembership(request.getMulticastAddress(), request.getInterfaceAddress()),
                (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void dropMembership(MembershipRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out,
                s -> s.dropMembership(request.getMulticastAddress(), request.getInterfaceAddress()),
                (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void addSourceSpecificMembership(SourceSpecificMembershipRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out, s -> s.addSourceSpecificMembership(request.getSourceAddress(),
                request.getGroupAddress(), request.getInterfaceAddress()), (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void dropSourceSpecificMembership(SourceSpecificMembershipRequest request, StreamObserver<Empty> out) {
        call(request.getSocketId(), out, s -> s.dropSourceSpecificMembership(request.getSourceAddress(),
                request.getGroupAddress(), request.getInterfaceAddress()), (s, v) -> Empty.getDefaultInstance());
    }

    @Override
    public void getRecvBufferSize(SocketRequest request, StreamObserver<BufferSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::getRecvBufferSize, DgramService::bufferSize);
    }

    @Override
    public void setRecvBufferSize(SetBufferSizeRequest request, StreamObserver<BufferSizeResponse> out) {
        call(request.getSocketId(), out, s -> s.setRecvBufferSize(request.getSize()),
                DgramService::bufferSize);
    }

    @Override
    public void getSendBufferSize(SocketRequest request, StreamObserver<BufferSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::getSendBufferSize, DgramService::bufferSize);
    }

    @Override
    public void setSendBufferSize(SetBufferSizeRequest request, StreamObserver<BufferSizeResponse> out) {
        call(request.getSocketId(), out, s -> s.setSendBufferSize(request.getSize()),
                DgramService::bufferSize);
    }

    @Override
    public void getSendQueueSize(SocketRequest request, StreamObserver<SendQueueSizeResponse> out) {
        call(request.getSocketId(), out, UdpSocket::sendQueueSize,
                (s, n) -> SendQueueSizeResponse.newBuilder().setSize(n).build());
    }

    @Override
    public void getSendQueueCount(SocketRequest request, StreamObserver<SendQueueCountResponse> out) {
        call(request.getSocketId(), out, UdpSocket::sendQueueCount,
                (s, n) -> SendQueueCountResponse.newBuilder().setCount(n).build());
    }

    // ---------------------------------------------------------------- helpers

    private static BufferSizeResponse bufferSize(UdpSocket s, Integer size) {
        return BufferSizeResponse.newBuilder().setSize(size).build();
    }

    private static AddressInfo info(UdpSocket s, InetSocketAddress a) {
        return EventStream.addressInfo(a, s.config().family());
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
