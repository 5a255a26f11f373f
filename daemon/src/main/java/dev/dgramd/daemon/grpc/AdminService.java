package dev.dgramd.daemon.grpc;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import dev.dgramd.daemon.auth.Principal;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.policy.Enforcer;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketCounters;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.daemon.udp.SocketLog;
import dev.dgramd.daemon.udp.SocketObserver;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.TrafficTotals;
import dev.dgramd.daemon.udp.UdpSocket;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.CloseSocketRequest;
import dev.dgramd.proto.v1.CloseSocketResponse;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.ListSocketsResponse;
import dev.dgramd.proto.v1.SendTestRequest;
import dev.dgramd.proto.v1.SendTestResponse;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.StatsRequest;
import dev.dgramd.proto.v1.StatsResponse;
import dev.dgramd.proto.v1.TapRequest;
import dev.dgramd.proto.v1.TapResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dgramd.v1.Admin service: reads the sockets' counters and state, taps and closes sockets, sends
 * test datagrams. Every call first passes {@link AdminAccess}. Nothing here blocks.
 */
public final class AdminService extends AdminGrpc.AdminImplBase {
    private static final Logger log = LoggerFactory.getLogger(AdminService.class);
    /** Observes the events of a SendTest's fresh socket: nobody reads them. */
    private static final SocketObserver NO_READER = new SocketObserver() {
        @Override
        public void onEvent(SocketEvent event) {
        }

        @Override
        public void onBurstEnd() {
        }
    };

    private final SocketRegistry registry;
    private final Enforcer enforcer;
    private final DropCounters drops;
    private final EventBudget budget;
    private final String version;
    private final String transport;
    private final Instant started;

    /**
     * @param budget the daemon-wide event budget, for its use and limit
     * @param version the daemon's version; {@code transport} "epoll" or "nio"; {@code started} its start
     */
    public AdminService(SocketRegistry registry, Enforcer enforcer, DropCounters drops,
                        EventBudget budget, String version, String transport, Instant started) {
        this.registry = registry;
        this.enforcer = enforcer;
        this.drops = drops;
        this.budget = budget;
        this.version = version;
        this.transport = transport;
        this.started = started;
    }

    @Override
    public void listSockets(ListSocketsRequest request, StreamObserver<ListSocketsResponse> out) {
        List<UdpSocket> sockets = registry.sockets();
        sockets.sort(Comparator.comparing((UdpSocket s) -> s.counters().created()).thenComparing(UdpSocket::id));
        ListSocketsResponse.Builder answer = ListSocketsResponse.newBuilder();
        for (UdpSocket s : sockets) {
            answer.addSockets(info(s));
        }
        out.onNext(answer.build());
        out.onCompleted();
    }

    private SocketInfo info(UdpSocket s) {
        SocketCounters c = s.counters();
        SocketConfig.Family family = s.config().family();
        SocketInfo.Builder info = SocketInfo.newBuilder()
                .setSocketId(s.id())
                .setType(type(family))
                .setDatagramsReceived(c.datagramsReceived())
                .setBytesReceived(c.bytesReceived())
                .setDatagramsSent(c.datagramsSent())
                .setBytesSent(c.bytesSent())
                .setSendFailures(c.sendFailures())
                .setErrorsEmitted(c.errorsEmitted())
                .setKernelDropped(c.kernelDropped())
                .setCreatedTime(timestamp(c.created()))
                .setTaps(s.tapCount());
        String name = registry.name(s.id());
        if (name != null) {
            info.setName(name);
        }
        InetSocketAddress local = s.localAddress();
        if (local != null) {
            info.setLocal(Protos.addressInfo(local, family));
        }
        InetSocketAddress remote = s.connectedPeer();
        if (remote != null) {
            info.setRemote(Protos.addressInfo(remote, family));
        }
        EventStream events = DgramService.eventStream(s);
        if (events != null) {
            info.setDroppedMessages(events.droppedMessagesTotal())
                    .setDroppedMessagesBudget(events.droppedMessagesBudgetTotal())
                    .setBufferedEventBytes(events.bufferedBytes())
                    .setDroppedErrors(events.droppedErrorsTotal())
                    .setEventsAttached(events.attached());
        }
        return info.build();
    }

