package dev.dgramd.daemon;

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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * For the tests that drive tools outside the JVM (node, npm, python3, protoc, g++, buf): finding
 * them, and running them with a timeout. A missing tool skips the test with the reason, except when
 * the environment variable CI is set: there it fails it, so CI cannot pass without running it.
 */
final class ExternalTools {
    /** The repository root, from the daemon module's base directory (the working directory of the build). */
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    private ExternalTools() {
    }

    /** The output of a finished command: its exit code, and stdout and stderr merged. */
    record Result(int exitCode, String output) {}

    /** The command's path on the PATH, if it is there. */
    static Optional<Path> onPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "");
        return List.of(path.split(File.pathSeparator)).stream()
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, command))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** Skips the test when the command is not on the PATH, or fails it when CI is set. */
    static void requireOnPath(String command, String what, String install) {
        if (onPath(command).isEmpty()) {
            missing("'" + command + "' is not on the PATH (" + System.getenv().getOrDefault("PATH", "")
                    + "): cannot " + what + ". " + install);
        }
    }

    /** Skips the test with {@code reason}, or fails it when CI is set. */
    static void missing(String reason) {
        String ci = System.getenv("CI");
        if (ci != null && !ci.isBlank()) {
            fail("CI is set, so this must run: " + reason);
        }
        Assumptions.abort(reason);
    }

    /**
     * Prepares the npm project in {@code dir} for a test: node and npm must be on the PATH (see
     * {@link #requireOnPath}), then {@code npm ci} must succeed within the timeout.
     */
    static void npmCi(Path dir, Duration timeout, String what) throws IOException, InterruptedException {
        requireOnPath("node", what, "Install Node.js 20+ with npm.");
        requireOnPath("npm", what, "Install Node.js 20+ with npm.");
        Result npm = run(dir, timeout, "npm", "ci", "--no-audit", "--no-fund");
        org.assertj.core.api.Assertions.assertThat(npm.exitCode())
                .as("exit code of npm ci in %s; output:%n%s", dir, npm.output()).isZero();
    }

    /** Runs a command in {@code dir}, stdout and stderr merged, killed after the timeout (a failure). */
    static Result run(Path dir, Duration timeout, String... command) throws IOException, InterruptedException {
        return run(dir, timeout, Map.of(), command);
    }

    /** As {@link #run(Path, Duration, String...)}, with these environment variables added. */
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
