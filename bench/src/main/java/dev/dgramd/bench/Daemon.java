package dev.dgramd.bench;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.cli.JvmSettings;
import dev.dgramd.daemon.policy.Policy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A dgramd daemon for the bench: a separate process (the real setting) or in-process (tests). */
final class Daemon implements AutoCloseable {
    /** The daemon's "listening" line: the address (host:port or unix:path) and the transport. */
    private static final Pattern LISTENING =
            Pattern.compile("dgramd listening on (unix:\\S+|\\S+:\\d+) \\(transport (\\w+)\\)");
    private static final AtomicInteger UNIX_SOCKETS = new AtomicInteger();

    private final String target;
    private final String transport;
    private final Child child; // null when in-process
    private final Dgramd inProcess; // null when spawned
    private final List<String> jvmOptions;

    private Daemon(String target, String transport, Child child, Dgramd inProcess, List<String> jvmOptions) {
        this.target = target;
        this.transport = transport;
        this.child = child;
        this.inProcess = inProcess;
        this.jvmOptions = jvmOptions;
    }

    /**
     * The JVM options of a spawned daemon: the shipped ones ({@link JvmSettings#OPTIONS}, what
     * the launcher, the README's command and the container image give the daemon) unless
     * {@code shipped} is false, then {@code given} (later options win; a collector among
     * {@code given} replaces the shipped one).
     */
    static List<String> jvmOptions(List<String> given, boolean shipped) {
        List<String> out = new ArrayList<>();
        if (shipped) {
            boolean gc = given.stream().anyMatch(JvmSettings::selectsCollector);
            for (String o : JvmSettings.OPTIONS) {
                if (!(gc && JvmSettings.selectsCollector(o))) {
                    out.add(o);
                }
            }
        }
        out.addAll(given);
        return List.copyOf(out);
    }

    /** The spawned daemon's JVM options (empty in-process). */
    List<String> jvmOptions() {
        return jvmOptions;
    }

    private static final int BENCH_MAX_SOCKETS = 100_000;

    /** What a spawned daemon listens on: 127.0.0.1:0, or with --unix-socket a new socket file's path. */
    private static String listenAddress(Env env) {
        if (!env.options().unixSocket) {
            return "127.0.0.1:0";
        }
        return "unix:" + Path.of(System.getProperty("java.io.tmpdir"), "dgramd-bench-" + ProcessHandle.current().pid()
                + "-" + UNIX_SOCKETS.incrementAndGet() + ".sock");
    }

    /**
     * Spawns {@code java [jvmOptions] -jar daemonJar --listen 127.0.0.1:0} ({@code java}: {@link
     * Env#daemonJava}; with {@code --unix-socket}, a Unix domain socket in the temporary directory
     * instead of 127.0.0.1:0; without a jar, the daemon's main class from the bench's own class
     * path) and a policy that lifts the socket
     * quota to {@value #BENCH_MAX_SOCKETS}, with the open-files limit raised
     * to {@code openFiles}, and waits (bounded) for its "dgramd listening on" line.
     */
    static Daemon spawn(Env env, String name, List<String> jvmOptions, long openFiles)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(env.daemonJava());
        cmd.addAll(jvmOptions);
        if (env.daemonJar() != null) {
            cmd.add("-jar");
            cmd.add(env.daemonJar().toString());
        } else {
            cmd.add("-cp");
            cmd.add(env.classPath());
            cmd.add("dev.dgramd.daemon.cli.DgramdCommand");
        }
        cmd.add("--listen");
        cmd.add(listenAddress(env));
        // The default policy caps a principal at 1,024 sockets; the scale scenario holds 10,000.
        Path policy = env.logFile(name + "-policy").resolveSibling(name + "-policy.yaml");
        Files.writeString(policy, "default:\n  quotas: {maxSockets: " + BENCH_MAX_SOCKETS + "}\n",
                StandardCharsets.UTF_8);
        cmd.add("--policy");
        cmd.add(policy.toString());
        cmd.addAll(env.options().daemonArgs);
        Path log = env.logFile(name);
        Child child = env.track(Child.logged(name, Child.withOpenFiles(openFiles, cmd), log,
                Map.of("DGRAMD_LOG_LEVEL", "INFO")));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher m = LISTENING.matcher(text);
            if (m.find()) {
                return new Daemon(m.group(1), m.group(2), child, null, List.copyOf(jvmOptions));
            }
            if (!child.alive()) {
                throw new BenchException("the daemon exited before listening; see " + log + ":\n"
                        + child.tail());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BenchException("interrupted waiting for the daemon");
            }
        }
        throw new BenchException("the daemon did not log 'dgramd listening on' within 30 s; see "
                + log);
    }

    /** Starts a daemon inside the bench JVM (for tests): its CPU is the bench's. */
    static Daemon inProcess() throws IOException {
        Dgramd d = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        return new Daemon(d.target(), d.transport(), null, d, List.of());
    }

    /** {@code HOST:PORT} for the client. */
    String target() {
        return target;
    }

    String transport() {
        return transport;
    }

    boolean spawned() {
        return child != null;
    }

    /** The daemon's process id (the bench's own when in-process). */
    long pid() {
        return child != null ? child.pid() : ProcessHandle.current().pid();
    }

    /** CPU of the daemon process; null when in-process (it shares the bench's). */
    Cpu.Source cpu() {
        return child != null ? Cpu.Source.pid("daemon", child.pid()) : null;
    }

    @Override
    public void close() {
        if (child != null) {
            child.close();
        }
        if (inProcess != null) {
            inProcess.close();
        }
    }

    @Override
    public String toString() {
        return "dgramd at " + target + (child != null ? " (pid " + child.pid() + ")" : " (in-process)");
    }
}
