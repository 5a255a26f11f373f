package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Soak (the {@code soak} profile, not {@code mvn verify}): the daemon jar, under the image's JVM
 * flags with {@code -Xmx384m}, and one socket whose reader keeps up; a sender paces
 * {@code soak.count} (100,000) datagrams of {@code soak.size} (1,200) bytes at {@code soak.rate}
 * (13,000) a second at it. The daemon must read every one: the kernel may drop none on the socket's
 * default receive buffer (a receive loop that stalls for milliseconds overflows it). Prints what
 * was sent, received and dropped where, and the CPU and run-queue time of the daemon's event loop
 * threads. {@code soak.warmup} datagrams go first, unmeasured; {@code soak.jvmArgs} adds daemon JVM options (e.g.
 * {@code -Xlog:gc}); the daemon's output is in {@code target/inbound-loss-soak.log}.
 */
@Tag("soak")
class InboundLossSoakIT {
    static final int COUNT = Integer.getInteger("soak.count", 100_000);
    static final int SIZE = Integer.getInteger("soak.size", 1_200);
    static final int RATE = Integer.getInteger("soak.rate", 13_000);
    /** The socket's receive buffer asked at creation (CreateSocketRequest.recv_buffer_size); 0: the daemon's default. */
    static final int RECV_BUFFER = Integer.getInteger("soak.recvBuffer", 0);
    /** Datagrams sent (at the same rate) and read before the measured ones, to warm the daemon's JIT up. */
    static final int WARMUP = Integer.getInteger("soak.warmup", 0);
    static final long TIMEOUT_SECONDS = 60;
    private static final Pattern LISTENING =
            Pattern.compile("dgramd listening on 127\\.0\\.0\\.1:(\\d+) \\(transport epoll\\)");

