package dev.dgramd.bench;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A spawned process. Either a peer speaking the line protocol (JSON commands on its stdin, one
 * JSON answer per line on its stdout; stderr goes to a log file), or a daemon whose output all
 * goes to a log file. Closing it ends it: stdin closed, SIGTERM, then SIGKILL, each bounded.
 */
final class Child implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;
    private final BufferedWriter stdin;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private Child(String name, Process process, Path log, boolean protocol) {
        this.name = name;
        this.process = process;
        this.log = log;
        if (protocol) {
            this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(),
                    StandardCharsets.UTF_8));
            Thread reader = new Thread(this::readStdout, "bench-" + name + "-stdout");
            reader.setDaemon(true);
            reader.start();
        } else {
            this.stdin = null;
        }
    }

    /** Starts a line-protocol peer; its stderr goes to {@code log}. */
    static Child peer(String name, List<String> command, Path log) throws IOException {
        return peer(name, command, log, Map.of());
    }

    /** As above, with {@code env} added to the environment. */
    static Child peer(String name, List<String> command, Path log, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return new Child(name, pb.start(), log, true);
    }

    /** Starts a process whose stdout and stderr both go to {@code log}. */
    static Child logged(String name, List<String> command, Path log, Map<String, String> env)
            throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.PIPE);
        pb.environment().putAll(env);
        return new Child(name, pb.start(), log, false);
    }

    /**
     * The command line that raises the open-files limit first (a root shell may; otherwise the
     * limit stays as it is) and then execs {@code command}, keeping the process id.
     */
    static List<String> withOpenFiles(long limit, List<String> command) {
        List<String> out = new java.util.ArrayList<>(List.of("bash", "-c",
                "ulimit -n " + limit + " 2>/dev/null || ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\"",
                "bash"));
        out.addAll(command);
        return out;
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    Path log() {
        return log;
    }

    Cpu.Source cpu() {
        return Cpu.Source.pid(name, pid());
    }

    private void readStdout() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("{")) {
                    lines.add(line);
                } else {
                    Files.writeString(log, line + "\n", StandardCharsets.UTF_8,
                            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /** The next JSON line of the peer's stdout, waiting at most {@code timeout}. */
    Map<String, Object> next(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null) {
                    Map<String, Object> m = Json.parseObject(line);
                    if (m.containsKey("error")) {
                        throw new BenchException(name + " failed: " + m.get("error"));
                    }
                    return m;
                }
                if (!process.isAlive() && lines.isEmpty()) {
                    throw new BenchException(name + " exited with code " + process.exitValue()
                            + "; see " + log + ":\n" + tail());
                }
                if (System.nanoTime() > deadline) {
                    throw new BenchException(name + " did not answer within " + timeout.toMillis()
                            + " ms; see " + log);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted waiting for " + name);
        }
    }

    /** Sends a command and waits, at most {@code timeout}, for its answer. */
    Map<String, Object> request(Map<String, Object> command, Duration timeout) {
        try {
            stdin.write(Json.write(command));
            stdin.write('\n');
            stdin.flush();
        } catch (IOException e) {
            throw new BenchException(name + " does not take commands (" + e + "); see " + log + ":\n"
                    + tail());
        }
        return next(timeout);
    }

    /** The last lines of the log, for error messages. */
    String tail() {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - 15), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log)";
        }
    }

    /** Ends the process: stdin closed, then SIGTERM, then SIGKILL (each bounded), children too. */
    @Override
    public void close() {
        List<ProcessHandle> descendants = process.descendants().toList();
        try {
            if (stdin != null) {
                stdin.close();
            } else {
                process.getOutputStream().close();
            }
        } catch (IOException e) {
            // already gone
        }
        try {
            if (stdin != null && process.waitFor(1, TimeUnit.SECONDS)) {
                return;
            }
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            for (ProcessHandle d : descendants) {
                d.destroyForcibly();
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
