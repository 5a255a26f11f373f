package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.expectError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon at its process's file descriptor limit (issue 15): CreateSocket answers the kernel's
 * EMFILE (RESOURCE_EXHAUSTED, errno -24, syscall "socket") instead of UNKNOWN, and every failed
 * create gives the principal's quota slot back. The daemon is a child JVM whose soft RLIMIT_NOFILE
 * is lowered with {@code prlimit --pid} once it listens, and raised again after.
 */
class FdLimitTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    private static final int QUOTA = 100;
    private static final Pattern LISTENING = Pattern.compile("dgramd listening on 127\\.0\\.0\\.1:(\\d+)");

    private Process daemon;
    private ManagedChannel channel;
    private final StringBuffer output = new StringBuffer();

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.destroyForcibly().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void createAtTheFdLimitAnswersEmfileAndLeaksNoQuotaSlot(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")) || Files.isExecutable(Path.of("/bin/prlimit")),
                "needs prlimit (util-linux)");
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "default:\n  quotas: {maxSockets: " + QUOTA + "}\n");
        int port = startDaemon("--listen", "127.0.0.1:0", "--policy", policy.toString());
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel);
        // Run from class directories, the child opens a file for each class it loads: load those of a
        // refused create now (a daemon run from its jar has the jar open already).
        assertWholeQuotaUsable(stub);

        long[] limit = fdLimit();
        long open = openFds();
        long lowered = open + QUOTA / 2; // the kernel says no well before the quota does
        prlimit(lowered, limit[1]);
        List<String> ids = new ArrayList<>();
        int failures = 0;
        try {
            while (failures < 20) {
                assertThat(ids.size()).as("sockets made under a limit of %d fds", lowered).isLessThan(QUOTA);
                try {
                    ids.add(create(stub));
                } catch (StatusRuntimeException e) {
                    ErrorInfo info = expectError("EMFILE", Status.Code.RESOURCE_EXHAUSTED, () -> {
                        throw e;
                    });
                    assertThat(info.getMetadataMap()).containsEntry("errno", "-24").containsEntry("syscall", "socket")
                            .doesNotContainKey("policy");
                    assertThat(e.getStatus().getDescription()).isEqualTo("socket EMFILE");
                    failures++;
                }
            }
        } finally {
            for (String id : ids) {
                close(stub, id);
            }
            prlimit(limit[0], limit[1]);
        }
        assertThat(ids).as("sockets made before the limit").isNotEmpty();

        assertWholeQuotaUsable(stub); // no failed create kept its slot
        assertThat(output.toString()).doesNotContain("Application error").doesNotContain("SEVERE");
    }

    /** Creates {@value #QUOTA} sockets, checks that one more is refused by the quota, and closes them. */
    private static void assertWholeQuotaUsable(DgramGrpc.DgramBlockingStub stub) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < QUOTA; i++) {
            ids.add(create(stub));
        }
        ErrorInfo quota = expectError("EMFILE", Status.Code.RESOURCE_EXHAUSTED, () -> create(stub));
        assertThat(quota.getMetadataMap()).containsKey("policy");
        for (String id : ids) {
            close(stub, id);
        }
    }

    private int startDaemon(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.dgramd.daemon.cli.DgramdCommand"));
        command.addAll(List.of(args));
        daemon = new ProcessBuilder(command).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    output.append(line).append('\n');
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        listening.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (java.io.IOException e) {
                // the process ended
            }
            listening.completeExceptionally(new AssertionError("the daemon ended before listening:\n" + output));
        }, "daemon-output");
        reader.setDaemon(true);
        reader.start();
        return listening.get(30, TimeUnit.SECONDS);
    }

    private static String create(DgramGrpc.DgramBlockingStub stub) {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
    }

    private static void close(DgramGrpc.DgramBlockingStub stub, String id) {
        stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS).close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    /** The daemon's soft and hard RLIMIT_NOFILE, from /proc. */
    private long[] fdLimit() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(daemon.pid()), "limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
            }
        }
        throw new AssertionError("no 'Max open files' in /proc/" + daemon.pid() + "/limits");
    }

    private long openFds() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(daemon.pid()), "fd"))) {
            return fds.count();
        }
    }

    private void prlimit(long soft, long hard) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(daemon.pid()), "--nofile=" + soft + ":" + hard)
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    }
}