    @Test
    void theDaemonReadsEveryDatagramAtThirteenThousandASecond() throws Exception {
        Path jar = Path.of("target/dgramd.jar").toAbsolutePath();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+ExitOnOutOfMemoryError", "-Xmx384m"));
        String extra = System.getProperty("soak.jvmArgs", "");
        if (!extra.isBlank()) {
            command.addAll(Arrays.asList(extra.trim().split("\\s+")));
        }
        command.addAll(List.of("-jar", jar.toString(), "--listen", "127.0.0.1:0"));
        Path log = Path.of("target/inbound-loss-soak.log");
        Process daemon = new ProcessBuilder(command).redirectErrorStream(true).start();
        DaemonProcessIT.Output out = DaemonProcessIT.Output.of(daemon);
        ManagedChannel channel = null;
        try {
            Matcher listening = LISTENING.matcher(out.awaitLine(LISTENING, TIMEOUT_SECONDS));
            assertThat(listening.find()).isTrue();
            int grpcPort = Integer.parseInt(listening.group(1));
            channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
            DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                    .setRecvBufferSize(RECV_BUFFER).build()).getSocketId();
            try (EventRecorder reader = EventRecorder.subscribe(DgramGrpc.newStub(channel), id)) {
                int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                        .getAddress().getPort();
                reader.next(EventCase.LISTENING);
                long warmed = 0;
                if (WARMUP > 0) {
                    send(port, WARMUP);
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
                    while (warmed < WARMUP && System.nanoTime() < until) {
                        // wait for the next event a little; when none comes, ask the counters
                        var e = reader.poll(20, TimeUnit.MILLISECONDS);
                        if (e == null) {
                            SocketInfo now = AdminGrpc.newBlockingStub(channel)
                                    .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                                    .listSockets(ListSocketsRequest.getDefaultInstance()).getSockets(0);
                            if (warmed + now.getKernelDropped() + reader.dropped() >= WARMUP) {
                                break;
                            }
                        } else if (e.getEventCase() == EventCase.MESSAGE) {
                            warmed++;
                        }
                    }
                }
                long kernelBefore = AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .listSockets(ListSocketsRequest.getDefaultInstance()).getSockets(0).getKernelDropped();
                long droppedBefore = reader.dropped();
                java.util.Map<String, long[]> schedBefore = schedStats(daemon.pid());
                long start = System.nanoTime();
                send(port, COUNT);
                double seconds = (System.nanoTime() - start) / 1e9;
                java.util.Map<String, long[]> schedAfter = schedStats(daemon.pid());
                StringBuilder sched = new StringBuilder();
                schedAfter.forEach((thread, after) -> {
                    long[] before = schedBefore.getOrDefault(thread, new long[4]);
                    if (thread.contains("loop")) {
                        sched.append(String.format(java.util.Locale.ROOT,
                                "; %s ran %.0f ms (user %d ms, system %d ms), waited for a CPU %.0f ms", thread,
                                (after[0] - before[0]) / 1e6, (after[2] - before[2]) * 10, (after[3] - before[3]) * 10,
                                (after[1] - before[1]) / 1e6));
                    }
                });
                long received = 0;
                SocketInfo info = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
                while (System.nanoTime() < deadline) {
                    for (var e = reader.poll(); e != null; e = reader.poll()) {
                        received += e.getEventCase() == EventCase.MESSAGE ? 1 : 0;
                    }
                    info = AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                            .listSockets(ListSocketsRequest.getDefaultInstance()).getSockets(0);
                    if (received + reader.dropped() - droppedBefore + info.getKernelDropped() - kernelBefore >= COUNT) {
                        break;
                    }
                    // drops are counted, never announced: wait a little for the next event, then ask again
                    var e = reader.poll(50, TimeUnit.MILLISECONDS);
                    received += e != null && e.getEventCase() == EventCase.MESSAGE ? 1 : 0;
                }
                long kernel = info.getKernelDropped() - kernelBefore;
                String report = String.format(java.util.Locale.ROOT, "InboundLossSoakIT: after %d to warm up, sent %d x %d B"
                                + " in %.2f s (%.0f/s); received %d; dropped: kernel %d, daemon %d, listener %d",
                        WARMUP, COUNT, SIZE, seconds, COUNT / seconds, received, kernel,
                        info.getDroppedMessagesBudget(), info.getDroppedMessages() - info.getDroppedMessagesBudget())
                        + sched + String.format(java.util.Locale.ROOT, "; load average %s", Files.readString(
                                Path.of("/proc/loadavg")).trim());
                System.out.println(report);
                Files.writeString(Path.of("target/inbound-loss-soak.txt"), report + "\n");
                assertThat(received + reader.dropped() - droppedBefore + kernel).as(report).isEqualTo(COUNT);
                assertThat(kernel).as(report).isZero();
            }
        } finally {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            daemon.destroy();
            daemon.waitFor(10, TimeUnit.SECONDS);
            Files.writeString(log, out.text());
        }
    }

    /** Sends {@code count} datagrams to {@code port} at {@link #RATE} a second. */
    private static void send(int port, int count) throws java.io.IOException {
        try (DatagramChannel sender = DatagramChannel.open()) {
            ByteBuffer payload = ByteBuffer.allocateDirect(SIZE);
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            long start = System.nanoTime();
            long nanosPer = TimeUnit.SECONDS.toNanos(1) / RATE;
            for (int n = 0; n < count; n++) {
                long early = start + n * nanosPer - System.nanoTime();
                if (early > 0) {
                    LockSupport.parkNanos(early); // pacing the load
                }
                payload.clear();
                sender.send(payload, to);
            }
        }
    }

    /**
     * Per thread of process {@code pid} (by name, tids summed): ns on a CPU, ns runnable but waiting
     * for one (/proc/PID/task/TID/schedstat), and clock ticks in user and system mode (its stat).
     */
    private static java.util.Map<String, long[]> schedStats(long pid) throws java.io.IOException {
        java.util.Map<String, long[]> byName = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String name = Files.readString(task.resolve("comm")).trim();
                    String[] f = Files.readString(task.resolve("schedstat")).trim().split("\\s+");
                    String stat = Files.readString(task.resolve("stat"));
                    String[] t = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long[] sum = byName.computeIfAbsent(name, n -> new long[4]);
                    sum[0] += Long.parseLong(f[0]);
                    sum[1] += Long.parseLong(f[1]);
                    sum[2] += Long.parseLong(t[11]); // utime: field 14, the 12th after the name
                    sum[3] += Long.parseLong(t[12]); // stime
                } catch (java.io.IOException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return byName;
    }
}
