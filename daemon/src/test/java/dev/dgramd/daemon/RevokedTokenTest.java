package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.errorInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A principal removed from the tokens file (issue 15): its open Events and SendStream calls end with
 * UNAUTHENTICATED and ErrorInfo ERR_DGRAMD_UNAUTHENTICATED when the file is reloaded, its socket is
 * then an orphan, closed after the grace; another principal's calls go on.
 */
class RevokedTokenTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    private static final String ALICE = "alice-0123456789abcdef";
    private static final String BOB = "bob-0123456789abcdef";

    @TempDir
    Path dir;

    private Dgramd daemon;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void removingAPrincipalEndsItsOpenStreamsAndOrphansItsSocket() throws Exception {
        Path tokens = dir.resolve("tokens");
        write(tokens, ALICE + " alice", BOB + " bob");
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(tokens)
                .policy(Policy.parse("admins: [bob]", "test-policy")).orphanGrace(Duration.ofMillis(500)));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        Channel alice = as(ALICE);
        Channel bob = as(BOB);

        String aliceSocket = create(alice);
        EventRecorder aliceEvents = EventRecorder.subscribe(DgramGrpc.newStub(alice), aliceSocket);
        bind(alice, aliceSocket);
        aliceEvents.next(SocketEvent.EventCase.LISTENING);
        SendStreamRecorder aliceSends = SendStreamRecorder.open(alice);
        aliceSends.requests().onNext(SendStreamRequest.newBuilder().setSocketId(aliceSocket)
                .addDatagrams(OutboundDatagram.newBuilder().setId(1).setPort(9).setAddress("127.0.0.1")
                        .setData(ByteString.copyFromUtf8("x"))).build());
        aliceSends.next(); // the stream runs

        String bobSocket = create(bob);
        EventRecorder bobEvents = EventRecorder.subscribe(DgramGrpc.newStub(bob), bobSocket);
        int bobPort = bind(bob, bobSocket);
        bobEvents.next(SocketEvent.EventCase.LISTENING);
        CompletableFuture<Void> aliceSocketClosed = DaemonTestBase.tapUntilClose(
                as(BOB), aliceSocket);

        replace(tokens, BOB + " bob");

        Throwable sendsEnded = aliceSends.end().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThatThrownBy(() -> aliceEvents.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
        Throwable eventsEnded = aliceEvents.done().handle((v, t) -> t).get();
        for (Throwable ended : List.of(eventsEnded, sendsEnded)) {
            assertThat(ended).isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> {
                                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                                assertThat(errorInfo(e).getReason()).isEqualTo("ERR_DGRAMD_UNAUTHENTICATED");
                                assertThat(e.getStatus().getDescription()).contains("'alice'")
                                        .doesNotContain(ALICE);
                            });
        }
        aliceSocketClosed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS); // an orphan, reaped after the grace

        // bob's stream goes on
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            byte[] data = "still bob's".getBytes(StandardCharsets.UTF_8);
            peer.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), bobPort));
        }
        assertThat(bobEvents.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                .isEqualTo("still bob's");
        assertThat(bobEvents.done()).isNotDone();
        bobEvents.close();
    }

    private Channel as(String token) {
        return Tokens.as(channel, token);
    }

    private static String create(Channel channel) {
        return DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
    }

    private static int bind(Channel channel, String id) {
        return DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build()).getAddress().getPort();
    }

    private static void write(Path file, String... lines) throws Exception {
        Tokens.write(file, lines);
    }

    /** Replaces the tokens file the safe way: a new file renamed over it. */
    private void replace(Path tokens, String... lines) throws Exception {
        Path next = dir.resolve("tokens.next");
        write(next, lines);
        Files.move(next, tokens, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
