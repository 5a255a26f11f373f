package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Runs examples/node/demo.js, a client written from dgramd.proto alone, against an in-process daemon:
 * {@code npm ci}, then {@code node demo.js HOST:PORT}, which must exit 0 and print "demo ok".
 *
 * <p>Without node or npm on the PATH the test is skipped, except when the environment variable CI is
 * set: there a missing Node.js is a failure, so CI cannot pass without running the example.
 */
class NodeExampleIT {
    /** The example, from the daemon module's base directory (the working directory of the build). */
    private static final Path EXAMPLE = Path.of("..", "examples", "node").toAbsolutePath().normalize();
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration NODE_TIMEOUT = Duration.ofSeconds(30);

    @Test
    void demoRunsEndToEnd() throws Exception {
        assertThat(EXAMPLE.resolve("demo.js")).as("the Node.js example").isRegularFile();
        requireOnPath("node");
        requireOnPath("npm");

        Result npm = run(NPM_TIMEOUT, "npm", "ci", "--no-audit", "--no-fund");
        assertThat(npm.exitCode).as("exit code of npm ci in %s; output:%n%s", EXAMPLE, npm.output).isZero();

        // The built-in default policy, as the compose sidecar runs the example: a Node user's first
        // multicast program works on a daemon started with no flags.
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) {
            Result demo = run(NODE_TIMEOUT, "node", "demo.js", daemon.target());
            System.out.println("node demo.js " + daemon.target() + ":\n" + demo.output);
            assertThat(demo.exitCode).as("exit code of node demo.js; output:%n%s", demo.output).isZero();
            assertThat(demo.output).as("output of node demo.js").contains("demo ok");
            assertThat(daemon.openSockets()).as("sockets left open by the demo").isZero();
        }
    }

    /** Skips the test when the command is not on the PATH, or fails it when CI is set. */
    private static void requireOnPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "");
        boolean found = List.of(path.split(File.pathSeparator)).stream()
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, command))
                .anyMatch(Files::isExecutable);
        if (found) {
            return;
        }
        String message = "'" + command + "' is not on the PATH (" + path + "): cannot run the Node.js example "
                + EXAMPLE + ". Install Node.js 20+ with npm.";
        String ci = System.getenv("CI");
        if (ci != null && !ci.isBlank()) {
            fail("CI is set, so the Node.js example must run: " + message);
        }
        Assumptions.abort(message);
    }

    private record Result(int exitCode, String output) {}

    /** Runs a command in the example's directory, stdout and stderr merged, killed after the timeout. */
    private static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command)
                .directory(EXAMPLE.toFile())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(process.getInputStream(), output), "output of " + command[0]);
        reader.setDaemon(true);
        reader.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            reader.join(TimeUnit.SECONDS.toMillis(5));
            fail(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s; output:\n"
                    + text(output));
        }
        reader.join(TimeUnit.SECONDS.toMillis(10));
        return new Result(process.exitValue(), text(output));
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buffer = new byte[8192];
        try (in) {
            for (int n; (n = in.read(buffer)) != -1; ) {
                synchronized (out) {
                    out.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // the process was killed: keep what was read
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
