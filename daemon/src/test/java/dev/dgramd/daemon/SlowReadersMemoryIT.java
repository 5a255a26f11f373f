package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.StatsRequest;
import dev.dgramd.proto.v1.StatsResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 15, item 1: the daemon, run as deployed (the JVM flags of {@code docker/Dockerfile}'s
 * ENTRYPOINT, {@code -XX:+ExitOnOutOfMemoryError} among them) with a heap of {@value #HEAP}, must
 * outlive slow readers. One unauthenticated client makes {@value #STALLED} sockets whose Events
 * streams it never reads (manual flow control, nothing requested) and {@value #NO_STREAM} sockets
 * with no Events stream at all; one sender aims {@value #PAYLOAD}-byte datagrams at them, round
 * robin, at {@value #RATE}/s for {@value #FLOOD_SECONDS} s. Before the daemon-wide event budget,
 * each socket kept up to 4 MiB (1 GiB in all here) and the daemon died of OutOfMemoryError within a
 * second or two.
 *
 * <p>Then: the process is alive and serves (a new socket receives a datagram), the Admin API shows
 * the buffered bytes within the ceiling and the datagrams the daemon dropped; and on SIGTERM every
 * stalled stream, once its reader reads, gets 'close' and completes (issue 15, item 5: the queued
 * messages ahead of 'close' are dropped, so it goes out at once), and the daemon exits 0.
 */
class SlowReadersMemoryIT {
    static final String HEAP = "-Xmx128m";
    static final int STALLED = 150;
    static final int NO_STREAM = 50;
    static final int PAYLOAD = 60_000;
    static final int RATE = 4_000;
    static final int FLOOD_SECONDS = 3;
    static final long TIMEOUT_SECONDS = 30;
    private static final Pattern LISTENING =
            Pattern.compile("dgramd listening on 127\\.0\\.0\\.1:(\\d+) \\(transport epoll\\)");

    private Process daemon;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (ManagedChannel c : channels) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.destroyForcibly();
        }
    }

    @Test
    void survivesAFloodOnStalledReadersAndStillSendsCloseOnSigterm() throws Exception {
        daemon = start();
        DaemonProcessIT.Output out = DaemonProcessIT.Output.of(daemon);
        Matcher m = LISTENING.matcher(out.awaitLine(LISTENING, TIMEOUT_SECONDS));
        assertThat(m.find()).isTrue();
        int grpcPort = Integer.parseInt(m.group(1));
        ManagedChannel control = channel(grpcPort, NettyChannelBuilder.forAddress("127.0.0.1", grpcPort));
        // A fixed window, so that what this JVM takes in ahead of readers that read nothing is small.
        ManagedChannel slow = channel(grpcPort, NettyChannelBuilder.forAddress("127.0.0.1", grpcPort)
                .flowControlWindow(65_536));
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(control);
        DgramGrpc.DgramStub slowAsync = DgramGrpc.newStub(slow);

        List<EventRecorder> stalled = new ArrayList<>();
        int[] ports = new int[STALLED + NO_STREAM];
        for (int i = 0; i < ports.length; i++) {
            String id = deadline(stub).createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            if (i < STALLED) {
                stalled.add(EventRecorder.subscribe(slowAsync, id, true)); // requests nothing
            }
            ports[i] = deadline(stub).bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
        }

        long sent = flood(ports);
        assertThat(daemon.isAlive()).as("the daemon is alive after the flood; output:%n%s", out.text()).isTrue();

        // The daemon still serves: a new socket with a reader gets a datagram.
        String fresh = deadline(stub).createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
        try (EventRecorder reader = EventRecorder.subscribe(DgramGrpc.newStub(control), fresh);
             DatagramChannel peer = DatagramChannel.open()) {
            int port = deadline(stub).bind(BindRequest.newBuilder().setSocketId(fresh).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            reader.next(EventCase.LISTENING);
            peer.send(ByteBuffer.wrap("still serving".getBytes(StandardCharsets.US_ASCII)),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            assertThat(reader.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("still serving");
        }

        AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(control)
                .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        StatsResponse stats = admin.stats(StatsRequest.getDefaultInstance());
        List<SocketInfo> sockets = AdminGrpc.newBlockingStub(control).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList();
        long buffered = sockets.stream().mapToLong(SocketInfo::getBufferedEventBytes).sum();
        String report = "sent " + sent + " datagrams of " + PAYLOAD + " B; daemon: received "
                + stats.getDatagramsReceived() + ", dropped " + stats.getDroppedMessages() + " (budget "
                + stats.getDroppedMessagesBudget() + "), kernel dropped " + stats.getKernelDropped() + ", buffered "
                + stats.getBufferedEventBytes() + " of " + stats.getBufferedEventBytesLimit() + " B";
        System.out.println("SlowReadersMemoryIT: " + report);
        assertThat(stats.getBufferedEventBytesLimit()).as(report).isLessThanOrEqualTo(128L << 20 >> 2);
        assertThat(stats.getBufferedEventBytes()).as(report).isLessThanOrEqualTo(stats.getBufferedEventBytesLimit());
        assertThat(buffered).as(report).isLessThanOrEqualTo(stats.getBufferedEventBytesLimit());
        // The daemon took in far more than its ceiling, and dropped what it could not keep.
        assertThat(stats.getBytesReceived()).as(report).isGreaterThan(4 * stats.getBufferedEventBytesLimit());
        assertThat(stats.getDroppedMessages()).as(report).isPositive();
        assertThat(sockets.stream().filter(s -> s.getDroppedMessages() > 0).count())
                .as("sockets that dropped messages, with and without a stream: " + report)
                .isGreaterThan(STALLED / 2 + NO_STREAM / 2);

        // SIGTERM while every stalled reader is still behind; then they read: each gets 'close'.
        assertThat(daemon.toHandle().destroy()).isTrue();
        out.awaitLine(Pattern.compile("dgramd stopping"), TIMEOUT_SECONDS);
        for (EventRecorder r : stalled) {
            r.request(Integer.MAX_VALUE);
        }
        long dropped = 0;
        for (EventRecorder r : stalled) {
            SocketEventsUntilClose.drain(r);
            r.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS); // completed, not cancelled
            dropped += r.dropped();
        }
        assertThat(dropped).as("the readers were told of the drops").isPositive();
        assertThat(daemon.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(daemon.exitValue()).as("exit status; output:%n%s", out.text()).isZero();
        assertThat(out.text()).doesNotContain("OutOfMemoryError");
    }

    /** The flood, paced to {@link #RATE} a second; returns how many datagrams were sent. */
    private long flood(int[] ports) throws IOException {
        long n = 0;
        try (DatagramChannel sender = DatagramChannel.open()) {
            sender.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            ByteBuffer payload = ByteBuffer.allocateDirect(PAYLOAD);
            long start = System.nanoTime();
            long total = (long) RATE * FLOOD_SECONDS;
            long nanosPerDatagram = TimeUnit.SECONDS.toNanos(1) / RATE;
            for (; n < total && daemon.isAlive(); n++) {
                long due = start + n * nanosPerDatagram;
                long early = due - System.nanoTime();
                if (early > 0) {
                    LockSupport.parkNanos(early); // pacing the load, not waiting for an event
                }
                payload.clear();
                sender.send(payload, new InetSocketAddress(InetAddress.getLoopbackAddress(),
                        ports[(int) (n % ports.length)]));
            }
        }
        return n;
    }

    private static DgramGrpc.DgramBlockingStub deadline(DgramGrpc.DgramBlockingStub stub) {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private ManagedChannel channel(int port, NettyChannelBuilder builder) {
        ManagedChannel c = builder.usePlaintext().build();
        channels.add(c);
        return c;
    }

    /**
     * The daemon jar under the JVM flags of the image's ENTRYPOINT, with a fixed small heap in place
     * of the image's {@code -XX:MaxRAMPercentage}.
     */
    private static Process start() throws IOException {
        Path jar = Path.of("target/dgramd.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            fail("%s is missing: run this test after package (mvn verify)", jar);
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> flags = imageJvmFlags();
        assertThat(flags).as("the image's JVM flags").contains("-XX:+ExitOnOutOfMemoryError");
        for (String flag : flags) {
            if (!flag.startsWith("-XX:MaxRAMPercentage")) {
                command.add(flag);
            }
        }
        command.add(HEAP);
        command.addAll(List.of("-jar", jar.toString(), "--listen", "127.0.0.1:0"));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** The JVM options of docker/Dockerfile's ENTRYPOINT (between "java" and "-jar"). */
    private static List<String> imageJvmFlags() throws IOException {
        Path dockerfile = Path.of("..", "docker", "Dockerfile");
        for (String line : Files.readAllLines(dockerfile)) {
            if (line.startsWith("ENTRYPOINT")) {
                List<String> flags = new ArrayList<>();
                Matcher q = Pattern.compile("\"([^\"]*)\"").matcher(line);
                while (q.find()) {
                    flags.add(q.group(1));
                }
                return flags.subList(1, flags.indexOf("-jar"));
            }
        }
        throw new AssertionError("no ENTRYPOINT in " + dockerfile);
    }

    /** Reads a stream's events up to its 'close'. */
    private static final class SocketEventsUntilClose {
        static void drain(EventRecorder r) throws InterruptedException {
            while (r.next().getEventCase() != EventCase.CLOSE) {
                // messages that were already on their way when the daemon began to stop
            }
        }
    }
}
