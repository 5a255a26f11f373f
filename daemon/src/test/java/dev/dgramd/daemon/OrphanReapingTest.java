package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.TapRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Orphan reaping (issue 5): a socket whose Events stream went away is closed after the orphan grace
 * unless a new stream attaches in time. Each test runs its own daemon, to choose the grace.
 *
 * <p>A socket's close is observed through an Admin Tap on it, which completes when the socket closes.
 */
class OrphanReapingTest {
    private static final long TIMEOUT_SECONDS = 10;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void release() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    @Test
    void socketIsClosedAfterTheGraceWhenItsEventStreamIsCancelled() throws Exception {
        Duration grace = Duration.ofMillis(500);
        Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).orphanGrace(grace)
                .metrics("127.0.0.1:0"));
        resources.add(daemon);
        ManagedChannel channel = channel(daemon);
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel);
        String id = createSocket(stub);
        EventRecorder events = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
        int port = bind(stub, id);
        events.next(SocketEvent.EventCase.LISTENING); // the stream is attached
        CompletableFuture<Void> closed = DaemonTestBase.tapUntilClose(channel, id);
        assertThat(daemon.openSockets()).isEqualTo(1);

        events.close(); // cancels the stream

        closed.get(grace.toMillis() + 5_000, TimeUnit.MILLISECONDS);
        assertThat(daemon.openSockets()).isZero();
        assertPortFree(channel, port);
        expectNotRunningOrUnknown(() -> stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .address(AddressRequest.newBuilder().setSocketId(id).build()));
        java.net.http.HttpResponse<String> scrape = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                        + daemon.metricsAddress().getPort() + "/metrics")).timeout(Duration.ofSeconds(TIMEOUT_SECONDS))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.body()).contains("dgramd_sockets_reaped_total 1.0");
    }

    @Test
    void reattachingWithinTheGraceKeepsTheSocketAndItsBufferedEvents() throws Exception {
        // Long enough for a re-attach from the same JVM, short enough to wait it out below.
        Duration grace = Duration.ofSeconds(2);
        Dgramd daemon = start(grace);
        ManagedChannel channel = channel(daemon);
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel);
        DgramGrpc.DgramStub async = DgramGrpc.newStub(channel);
        String id = createSocket(stub);
        EventRecorder first = EventRecorder.subscribe(async, id);
        int port = bind(stub, id);
        first.next(SocketEvent.EventCase.LISTENING);

        first.close();
        DaemonTestBase.awaitDetached(channel, id); // so the datagram below cannot go to the cancelled stream
        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        resources.add(peer);
        byte[] data = "sent while detached".getBytes(StandardCharsets.UTF_8);
        peer.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
        EventRecorder second = attach(async, id);

        SocketEvent message = second.next(SocketEvent.EventCase.MESSAGE);
        assertThat(message.getMessage().getData().toStringUtf8()).isEqualTo("sent while detached");
        // Wait past the grace on the new stream: it must neither end (the socket was not reaped) nor fail.
        assertThatThrownBy(() -> second.done().get(grace.toMillis() + 1_000, TimeUnit.MILLISECONDS))
                .isInstanceOf(TimeoutException.class);
        assertThat(daemon.openSockets()).isEqualTo(1);
        assertThat(stub.address(AddressRequest.newBuilder().setSocketId(id).build()).getPort()).isEqualTo(port);
        second.close();
    }

    @Test
    void socketNeverAttachedIsNotReaped() throws Exception {
        Duration grace = Duration.ofMillis(200);
        Dgramd daemon = start(grace);
        ManagedChannel channel = channel(daemon);
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel);
        String id = createSocket(stub);
        bind(stub, id);
        CompletableFuture<Void> closed = DaemonTestBase.tapUntilClose(channel, id);

        assertThatThrownBy(() -> closed.get(grace.toMillis() + 1_000, TimeUnit.MILLISECONDS))
                .isInstanceOf(TimeoutException.class);
        assertThat(daemon.openSockets()).isEqualTo(1);
    }

    @Test
    void killedClientJvmsSocketsAreClosedAfterTheGrace() throws Exception {
        Duration grace = Duration.ofMillis(500);
        Dgramd daemon = start(grace);
        ManagedChannel channel = channel(daemon);
        OrphanClientMain.Child started = OrphanClientMain.launch(List.of(), daemon.target());
        Process child = started.process();
        resources.add(child::destroyForcibly);
        List<String> ids = started.ids();
        List<Integer> ports = started.ports();
        assertThat(ids).as("sockets the child made").hasSize(3);
        assertThat(daemon.openSockets()).isEqualTo(3);
        List<CompletableFuture<Void>> closed = new ArrayList<>();
        for (String id : ids) {
            closed.add(DaemonTestBase.tapUntilClose(channel, id));
        }

        child.destroyForcibly(); // kill -9
        assertThat(child.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("child exited").isTrue();

        CompletableFuture.allOf(closed.toArray(CompletableFuture[]::new))
                .get(grace.toMillis() + 5_000, TimeUnit.MILLISECONDS);
        assertThat(daemon.openSockets()).isZero();
        for (int port : ports) {
            assertPortFree(channel, port);
        }
    }

    private Dgramd start(Duration grace) throws Exception {
        Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).orphanGrace(grace));
        resources.add(daemon);
        return daemon;
    }

    private ManagedChannel channel(Dgramd daemon) {
        ManagedChannel channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        resources.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return channel;
    }

    private static String createSocket(DgramGrpc.DgramBlockingStub stub) {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
    }

    private static int bind(DgramGrpc.DgramBlockingStub stub, String id) {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build()).getAddress().getPort();
    }

    /**
     * Attaches a new Events stream. The cancel of the previous one reaches the daemon asynchronously,
     * so the first attempt may still find it attached (ALREADY_EXISTS); each retry waits on the failed
     * attempt's end, so the loop is bounded by attempts and timeouts, not by sleeps.
     */
    private EventRecorder attach(DgramGrpc.DgramStub async, String id) throws Exception {
        for (int attempt = 0; ; attempt++) {
            EventRecorder r = EventRecorder.subscribe(async, id);
            resources.add(r);
            try {
                r.done().get(200, TimeUnit.MILLISECONDS);
                throw new AssertionError("Events stream ended right away");
            } catch (TimeoutException stillOpen) {
                return r;
            } catch (ExecutionException e) {
                if (attempt >= 20 || !(e.getCause() instanceof StatusRuntimeException s)
                        || s.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * Binds a JDK socket to 127.0.0.1:{@code port}. The daemon's socket is closed when its tap ends, but
     * the kernel may release the port a moment later; between attempts the loop blocks on an Admin
     * ListSockets round trip (something observable) rather than a sleep, at most 50 times.
     */
    private static void assertPortFree(ManagedChannel channel, int port) throws Exception {
        AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(channel);
        for (int attempt = 0; ; attempt++) {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
                assertThat(s.getLocalPort()).isEqualTo(port);
                return;
            } catch (BindException e) {
                if (attempt >= 50) {
                    throw new AssertionError("port " + port + " still in use", e);
                }
                admin.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS).listSockets(ListSocketsRequest.getDefaultInstance());
            }
        }
    }

    private static void expectNotRunningOrUnknown(org.junit.jupiter.api.function.Executable call) {
        assertThatThrownBy(call::execute).isInstanceOf(StatusRuntimeException.class)
                .satisfies(t -> assertThat(((StatusRuntimeException) t).getStatus().getCode())
                        .isIn(Status.Code.NOT_FOUND, Status.Code.FAILED_PRECONDITION));
    }
}
