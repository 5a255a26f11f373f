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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs Node.js commands (node, npm) for the tests of the Node.js clients, bounded in time. */
final class NodeProcess {
    private NodeProcess() {
    }

    /** What a finished command printed (stdout and stderr merged) and its exit code. */
    record Result(int exitCode, String output) {}

    /**
     * Skips the test when the command is not on the PATH, or fails it when the environment variable
     * CI is set: there a missing Node.js is a failure, so CI cannot pass without running {@code what}.
     */
    static void requireOnPath(String command, String what) {
        String path = System.getenv().getOrDefault("PATH", "");
        boolean found = List.of(path.split(File.pathSeparator)).stream()
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, command))
                .anyMatch(Files::isExecutable);
        if (found) {
            return;
        }
        String message = "'" + command + "' is not on the PATH (" + path + "): cannot run " + what
                + ". Install Node.js 20+ with npm.";
        String ci = System.getenv("CI");
        if (ci != null && !ci.isBlank()) {
            fail("CI is set, so " + what + " must run: " + message);
        }
        Assumptions.abort(message);
    }

    /**
     * Prepares the npm project in {@code dir} for a test: node and npm must be on the PATH (see
     * {@link #requireOnPath}), then {@code npm ci} must succeed within the timeout.
     */
    static void npmCi(Path dir, Duration timeout, String what) throws IOException, InterruptedException {
        requireOnPath("node", what);
        requireOnPath("npm", what);
        Result npm = run(dir, timeout, Map.of(), "npm", "ci", "--no-audit", "--no-fund");
        assertThat(npm.exitCode()).as("exit code of npm ci in %s; output:%n%s", dir, npm.output()).isZero();
    }

    /**
     * Runs a command in {@code dir} with {@code env} added to this process's environment; the test
     * fails if it does not finish within the timeout (the command and its children are killed).
     */
    static Result run(Path dir, Duration timeout, Map<String, String> env, String... command)
            throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(env);
        Process process = builder.start();
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
