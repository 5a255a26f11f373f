package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import java.util.concurrent.CompletableFuture;
import io.grpc.stub.StreamObserver;
import dev.dgramd.proto.v1.TapResponse;
import dev.dgramd.proto.v1.TapRequest;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;

/**
 * One real daemon per test class, on 127.0.0.1 and a free port, reached over real gRPC (loopback
 * TCP). Sockets made through {@link #create} are closed after each test.
 */
public abstract class DaemonTestBase {
    protected static final long TIMEOUT_SECONDS = 10;

    protected static Dgramd daemon;
    protected static ManagedChannel channel;
    protected static DgramGrpc.DgramBlockingStub stub;
    protected static DgramGrpc.DgramStub async;

    private final List<String> created = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @AfterEach
    void closeSockets() throws Exception {
        for (String id : created) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        }
        for (AutoCloseable r : resources) {
            r.close();
        }
    }

    /**
     * Returns once the daemon behind {@code channel} sees no Events stream on socket {@code id} (a
     * cancelled stream is let go on the daemon's loop, a little after the cancel), asking Admin at
     * most 200 times.
     */
    static void awaitDetached(ManagedChannel channel, String id) {
        AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(channel);
        for (int attempt = 0; attempt < 200; attempt++) {
            boolean attached = admin.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                    .anyMatch(s -> s.getSocketId().equals(id) && s.getEventsAttached());
            if (!attached) {
                return;
            }
        }
        throw new AssertionError("the daemon still sees an Events stream on " + id);
    }

    /** An Admin Tap on socket {@code id}, in place when this returns; the future completes when the socket closes. */
    static CompletableFuture<Void> tapUntilClose(io.grpc.Channel channel, String id) throws Exception {
        CompletableFuture<Void> attached = new CompletableFuture<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        AdminGrpc.newStub(channel).tap(TapRequest.newBuilder().setSocketId(id).build(), new StreamObserver<>() {
            @Override
            public void onNext(TapResponse event) {
                attached.complete(null);
            }

            @Override
            public void onError(Throwable t) {
                attached.completeExceptionally(t);
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                attached.complete(null);
                done.complete(null);
            }
        });
        attached.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return done;
    }

    /** A stub with a deadline, so no test call can hang. */
    protected static DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** Creates a socket that is closed after the test. */
    protected String create(SocketType type) {
        return create(CreateSocketRequest.newBuilder().setType(type).build());
    }

    protected String create(CreateSocketRequest request) {
        String id = stub().createSocket(request).getSocketId();
        created.add(id);
        return id;
    }

    /** Subscribes to a socket's events. */
    protected EventRecorder events(String socketId) {
        EventRecorder r = EventRecorder.subscribe(async, socketId);
        resources.add(r);
        return r;
    }

    /** A plain JDK UDP socket on 127.0.0.1 (or ::1), the test's peer. */
    protected DatagramSocket peer(String host) throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(host), 0));
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        resources.add(s);
        return s;
    }

    protected static DatagramPacket receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[65_536], 65_536);
        try {
            s.receive(p);
        } catch (SocketTimeoutException e) {
            fail("no datagram within " + TIMEOUT_SECONDS + " s");
        }
        return p;
    }

    protected static void sendTo(DatagramSocket from, byte[] data, String host, int port) throws Exception {
        from.send(new DatagramPacket(data, data.length, InetAddress.getByName(host), port));
    }

    /** The ErrorInfo of a failed call. */
    protected static ErrorInfo errorInfo(Throwable t) {
        assertThat(t).isInstanceOf(StatusRuntimeException.class);
        com.google.rpc.Status status = StatusProto.fromThrowable(t);
        assertThat(status).as("status with details").isNotNull();
        try {
            for (com.google.protobuf.Any any : status.getDetailsList()) {
                if (any.is(ErrorInfo.class)) {
                    return any.unpack(ErrorInfo.class);
                }
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no ErrorInfo in " + status);
    }

    /** Runs {@code call}, which must fail with a status whose ErrorInfo reason is {@code nodeCode}. */
    protected static ErrorInfo expectError(String nodeCode, io.grpc.Status.Code statusCode, Executable call) {
        Throwable[] thrown = new Throwable[1];
        assertThatThrownBy(() -> call.execute()).satisfies(t -> thrown[0] = t);
        ErrorInfo info = errorInfo(thrown[0]);
        assertThat(info.getReason()).as("reason of %s", thrown[0].getMessage()).isEqualTo(nodeCode);
        assertThat(info.getDomain()).isEqualTo("dgramd");
        assertThat(((StatusRuntimeException) thrown[0]).getStatus().getCode()).isEqualTo(statusCode);
        return info;
    }
}
