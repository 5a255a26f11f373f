package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Prometheus metrics of a real daemon, scraped over HTTP after real traffic: every number is
 * asserted exactly.
 */
class MetricsTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    private static final String SEND = "dgramd.v1.Dgram/Send";

    private static Dgramd daemon;
    private static ManagedChannel channel;
    private static DgramGrpc.DgramBlockingStub stub;
    private static DgramGrpc.DgramStub async;
    private static HttpClient http;
    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        // warmed up first, as the dgramd command is: the warm-up's socket and datagrams must not show
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).metrics("127.0.0.1:0")
                .maxQueuedEventBytes(65_536).warmUp(Duration.ofMillis(300)));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(TIMEOUT_SECONDS)).build();
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @AfterEach
    void release() throws Exception {
        for (AutoCloseable r : resources) {
            r.close();
        }
    }

    @Test
    void countsSocketsTrafficFailuresErrorsDropsAndRpcLatency() throws Exception {
        assertThat(daemon.metricsAddress().getAddress().isLoopbackAddress()).isTrue();
        Metrics start = scrape();
        assertThat(start.value("dgramd_sockets_open")).isZero();
        assertThat(start.value("dgramd_datagrams_sent_total")).isZero();

        DatagramSocket peer = peer();
        // a: bound, sends 3 datagrams of 5 bytes and receives 2 of 4 bytes.
        String a = create();
        EventRecorder aEvents = events(a);
        int aPort = stub().bind(BindRequest.newBuilder().setSocketId(a).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        aEvents.next(EventCase.LISTENING);
        for (int i = 0; i < 3; i++) {
            stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFromUtf8("hello"))
                    .setAddress("127.0.0.1").setPort(peer.getLocalPort()).build());
            assertThat(receive(peer).getLength()).isEqualTo(5);
        }
        for (int i = 0; i < 2; i++) {
            send(peer, new byte[4], aPort);
            assertThat(aEvents.next(EventCase.MESSAGE).getMessage().getData().size()).isEqualTo(4);
        }
        // One send refused (bad port): a failure, and an RPC that ended INVALID_ARGUMENT.
        assertThatThrownBy(() -> stub().send(SendRequest.newBuilder().setSocketId(a)
                .setData(ByteString.copyFromUtf8("x")).setAddress("127.0.0.1").setPort(0).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        // b: its bind to a's port fails with EADDRINUSE, emitted as 'error'.
        String b = create();
        EventRecorder bEvents = events(b);
        assertThatThrownBy(() -> stub().bind(BindRequest.newBuilder().setSocketId(b).setAddress("127.0.0.1")
                .setPort(aPort).build())).isInstanceOf(StatusRuntimeException.class);
        assertThat(bEvents.next(EventCase.ERROR).getError().getError().getCode()).isEqualTo("EADDRINUSE");
        // c: no Events reader while 12 datagrams of 8000 bytes arrive. With 65536 bytes of queue (64
        // per event plus the payload), 'listening' and 8 messages fit; 4 messages are dropped.
        String c = create();
        int cPort = stub().bind(BindRequest.newBuilder().setSocketId(c).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        for (int i = 0; i < 12; i++) {
            send(peer, new byte[8000], cPort);
        }
        awaitValue("dgramd_datagrams_received_total", 2 + 12);
        EventRecorder cEvents = events(c);
        cEvents.next(EventCase.LISTENING);
        for (int i = 0; i < 8; i++) {
            cEvents.next(EventCase.MESSAGE);
        }
        assertThat(cEvents.dropped()).isEqualTo(4);

        Metrics m = scrape();
        assertThat(m.value("dgramd_sockets_open")).isEqualTo(3);
        assertThat(m.value("dgramd_sockets_opened_total")).isEqualTo(3);
        assertThat(m.value("dgramd_sockets_closed_total")).isZero();
        assertThat(m.value("dgramd_datagrams_sent_total")).isEqualTo(3);
        assertThat(m.value("dgramd_sent_bytes_total")).isEqualTo(15);
        assertThat(m.value("dgramd_datagrams_received_total")).isEqualTo(14);
        assertThat(m.value("dgramd_received_bytes_total")).isEqualTo(2 * 4 + 12 * 8000);
        assertThat(m.value("dgramd_send_failures_total")).isEqualTo(1);
        assertThat(m.value("dgramd_errors_emitted_total")).isEqualTo(1);
        assertThat(m.value("dgramd_events_dropped_total", "event", "message")).isEqualTo(4);
        assertThat(m.value("dgramd_events_dropped_total", "event", "error")).isZero();
        assertThat(m.value("dgramd_tap_dropped_total")).isZero();
        assertThat(m.value("dgramd_rpc_seconds_count", "method", SEND, "code", "OK")).isEqualTo(3);
        assertThat(m.value("dgramd_rpc_seconds_count", "method", SEND, "code", "INVALID_ARGUMENT")).isEqualTo(1);
        assertThat(m.value("dgramd_rpc_seconds_bucket", "method", SEND, "code", "OK", "le", "+Inf")).isEqualTo(3);
        assertThat(m.value("dgramd_rpc_seconds_bucket", "method", SEND, "code", "OK", "le", "10.0")).isEqualTo(3);
        assertThat(m.value("dgramd_rpc_seconds_sum", "method", SEND, "code", "OK")).isPositive();
        assertThat(m.value("dgramd_rpc_seconds_count", "method", "dgramd.v1.Dgram/Bind", "code", "OK"))
                .isEqualTo(2);
        assertThat(m.value("dgramd_rpc_seconds_count", "method", "dgramd.v1.Dgram/Bind", "code", "ALREADY_EXISTS"))
                .isEqualTo(1);
        assertThat(m.value("dgramd_info", "version", Dgramd.version(), "transport", daemon.transport())).isEqualTo(1);
        assertThat(m.value("process_uptime_seconds")).isPositive();

        for (String id : List.of(a, b, c)) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        }
        Metrics end = scrape();
        assertThat(end.value("dgramd_sockets_open")).isZero();
        assertThat(end.value("dgramd_sockets_closed_total")).isEqualTo(3);
        assertThat(end.value("dgramd_datagrams_sent_total")).as("totals outlive their sockets").isEqualTo(3);
    }

    @Test
    void onlyGetAndHeadOfSlashMetrics() throws Exception {
        URI base = URI.create("http://" + hostPort(daemon.metricsAddress()));
        HttpResponse<String> get = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(get.body()).contains("# TYPE dgramd_sockets_open gauge");
        assertThat(http.send(HttpRequest.newBuilder(base.resolve("/other")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(404);
        assertThat(http.send(HttpRequest.newBuilder(base.resolve("/metrics"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(405);
    }

    @Test
    void metricsAreOffUnlessAsked() throws Exception {
        try (Dgramd plain = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()))) {
            assertThat(plain.metricsAddress()).isNull();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private String create() {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        resources.add(() -> stub().close(CloseRequest.newBuilder().setSocketId(id).build()));
        return id;
    }

    private EventRecorder events(String id) {
        EventRecorder r = EventRecorder.subscribe(async, id);
        resources.add(r);
        return r;
    }

    private DatagramSocket peer() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        resources.add(s);
        return s;
    }

    private static void send(DatagramSocket from, byte[] data, int port) throws Exception {
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }

    private static DatagramPacket receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[65_536], 65_536);
        s.receive(p);
        return p;
    }

    /** Scrapes until {@code series} reaches {@code expected}; fails after the timeout. */
    private static void awaitValue(String series, double expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        double last;
        do {
            last = scrape().value(series);
            if (last == expected) {
                return;
            }
        } while (System.nanoTime() < deadline);
        throw new AssertionError(series + " stayed at " + last + ", expected " + expected);
    }

    private static Metrics scrape() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://" + hostPort(daemon.metricsAddress()) + "/metrics"))
                .timeout(Duration.ofSeconds(TIMEOUT_SECONDS)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(200);
        return Metrics.parse(r.body());
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** Samples of the Prometheus text format: name, labels, value. */
    record Metrics(List<Sample> samples, String text) {
        record Sample(String name, Map<String, String> labels, double value) {}

        static Metrics parse(String text) {
            List<Sample> samples = new ArrayList<>();
            for (String line : text.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int brace = line.indexOf('{');
                int space = line.lastIndexOf(' ');
                String name = brace < 0 ? line.substring(0, space) : line.substring(0, brace);
                Map<String, String> labels = new TreeMap<>();
                if (brace >= 0) {
                    String body = line.substring(brace + 1, line.lastIndexOf('}'));
                    for (String pair : body.split("\",")) {
                        if (pair.isEmpty()) {
                            continue;
                        }
                        int eq = pair.indexOf('=');
                        labels.put(pair.substring(0, eq), pair.substring(eq + 2).replaceAll("\"$", ""));
                    }
                }
                samples.add(new Sample(name, labels, Double.parseDouble(line.substring(space + 1))));
            }
            return new Metrics(samples, text);
        }

        /** The value of the one sample named {@code name} whose labels include {@code labelPairs}. */
        double value(String name, String... labelPairs) {
            List<Sample> matching = new ArrayList<>();
            for (Sample s : samples) {
                boolean match = s.name().equals(name);
                for (int i = 0; match && i < labelPairs.length; i += 2) {
                    match = labelPairs[i + 1].equals(s.labels().get(labelPairs[i]));
                }
                if (match) {
                    matching.add(s);
                }
            }
            assertThat(matching).as("one sample %s %s in%n%s", name, List.of(labelPairs), text).hasSize(1);
            return matching.get(0).value();
        }
    }
}
