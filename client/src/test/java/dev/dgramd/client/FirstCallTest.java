package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A socket reaches the daemon with its first call, as a libuv socket reaches the kernel with its
 * first bind: createSocket sends nothing, a bind as the first call creates and binds in one call
 * (no Bind call), and a socket closed before any call never reaches the daemon. Counted with the
 * daemon's own metrics, read after 'close' (by then every call of the socket was answered).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FirstCallTest {
    private static final String BIND = "method=\"dgramd.v1.Dgram/Bind\"";

    private Dgramd daemon;
    private DgramClient dgram;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").metrics("127.0.0.1:0")
                .policy(Policy.allowAll()));
        dgram = DgramClient.connect(daemon.target());
    }

    @AfterAll
    void stop() {
        dgram.close();
        daemon.close();
    }

    @Test
    @DisplayName("a socket closed before any call emits 'close' and never reaches the daemon")
    void closedBeforeAnyCall() throws Exception {
        double created = metric("dgramd_sockets_opened_total", "");
        Socket s = dgram.createSocket("udp4");
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.on("close", () -> closed.complete(null));
        s.close();
        DaemonFixture.await(closed);
        assertThat(metric("dgramd_sockets_opened_total", "")).isEqualTo(created);
        DaemonFixture.assertCode(s::bind, "ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    @DisplayName("bind as the first call: the socket is created and bound in one call, without a Bind call")
    void bindFirst() throws Exception {
        double created = metric("dgramd_sockets_opened_total", "");
        double binds = metric("dgramd_rpc_seconds_count", BIND);
        Socket s = dgram.createSocket("udp4");
        int port = DaemonFixture.bound(s, "127.0.0.1");
        assertThat(port).isPositive();
        assertThat(s.address().port()).isEqualTo(port);
        closeAndWait(s);
        assertThat(metric("dgramd_sockets_opened_total", "")).isEqualTo(created + 1);
        assertThat(metric("dgramd_rpc_seconds_count", BIND)).isEqualTo(binds);
    }

    @Test
    @DisplayName("a first bind that fails: 'error' EADDRINUSE, the socket stays open and unbound; the next bind is a Bind call")
    void failedFirstBind() throws Exception {
        Socket taken = dgram.createSocket("udp4");
        int port = DaemonFixture.bound(taken, "127.0.0.1");
        double binds = metric("dgramd_rpc_seconds_count", BIND);
        Socket s = dgram.createSocket("udp4");
        CompletableFuture<DgramException> error = new CompletableFuture<>();
        s.on("error", error::complete);
        s.bind(port, "127.0.0.1");
        DgramException e = DaemonFixture.await(error);
        assertThat(e.code()).isEqualTo("EADDRINUSE");
        assertThat(e.syscall()).isEqualTo("bind");
        int again = DaemonFixture.bound(s, "127.0.0.1");
        assertThat(again).isNotEqualTo(port);
        closeAndWait(s);
        closeAndWait(taken);
        assertThat(metric("dgramd_rpc_seconds_count", BIND)).isEqualTo(binds + 1);
    }

    @Test
    @DisplayName("connect as the first call: the socket is created, then connected (bound implicitly)")
    void connectFirst() throws Exception {
        Socket s = dgram.createSocket("udp4");
        CompletableFuture<Void> connected = new CompletableFuture<>();
        s.connect(9, "127.0.0.1", () -> connected.complete(null));
        DaemonFixture.await(connected);
        assertThat(s.remoteAddress().port()).isEqualTo(9);
        assertThat(s.address().port()).isPositive();
        closeAndWait(s);
    }

    @Test
    @DisplayName("a daemon that never answers the creation: 'error' ERR_DGRAMD_TIMEOUT after twice the call timeout, then 'close'")
    void creationTimesOut() throws Exception {
        long start = System.nanoTime();
        DgramException e = firstCallAgainst(out -> { }); // a hung daemon: takes the call, says nothing
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_TIMEOUT);
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(400).toNanos());
    }

    @Test
    @DisplayName("a daemon that announces the socket but never answers its bind (one older than EventsRequest.bind): 'error' ERR_DGRAMD_TIMEOUT, then 'close'")
    void bindInCreationTimesOut() throws Exception {
        DgramException e = firstCallAgainst(
                out -> out.onNext(EventsResponse.newBuilder().setSocketId("0123456789abcdef").build()));
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_TIMEOUT);
    }

    @Test
    @DisplayName("a daemon without the Session call (an older one): the socket is created on an Events call instead")
    void olderDaemonWithoutSession() throws Exception {
        Server older = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new DgramGrpc.DgramImplBase() { // Session answers UNIMPLEMENTED
                    @Override
                    public void events(EventsRequest request, StreamObserver<EventsResponse> out) {
                        out.onNext(EventsResponse.newBuilder().setSocketId("0123456789abcdef")
                                .addEvents(dev.dgramd.proto.v1.SocketEvent.newBuilder().setListening(
                                        dev.dgramd.proto.v1.Listening.newBuilder().setAddress(
                                                dev.dgramd.proto.v1.AddressInfo.newBuilder().setAddress("127.0.0.1")
                                                        .setFamily("IPv4").setPort(4242)))).build());
                    }
                }).build().start();
        try (DgramClient client = DgramClient.connect(new ClientOptions()
                .target("127.0.0.1:" + older.getPort()).callTimeout(Duration.ofSeconds(5)))) {
            for (int i = 0; i < 2; i++) { // the second knows already: no Session try
                assertThat(DaemonFixture.bound(client.createSocket("udp4"), "127.0.0.1")).isEqualTo(4242);
            }
        } finally {
            older.shutdownNow();
        }
    }

    /**
     * The 'error' of a socket's first call (a bind) to a gRPC server whose Events calls only get
     * {@code events} and never end, with a call timeout of 200 ms.
     */
    private static DgramException firstCallAgainst(Consumer<StreamObserver<EventsResponse>> events) throws IOException {
        Server fake = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new DgramGrpc.DgramImplBase() {
                    @Override
                    public void events(EventsRequest request, StreamObserver<EventsResponse> out) {
                        events.accept(out);
                    }
                }).build().start();
        try (DgramClient client = DgramClient.connect(new ClientOptions()
                .target("127.0.0.1:" + fake.getPort()).callTimeout(Duration.ofMillis(200)))) {
            return DaemonFixture.firstCallRefused(client);
        } finally {
            fake.shutdownNow();
        }
    }

    @Test
    @DisplayName("a client opens one SendStream, however its first send meets the stream's readiness")
    void oneSendStreamPerClient() throws Exception {
        // gRPC may run the stream's onReady inside its start (direct executor); the pipeline once
        // started a second and third stream from there, never ended: DgramClient.close() then
        // waited its 5 s for the channel to terminate, in about half of the clients.
        int clients = 10;
        for (int i = 0; i < clients; i++) {
            long start = System.nanoTime();
            try (DgramClient client = DgramClient.connect(daemon.target())) {
                Socket s = client.createSocket("udp4");
                int port = DaemonFixture.bound(s, "127.0.0.1");
                CompletableFuture<Integer> sent = new CompletableFuture<>();
                s.send("x", port, "127.0.0.1", (error, bytes) -> sent.complete(bytes));
                assertThat(DaemonFixture.await(sent)).isEqualTo(1);
                closeAndWait(s);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("client %d, connect to close", i)
                    .isLessThan(Duration.ofSeconds(4)); // a stream left open held close() 5 s
        }
    }

    @Test
    @DisplayName("a client's sockets are created, streamed and closed on one Session call: no Events or Close call")
    void oneSessionCallForManySockets() throws Exception {
        String session = "method=\"dgramd.v1.Dgram/Session\"";
        String events = "method=\"dgramd.v1.Dgram/Events\"";
        String close = "method=\"dgramd.v1.Dgram/Close\"";
        double sessions = metric("dgramd_rpc_seconds_count", session);
        double eventsCalls = metric("dgramd_rpc_seconds_count", events);
        double closeCalls = metric("dgramd_rpc_seconds_count", close);
        double created = metric("dgramd_sockets_opened_total", "");
        try (DgramClient own = DgramClient.connect(daemon.target())) {
            List<Socket> sockets = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Socket s = own.createSocket("udp4");
                DaemonFixture.bound(s, "127.0.0.1");
                sockets.add(s);
            }
            for (Socket s : sockets) {
                closeAndWait(s);
            }
        } // the client half-closes its Session call: the daemon completes it
        assertThat(metric("dgramd_sockets_opened_total", "")).isEqualTo(created + 20);
        assertThat(metric("dgramd_rpc_seconds_count", session)).isEqualTo(sessions + 1);
        assertThat(metric("dgramd_rpc_seconds_count", session, "code=\"OK\"")).isPositive();
        assertThat(metric("dgramd_rpc_seconds_count", events)).isEqualTo(eventsCalls);
        assertThat(metric("dgramd_rpc_seconds_count", close)).isEqualTo(closeCalls);
    }

    private static void closeAndWait(Socket s) {
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.close(() -> closed.complete(null));
        DaemonFixture.await(closed);
    }

    /** The sum of the samples of {@code name} whose labels contain each of {@code labels}; 0 when none. */
    private double metric(String name, String... labels) throws Exception {
        var address = daemon.metricsAddress();
        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + address.getPort()
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(name) && (line.charAt(name.length()) == ' ' || line.charAt(name.length()) == '{')
                    && java.util.Arrays.stream(labels).allMatch(line::contains)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
