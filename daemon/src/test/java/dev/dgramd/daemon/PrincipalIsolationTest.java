package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.errorInfo;
import static dev.dgramd.daemon.DaemonTestBase.expectError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sockets belong to the principal that created it: with bearer tokens for alice, bob and ops, every
 * call of bob's on alice's socket is answered as for an id that never existed, alice's quotas do not
 * touch bob, only alice may re-attach to her orphaned socket, and only the policy's admins may use
 * the Admin service.
 */
class PrincipalIsolationTest {
    private static final String ALICE = "alice-token-0123456789abcdef";
    private static final String BOB = "bob-token-0123456789abcdef";
    private static final String OPS = "ops-token-0123456789abcdef";
    private static final long SECONDS = DaemonTestBase.TIMEOUT_SECONDS;

    @TempDir
    Path dir;

    private Dgramd daemon;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        Path tokens = Tokens.write(dir.resolve("tokens"), ALICE + " alice", BOB + " bob", OPS + " ops");
        Policy policy = Policy.parse("""
                admins: [ops]
                principals:
                  alice:
                    quotas: {maxSockets: 2}
                """, "isolation-policy");
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(tokens).policy(policy)
                .orphanGrace(Duration.ofSeconds(30)));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    private Channel as(String token) {
        return Tokens.as(channel, token);
    }

    private DgramGrpc.DgramBlockingStub dgram(String token) {
        return DgramGrpc.newBlockingStub(as(token)).withDeadlineAfter(SECONDS, TimeUnit.SECONDS);
    }

    private String create(String token) {
        return dgram(token).createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
    }

    /** The status and ErrorInfo bob gets for {@code id}, which must look like "no such socket". */
    private static void looksUnknown(StatusRuntimeException e, String id) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        ErrorInfo info = errorInfo(e);
        assertThat(info.getReason()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(e.getStatus().getDescription()).isEqualTo("Not running: no socket with id '" + id + "'");
    }

    private static StatusRuntimeException failure(org.junit.jupiter.api.function.Executable call) {
        StatusRuntimeException[] thrown = new StatusRuntimeException[1];
        assertThatThrownBy(call::execute).isInstanceOfSatisfying(StatusRuntimeException.class, e -> thrown[0] = e);
        return thrown[0];
    }

    @Test
    void anotherPrincipalsSocketAnswersExactlyAsAnIdThatNeverExisted() throws Exception {
        String alices = create(ALICE);
        dgram(ALICE).bind(BindRequest.newBuilder().setSocketId(alices).setPort(0).setAddress("127.0.0.1").build());
        String never = "0".repeat(32);

        looksUnknown(failure(() -> dgram(BOB).address(AddressRequest.newBuilder().setSocketId(never).build())), never);
        looksUnknown(failure(() -> dgram(BOB).address(AddressRequest.newBuilder().setSocketId(alices).build())), alices);
        looksUnknown(failure(() -> dgram(BOB).send(SendRequest.newBuilder().setSocketId(alices).setPort(9)
                .setAddress("127.0.0.1").setData(ByteString.copyFromUtf8("x")).build())), alices);
        looksUnknown(failure(() -> dgram(BOB).close(CloseRequest.newBuilder().setSocketId(alices).build())), alices);
        looksUnknown(failure(() -> dgram(BOB).bind(BindRequest.newBuilder().setSocketId(alices).build())), alices);

        // Events: bob cannot attach to alice's socket.
        CompletableFuture<Throwable> bobEvents = new CompletableFuture<>();
        DgramGrpc.newStub(as(BOB)).events(dev.dgramd.proto.v1.EventsRequest.newBuilder().setSocketId(alices).build(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(dev.dgramd.proto.v1.EventsResponse value) {
                        bobEvents.complete(new AssertionError("bob got alice's events: " + value));
                    }

                    @Override
                    public void onError(Throwable t) {
                        bobEvents.complete(t);
                    }

                    @Override
                    public void onCompleted() {
                        bobEvents.complete(new AssertionError("stream ended without error"));
                    }
                });
        looksUnknown((StatusRuntimeException) bobEvents.get(SECONDS, TimeUnit.SECONDS), alices);

        // SendStream: bob's datagrams for alice's socket fail as for no socket, and none leaves.
        try (DatagramSocket sink = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            SendStreamRecorder recorder = SendStreamRecorder.open(as(BOB));
            StreamObserver<SendStreamRequest> stream = recorder.requests();
            stream.onNext(SendStreamRequest.newBuilder().setSocketId(alices).addDatagrams(OutboundDatagram.newBuilder()
                    .setId(1).setPort(sink.getLocalPort()).setAddress("127.0.0.1")
                    .setData(ByteString.copyFromUtf8("relay?"))).build());
            assertThat(recorder.next().getResults(0).getError().getCode())
                    .isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
            stream.onCompleted();
            // alice's own send to the same sink arrives first and alone.
            dgram(ALICE).send(SendRequest.newBuilder().setSocketId(alices).setPort(sink.getLocalPort())
                    .setAddress("127.0.0.1").setData(ByteString.copyFromUtf8("alice")).build());
            sink.setSoTimeout((int) TimeUnit.SECONDS.toMillis(SECONDS));
            DatagramPacket got = new DatagramPacket(new byte[64], 64);
            sink.receive(got);
            assertThat(new String(got.getData(), 0, got.getLength())).isEqualTo("alice");
        }

        // alice still owns a working socket.
        assertThat(dgram(ALICE).address(AddressRequest.newBuilder().setSocketId(alices).build()).getPort())
                .isPositive();
        assertThat(daemon.openSockets()).isEqualTo(1);
    }

    @Test
    void quotasArePerPrincipal() {
        create(ALICE);
        create(ALICE);
        expectError("EMFILE", Status.Code.RESOURCE_EXHAUSTED, () -> create(ALICE));
        for (int i = 0; i < 5; i++) {
            create(BOB); // bob has the default quota, untouched by alice's
        }
        assertThat(daemon.openSockets()).isEqualTo(7);
    }

    @Test
    void onlyTheOwnerReattachesToAnOrphanedSocketAndGetsWhatWasBuffered() throws Exception {
        String id = create(ALICE);
        EventRecorder first = EventRecorder.subscribe(DgramGrpc.newStub(as(ALICE)), id);
        int port = dgram(ALICE).bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1")
                .build()).getAddress().getPort();
        first.next(SocketEvent.EventCase.LISTENING);
        first.close(); // alice's client went away: the socket is an orphan for the grace
        // Until the daemon has seen the cancel, a datagram would go to the stream being cancelled
        // (and be lost with it, as on any stream a client drops): wait for the socket to be an orphan.
        awaitDetached(id);

        try (DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            peer.send(new DatagramPacket(new byte[] {42}, 1, InetAddress.getLoopbackAddress(), port));
        }
        EventRecorder bobs = EventRecorder.subscribe(DgramGrpc.newStub(as(BOB)), id);
        assertThatThrownBy(() -> bobs.done().get(SECONDS, TimeUnit.SECONDS))
                .hasCauseInstanceOf(StatusRuntimeException.class)
                .satisfies(t -> looksUnknown((StatusRuntimeException) t.getCause(), id));

        EventRecorder again = EventRecorder.subscribe(DgramGrpc.newStub(as(ALICE)), id);
        SocketEvent message = again.next(SocketEvent.EventCase.MESSAGE);
        assertThat(message.getMessage().getData().byteAt(0)).isEqualTo((byte) 42);
        again.close();
    }

    /** Asks the daemon (as an admin, one call after another) until {@code id} has no Events stream. */
    private void awaitDetached(String id) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        while (AdminGrpc.newBlockingStub(as(OPS)).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .anyMatch(s -> s.getSocketId().equals(id) && s.getEventsAttached())) {
            assertThat(System.nanoTime() - deadline).as("the daemon saw the stream go within %s s", SECONDS)
                    .isNegative();
        }
    }

    @Test
    void onlyAdminsUseTheAdminService() {
        create(ALICE);
        StatusRuntimeException denied = failure(() -> AdminGrpc.newBlockingStub(as(BOB))
                .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).listSockets(ListSocketsRequest.getDefaultInstance()));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(AdminGrpc.newBlockingStub(as(OPS)).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsCount()).isEqualTo(1);
    }
}
