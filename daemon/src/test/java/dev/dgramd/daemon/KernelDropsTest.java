package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.StatsRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every datagram lost on the way in is counted, from the kernel to the listener: a socket with the
 * smallest receive buffer gets a burst far larger than it holds, and the datagrams the kernel
 * dropped on it (Linux's own count, from /proc/net/udp) show in Admin.ListSockets, in Admin.Stats,
 * in the Prometheus totals and on the socket's event stream; with what the reader received they
 * add up to what was sent.
 */
class KernelDropsTest {
    static final int BURST = 20_000;
    static final int PAYLOAD = 1_000;
    static final long TIMEOUT_SECONDS = 20;

    private static Dgramd daemon;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll())
                .metrics("127.0.0.1:0"));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @Test
    void kernelDropsAreCountedPerSocketInTotalsAndOnTheEventStream() throws Exception {
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel)
                .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                .setRecvBufferSize(4096).build()).getSocketId();
        try (EventRecorder reader = EventRecorder.subscribe(DgramGrpc.newStub(channel), id)) {
            int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            reader.next(EventCase.LISTENING);
            try (DatagramChannel sender = DatagramChannel.open()) {
                ByteBuffer payload = ByteBuffer.allocateDirect(PAYLOAD);
                InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
                for (int i = 0; i < BURST; i++) {
                    payload.clear();
                    sender.send(payload, to);
                }
            }
            await("the kernel drops datagrams of the burst", () -> procDrops(port), d -> d > 0);
            await("Admin shows the kernel's count", () -> socketInfo(id).getKernelDropped(),
                    d -> d > 0 && d == procDrops(port));
            SocketInfo info = socketInfo(id);
            long kernel = info.getKernelDropped();
            assertThat(AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .stats(StatsRequest.getDefaultInstance()).getKernelDropped()).isGreaterThanOrEqualTo(kernel);
            assertThat(metric("dgramd_datagrams_dropped_total\\{where=\"kernel\"\\}")).isGreaterThanOrEqualTo(kernel);
            assertThat(metric("dgramd_buffered_event_limit_bytes")).isEqualTo(EventBudget.defaultLimit());
            // The event stream tells the same count; with the messages received it makes up the burst.
            long received = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
            while (received + reader.kernelDropped() + reader.dropped() < BURST) {
                var e = reader.poll();
                if (e != null) {
                    received += e.getEventCase() == EventCase.MESSAGE ? 1 : 0;
                } else if (System.nanoTime() > deadline) {
                    fail("received %d, kernel dropped %d (stream told %d), daemon dropped %d of %d", received,
                            kernel, reader.kernelDropped(), reader.dropped(), BURST);
                } else {
                    Thread.onSpinWait();
                }
            }
            assertThat(reader.kernelDropped()).isEqualTo(kernel);
            assertThat(received + reader.kernelDropped() + reader.dropped()).isEqualTo(BURST);
            assertThat(info.getDatagramsReceived()).isEqualTo(BURST - kernel);
        }
    }

    private static SocketInfo socketInfo(String id) {
        return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .filter(s -> s.getSocketId().equals(id)).findFirst().orElseThrow();
    }

    /** Polls {@code value} (each poll a bounded round trip or file read) until {@code done}; fails after the timeout. */
    private static long await(String what, LongSupplier value, java.util.function.LongPredicate done) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            long v = value.getAsLong();
            if (done.test(v)) {
                return v;
            }
            if (System.nanoTime() > deadline) {
                fail("%s: not within %d s (last %d)", what, TIMEOUT_SECONDS, v);
            }
            Thread.onSpinWait();
        }
    }

    /** The drops column of /proc/net/udp for the socket bound to 127.0.0.1:{@code port}. */
    private static long procDrops(int port) {
        String local = String.format("0100007F:%04X", port);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/net/udp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 12 && f[1].equals(local)) {
                    return Long.parseLong(f[f.length - 1]);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no socket on " + local + " in /proc/net/udp");
    }

    private static long metric(String series) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(TIMEOUT_SECONDS)).build();
        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + daemon.metricsAddress().getPort() + "/metrics")).timeout(Duration.ofSeconds(TIMEOUT_SECONDS))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(text);
        assertThat(m.find()).as("%s in%n%s", series, text).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }
}
