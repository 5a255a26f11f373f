package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.daemon.policy.Policy;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A client whose host vanished (issue 15): the client JVM runs in a network namespace of its own,
 * joined to the daemon's by a veth pair; its link goes down, then it is killed with SIGKILL, so no
 * FIN or RST ever reaches the daemon. The daemon's keepalive pings go unanswered, it drops the
 * connection, and the client's sockets are reaped after the orphan grace. The keepalive values are
 * short here (1 s + 1 s) so the test takes seconds. Without root (network namespaces) it is skipped,
 * except with CI=true, where it fails.
 */
class VanishedClientIT {
    private static final String NS = "dgramd-ka-" + ProcessHandle.current().pid();
    private static final String ROOT_END = "dgka" + ProcessHandle.current().pid() % 100_000;
    private static final String HOST = "10.78.0.1";
    private static final String CLIENT = "10.78.0.2";
    private static final Duration KEEPALIVE = Duration.ofSeconds(1);
    private static final Duration GRACE = Duration.ofSeconds(1);
    private static final long TIMEOUT_SECONDS = 15;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        run("ip", "netns", "del", NS);
        run("ip", "link", "del", ROOT_END);
    }

    @Test
    void socketsOfAClientWhoseLinkWentDownAndWhichWasKilledAreReaped() throws Exception {
        makeNetwork();
        Dgramd daemon = Dgramd.start(new DgramdOptions().listen(HOST + ":0").insecure(true).policy(Policy.allowAll())
                .keepAliveTime(KEEPALIVE).keepAliveTimeout(KEEPALIVE).orphanGrace(GRACE));
        resources.add(daemon);
        ManagedChannel channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        resources.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));

        OrphanClientMain.Child child = OrphanClientMain.launch(List.of("ip", "netns", "exec", NS), daemon.target());
        resources.add(child.process()::destroyForcibly);
        assertThat(child.ids()).as("sockets the child made").hasSize(3);
        List<CompletableFuture<Void>> closed = new ArrayList<>();
        for (String id : child.ids()) {
            closed.add(DaemonTestBase.tapUntilClose(channel, id));
        }

        ip("-n", NS, "link", "set", "eth0", "down"); // the host vanishes: nothing it sends gets out
        child.process().destroyForcibly(); // kill -9: its kernel's FIN would not get out either
        assertThat(child.process().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("child exited").isTrue();

        // keepalive time + timeout + grace is 3 s; TCP alone would hold the connection for minutes.
        // Each tap ends when its socket closes.
        CompletableFuture.allOf(closed.toArray(CompletableFuture[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** The namespace {@link #NS} with {@value #CLIENT} on a veth pair whose root end is {@value #HOST}. */
    private static void makeNetwork() throws Exception {
        String missing = whatIsMissing();
        if (missing != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("CI=true, so this test must run, but it lacks " + missing);
            }
            Assumptions.abort("needs a network namespace; missing: " + missing);
        }
        run("ip", "netns", "del", NS);
        ip("netns", "add", NS);
        ip("link", "add", "name", ROOT_END, "type", "veth", "peer", "name", "eth0", "netns", NS);
        ip("addr", "add", HOST + "/24", "dev", ROOT_END);
        ip("link", "set", ROOT_END, "up");
        ip("-n", NS, "addr", "add", CLIENT + "/24", "dev", "eth0");
        ip("-n", NS, "link", "set", "eth0", "up");
        ip("-n", NS, "link", "set", "lo", "up");
    }

    /** What this machine lacks to make the namespace, or null. */
    private static String whatIsMissing() throws Exception {
        if (!new File("/proc/self/ns/net").exists()) {
            return "Linux network namespaces";
        }
        String probe = NS + "-probe";
        String made = run("ip", "netns", "add", probe);
        run("ip", "netns", "del", probe);
        return made == null ? null : "permission to run 'ip netns add' (root): " + made;
    }

    private static void ip(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        String failure = run(command.toArray(String[]::new));
        if (failure != null) {
            throw new AssertionError(String.join(" ", command) + ": " + failure);
        }
    }

    /** Runs a short command; null when it succeeded, else its output (or why it could not run). */
    private static String run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                    new File("/dev/null"))).start();
        } catch (java.io.IOException e) {
            return e.getMessage();
        }
        CompletableFuture<byte[]> output = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (java.io.IOException e) {
                return new byte[0];
            }
        });
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        String text = new String(output.get(TIMEOUT_SECONDS, TimeUnit.SECONDS), StandardCharsets.UTF_8).trim();
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + text;
    }
}