    @Override
    public void stats(StatsRequest request, StreamObserver<StatsResponse> out) {
        TrafficTotals t = registry.totals();
        Instant now = Instant.now();
        java.time.Duration up = java.time.Duration.between(started, now);
        out.onNext(StatsResponse.newBuilder()
                .setVersion(version)
                .setTransport(transport)
                .setStartedTime(timestamp(started))
                .setUptime(Duration.newBuilder().setSeconds(up.getSeconds()).setNanos(up.getNano()))
                .setSocketsOpen(registry.size())
                .setSocketsCreated(t.socketsCreated())
                .setSocketsClosed(t.socketsClosed())
                .setDatagramsReceived(t.datagramsReceived())
                .setBytesReceived(t.bytesReceived())
                .setDatagramsSent(t.datagramsSent())
                .setBytesSent(t.bytesSent())
                .setSendFailures(t.sendFailures())
                .setErrorsEmitted(t.errorsEmitted())
                .setDroppedMessages(drops.messages())
                .setDroppedErrors(drops.errors())
                .setTapDropped(drops.tapDatagrams())
                .setDroppedMessagesBudget(drops.messagesBudget())
                .setKernelDropped(t.kernelDropped())
                .setBufferedEventBytes(budget.used())
                .setBufferedEventBytesLimit(budget.limit())
                .build());
        out.onCompleted();
    }

    @Override
    public void closeSocket(CloseSocketRequest request, StreamObserver<CloseSocketResponse> out) {
        String id = request.getSocketId();
        UdpSocket socket = registry.get(id);
        if (socket == null) {
            if (registry.wasClosed(id)) {
                out.onNext(CloseSocketResponse.newBuilder().setAlreadyClosed(true).build());
                out.onCompleted();
            } else {
                out.onError(ErrorMapping.unknownSocket(false, id));
            }
            return;
        }
        SocketLog.info(log, id, "socket {}: closed by an Admin call", id);
        socket.close().whenComplete((closedNow, error) -> {
            if (error != null) {
                out.onError(ErrorMapping.toStatus(error));
            } else {
                out.onNext(CloseSocketResponse.newBuilder().setAlreadyClosed(!closedNow).build());
                out.onCompleted();
            }
        });
    }

    @Override
    public void tap(TapRequest request, StreamObserver<TapResponse> out) {
        UdpSocket socket = registry.get(request.getSocketId());
        if (socket == null) {
            out.onError(ErrorMapping.unknownSocket(registry.wasClosed(request.getSocketId()), request.getSocketId()));
            return;
        }
        TapStream.start(socket, (ServerCallStreamObserver<TapResponse>) out, drops);
    }

    @Override
    public void sendTest(SendTestRequest request, StreamObserver<SendTestResponse> out) {
        if (!request.getSocketId().isEmpty()) {
            UdpSocket socket = registry.get(request.getSocketId());
            if (socket == null) {
                out.onError(ErrorMapping.unknownSocket(registry.wasClosed(request.getSocketId()), request.getSocketId()));
                return;
            }
            sendFrom(socket, request).whenComplete((answer, error) -> answer(out, answer, error));
            return;
        }
        SocketConfig.Family family = request.getType() == SocketType.SOCKET_TYPE_UDP6
                ? SocketConfig.Family.IPV6 : SocketConfig.Family.IPV4;
        String principal = Principal.current();
        registry.create(SocketConfig.of(family), null, principal, enforcer.maxSockets(principal),
                ctx -> enforcer.guard(principal, ctx.id()), ctx -> NO_READER).whenComplete((socket, createError) -> {
            if (createError != null) {
                answer(out, null, createError);
                return;
            }
            sendFrom(socket, request).whenComplete((answer, error) ->
                    socket.close().whenComplete((v, e) -> answer(out, answer, error)));
        });
    }

    private static CompletableFuture<SendTestResponse> sendFrom(UdpSocket socket, SendTestRequest request) {
        CompletableFuture<SendTestResponse> result = new CompletableFuture<>();
        UdpSocket.Outgoing datagram = new UdpSocket.Outgoing(0,
                Unpooled.wrappedBuffer(request.getData().asReadOnlyByteBuffer()), request.getPort(),
                request.getAddress(), false);
        socket.send(List.of(datagram), (id, bytes, error, size) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            SendTestResponse.Builder answer = SendTestResponse.newBuilder().setBytes(bytes).setSocketId(socket.id());
            InetSocketAddress local = socket.localAddress();
            if (local != null) {
                answer.setLocal(Protos.addressInfo(local, socket.config().family()));
            }
            result.complete(answer.build());
        });
        return result;
    }

    private static void answer(StreamObserver<SendTestResponse> out, SendTestResponse answer, Throwable error) {
        if (error != null) {
            out.onError(ErrorMapping.toStatus(error));
        } else {
            out.onNext(answer);
            out.onCompleted();
        }
    }

    private static SocketType type(SocketConfig.Family family) {
        return family == SocketConfig.Family.IPV4 ? SocketType.SOCKET_TYPE_UDP4 : SocketType.SOCKET_TYPE_UDP6;
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
