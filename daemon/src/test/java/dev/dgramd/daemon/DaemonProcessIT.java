package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The real {@code dgramd} command, from the shaded jar built by {@code package}: start-up log line,
 * graceful stop on SIGTERM, and the command line.
 */
class DaemonProcessIT {
    private static final long START_SECONDS = 30;
    private static final long STOP_SECONDS = 10;
    private static final Pattern LISTENING =
            Pattern.compile("dgramd listening on 127\\.0\\.0\\.1:(\\d+) \\(transport epoll\\)");

    private final List<Process> processes = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private ManagedChannel channel;

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable r : resources) {
            r.close();
        }
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (Process p : processes) {
            p.destroyForcibly();
        }
    }

    @Test
    void sigtermClosesEverySocketAndExitsZero() throws Exception {
        Process daemon = start("--listen", "127.0.0.1:0");
        Output out = Output.of(daemon);
        String line = out.awaitLine(LISTENING, START_SECONDS);
        Matcher m = LISTENING.matcher(line);
        assertThat(m.find()).isTrue();
        // the jar's own logging set-up (LogConfigurator: no logback.xml), in its text format
        assertThat(line).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO  \\[main\\] "
                + "dev\\.dgramd\\.daemon\\.Dgramd - dgramd listening on .*");
        int grpcPort = Integer.parseInt(m.group(1));

        channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel)
                .withDeadlineAfter(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        DgramGrpc.DgramStub async = DgramGrpc.newStub(channel);

        List<EventRecorder> events = new ArrayList<>();
        List<Integer> udpPorts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            EventRecorder recorder = EventRecorder.subscribe(async, id);
            resources.add(recorder);
            int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            assertThat(recorder.next(EventCase.LISTENING).getListening().getAddress().getPort()).isEqualTo(port);
            events.add(recorder);
            udpPorts.add(port);
        }
        // The process really serves UDP: a datagram to the first socket arrives as 'message'.
        try (DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            byte[] data = "hello dgramd".getBytes(StandardCharsets.UTF_8);
            peer.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), udpPorts.get(0)));
        }
        assertThat(events.get(0).next(EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                .isEqualTo("hello dgramd");

        // SIGTERM, as Process.destroy() sends on Linux; through the handle, which (unlike
        // Process.destroy()) leaves the output pipe open, so the shutdown log can still be read.
        assertThat(daemon.toHandle().destroy()).isTrue();

        for (EventRecorder recorder : events) {
            recorder.next(EventCase.CLOSE);
            recorder.done().get(STOP_SECONDS, TimeUnit.SECONDS); // completed, not failed
        }
        assertThat(daemon.waitFor(STOP_SECONDS, TimeUnit.SECONDS)).as("exited within %d s", STOP_SECONDS).isTrue();
        assertThat(daemon.exitValue()).as("exit status; output:%n%s", out.text()).isZero();
        out.awaitEnd(STOP_SECONDS);
        assertThat(out.text()).contains("closing 3 socket(s)").contains("dgramd stopped");
        for (int port : udpPorts) {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
                assertThat(s.getLocalPort()).isEqualTo(port); // the daemon's port is free again
            }
        }
    }

    @Test
    void aNewProcessTakesTheSocketsOverAndTheOldOneExitsZero() throws Exception {
        Path dir = Files.createTempDirectory("dgramd-handover");
        Path handOver = dir.resolve("handover.sock");
        try {
            Process first = start("--listen", "127.0.0.1:0", "--hand-over-socket", handOver.toString());
            Output firstOut = Output.of(first);
            Matcher m = LISTENING.matcher(firstOut.awaitLine(LISTENING, START_SECONDS));
            assertThat(m.find()).isTrue();
            int grpcPort = Integer.parseInt(m.group(1));
            channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
            DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            EventRecorder recorder = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
            resources.add(recorder);
            int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            recorder.next(EventCase.LISTENING);

            Process second = start("--listen", "127.0.0.1:" + grpcPort, "--take-over", handOver.toString(),
                    "--hand-over-socket", handOver.toString());
            Output secondOut = Output.of(second);
            secondOut.awaitLine(LISTENING, START_SECONDS);
            assertThat(first.waitFor(STOP_SECONDS, TimeUnit.SECONDS)).as("the old process exits").isTrue();
            assertThat(first.exitValue()).as("exit status; output:%n%s", firstOut.text()).isZero();
            firstOut.awaitEnd(STOP_SECONDS);
            assertThat(firstOut.text()).contains("its sockets live on in the new process")
                    .doesNotContain("closing 1 socket(s)");
            assertThatThrownBy(() -> recorder.done().get(STOP_SECONDS, TimeUnit.SECONDS)).cause()
                    .satisfies(t -> assertThat(DaemonTestBase.errorInfo(t).getReason()).isEqualTo("ERR_DGRAMD_RESTARTING"));

            // The same socket, in the new process at the same address: a datagram sent now arrives.
            try (DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                byte[] data = "after the restart".getBytes(StandardCharsets.UTF_8);
                peer.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
            }
            EventRecorder again = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
            resources.add(again);
            assertThat(again.announcedId()).isEqualTo(id);
            assertThat(again.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("after the restart");
            assertThat(secondOut.text()).contains("took over 1 of 1 socket(s)");

            assertThat(second.toHandle().destroy()).isTrue(); // SIGTERM: this one closes its sockets
            again.next(EventCase.CLOSE);
            assertThat(second.waitFor(STOP_SECONDS, TimeUnit.SECONDS)).isTrue();
            assertThat(second.exitValue()).as(secondOut.text()).isZero();
        } finally {
            Files.deleteIfExists(handOver);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void helpListsEveryOptionAndExitsZero() throws Exception {
        Process p = start("--help");
        Output out = Output.of(p);
        assertThat(p.waitFor(START_SECONDS, TimeUnit.SECONDS)).isTrue();
        out.awaitEnd(STOP_SECONDS);
        assertThat(p.exitValue()).as(out.text()).isZero();
        assertThat(out.text()).contains("Usage: dgramd", "--listen", "--event-loop-threads", "--transport",
                "--max-queued-event-bytes", "--max-message-bytes", "--hand-over-socket", "--take-over");
    }

    @Test
    void malformedListenAddressExitsNonZeroWithAClearMessage() throws Exception {
        Process p = start("--listen", "nonsense");
        Output out = Output.of(p);
        assertThat(p.waitFor(START_SECONDS, TimeUnit.SECONDS)).isTrue();
        out.awaitEnd(STOP_SECONDS);
        assertThat(p.exitValue()).as(out.text()).isNotZero();
        assertThat(out.text()).contains("listen address must be HOST:PORT, got 'nonsense'")
                .doesNotContain("Exception")
                .doesNotContain("dgramd listening");
    }

    // ---------------------------------------------------------------- helpers

    private Process start(String... args) throws IOException {
        Path jar = Path.of("target/dgramd.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            fail("%s is missing: run this test after package (mvn verify)", jar);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        processes.add(p);
        return p;
    }

    /** A process's output (stdout and stderr), read by a thread: its lines as they come, and all of it. */
    static final class Output {
        private static final String END = "\u0000end";
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer text = new StringBuffer();
        private final CompletableFuture<Void> ended = new CompletableFuture<>();

        static Output of(Process p) {
            Output out = new Output();
            Thread t = new Thread(() -> out.read(p), "dgramd-output");
            t.setDaemon(true);
            t.start();
            return out;
        }

        private void read(Process p) {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    text.append(line).append('\n');
                    lines.add(line);
                }
            } catch (IOException e) {
                text.append("[reading the output failed: ").append(e).append("]\n");
            } finally {
                lines.add(END);
                ended.complete(null);
            }
        }

        /** The first line (from here on) that matches {@code pattern}; fails after {@code seconds}. */
        String awaitLine(Pattern pattern, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null || line.equals(END)) {
                    fail("no line matching '%s' within %d s; output:%n%s", pattern, seconds, text);
                }
                if (pattern.matcher(line).find()) {
                    return line;
                }
            }
        }

        void awaitEnd(long seconds) throws Exception {
            ended.get(seconds, TimeUnit.SECONDS);
        }

        String text() {
            return text.toString();
        }
    }
}
