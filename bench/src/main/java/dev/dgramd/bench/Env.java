package dev.dgramd.bench;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.DgramClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the scenarios share: options, paths, the cleanup stack, and the long-lived helpers started
 * on first use (the Java peer, the in-process Netty loops, the daemon and its client).
 */
final class Env implements AutoCloseable {
    /** SO_RCVBUF of every receiver (bounded by net.core.rmem_max). */
    static final int RCVBUF = 4 << 20;
    static final int SNDBUF = 4 << 20;
    private static final List<String> NODE_SCRIPTS = List.of("lines.js", "recv.js", "send.js",
            "echo-server.js", "echo-client.js", "control.js", "scale.js");

    private final Options options;
    private final Cleanup cleanup = new Cleanup();
    private final String javaBin;
    private final String classPath;
    private final Path daemonJar;
    private final String node; // null: no Node baseline
    private final String nodeVersion;
    private final Path dropIn; // node/, the node:dgram drop-in, with its dependencies installed; or null
    private final Path logs;
    private final List<Child> children = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Path scripts;
    private Child peer;
    private boolean peerGso;
    private NettyUdp netty;
    private Daemon daemon;
    private DgramClient client;
    private DgramClient loopClient;

    Env(Options options, String stamp) throws IOException {
        this.options = options;
        this.javaBin = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cp = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            cp.add(Path.of(e).toAbsolutePath().toString());
        }
        this.classPath = String.join(java.io.File.pathSeparator, cp);
        this.daemonJar = options.inProcessDaemon ? null : findDaemonJar(options.daemonJar);
        String[] n = options.noNode ? null : probeNode(options.node);
        this.node = n == null ? null : n[0];
        this.nodeVersion = n == null ? null : n[1];
        this.dropIn = n == null ? null : findDropIn();
        this.logs = options.out.resolve("logs").resolve(stamp).toAbsolutePath();
        Files.createDirectories(logs);
        if (options.jfr != null) {
            Files.createDirectories(options.jfr);
        }
    }

    Options options() {
        return options;
    }

    boolean quick() {
        return options.quick;
    }

    Cleanup cleanup() {
        return cleanup;
    }

    String java() {
        return javaBin;
    }

    /** The java binary of the spawned daemons: {@code --daemon-java}, else this JVM's. */
    String daemonJava() {
        return options.daemonJava != null ? options.daemonJava : javaBin;
    }

    String classPath() {
        return classPath;
    }

    Path daemonJar() {
        return daemonJar;
    }

    boolean hasNode() {
        return node != null;
    }

    String nodeVersion() {
        return nodeVersion;
    }

    Path logs() {
        return logs;
    }

    Path logFile(String name) {
        return logs.resolve(name + ".log");
    }

    /** The daemon jar: the option, else daemon/target/dgramd.jar in the working directory or above. */
    /**
     * Whether the Node.js drop-in (node/, with {@code npm ci} done) is there: its rows run the Node
     * baseline's own scripts with node:dgram redirected to it, against the shared daemon.
     */
    boolean hasDropIn() {
        return dropIn != null;
    }

    /**
     * The Node peer of implementation {@code impl}: "node" (Node's own sockets) or "dgramd-node"
     * (the same script on the drop-in); with the CPU sources that serve it (the drop-in's daemon too).
     */
    Child nodeImplPeer(String impl, String name, String script, Map<String, Object>[] ready, String... args)
            throws IOException {
        return impl.equals("node") ? nodePeer(name, script, ready, args) : dropInPeer(name, script, ready, args);
    }

    /** CPU sources of a Node peer of {@code impl} (see {@link #nodeImplPeer}). */
    List<Cpu.Source> nodeImplCpu(String impl, Child c) throws IOException {
        List<Cpu.Source> sources = new ArrayList<>(List.of(Cpu.Source.pid(impl, c.pid())));
        if (!impl.equals("node") && daemon().cpu() != null) {
            sources.add(daemon().cpu());
        }
        return sources;
    }

    /** node/ above the working directory, if its dependencies are installed. */
    private static Path findDropIn() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path pkg = dir.resolve("node");
            if (Files.isRegularFile(pkg.resolve("test/redirect.js"))
                    && Files.isDirectory(pkg.resolve("node_modules/@grpc/grpc-js"))) {
                return pkg;
            }
        }
        return null;
    }

    /**
     * A Node peer running {@code script} on the drop-in: {@code node --require node/test/redirect.js},
     * so the script's node:dgram sockets live in the shared daemon.
     */
    Child dropInPeer(String name, String script, Map<String, Object>[] ready, String... args)
            throws IOException {
        if (dropIn == null) {
            throw new BenchException("no Node.js drop-in (node/ with npm ci done)");
        }
        List<String> cmd = new ArrayList<>(List.of(node, "--require", dropIn.resolve("test/redirect.js").toString(),
                scripts().resolve(script).toString()));
        cmd.addAll(List.of(args));
        Child c = track(Child.peer(name, cmd, logFile(name), Map.of("DGRAMD_TARGET", daemon().target())));
        ready[0] = c.next(Duration.ofSeconds(20));
        return c;
    }

    private static Path findDaemonJar(Path option) {
        if (option != null) {
            if (!Files.isRegularFile(option)) {
                throw new BenchException("no daemon jar at " + option);
            }
            return option.toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path jar = dir.resolve("daemon/target/dgramd.jar");
            if (Files.isRegularFile(jar)) {
                return jar;
            }
        }
        return null; // the daemon classes of the bench's own class path will do
    }

    /** [binary, version] of a working node, or null. */
    static String[] probeNode(String binary) {
        try {
            Process p = new ProcessBuilder(binary, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && v.startsWith("v")) {
                return new String[] {binary, v};
            }
            p.destroyForcibly();
        } catch (IOException e) {
            // not there
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    /** Starts a Node peer ({@code bench/node/SCRIPT}) and waits for its first line. */
    Child nodePeer(String name, String script, Map<String, Object>[] ready, String... args)
            throws IOException {
        return nodePeer(name, script, ready, 0, args);
    }

    /** As above, with the open-files limit raised to {@code openFiles} (0: as it is). */
    Child nodePeer(String name, String script, Map<String, Object>[] ready, long openFiles,
            String... args) throws IOException {
        if (node == null) {
            throw new BenchException("no node binary");
        }
        List<String> cmd = new ArrayList<>(List.of(node, scripts().resolve(script).toString()));
        cmd.addAll(List.of(args));
        Child c = track(Child.peer(name, openFiles > 0 ? Child.withOpenFiles(openFiles, cmd)
                : cmd, logFile(name)));
        ready[0] = c.next(Duration.ofSeconds(20));
        return c;
    }

    /** Registers a spawned process: ended by the cleanup, its CPU counted as the bench's. */
    Child track(Child c) {
        children.add(c);
        return cleanup.add(c);
    }

    /** The process ids of the bench's live children. */
    List<Long> livePids() {
        List<Long> pids = new ArrayList<>();
        for (Child c : children) {
            if (c.alive()) {
                pids.add(c.pid());
            }
        }
        return pids;
    }

    /** A reading of the machine's and the bench's CPU use. */
    Machine.Reading cpuReading() {
        return Machine.Reading.now(livePids());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object>[] holder() {
        return new Map[1];
    }

    private Path scripts() throws IOException {
        if (scripts == null) {
            Path dir = Files.createTempDirectory("dgramd-bench-node");
            cleanup.add(() -> {
                for (String s : NODE_SCRIPTS) {
                    Files.deleteIfExists(dir.resolve(s));
                }
                Files.deleteIfExists(dir);
            });
            for (String s : NODE_SCRIPTS) {
                try (InputStream in = Env.class.getResourceAsStream("node/" + s)) {
                    if (in == null) {
                        throw new BenchException("node script " + s + " missing from the bench's class path");
                    }
                    Files.copy(in, dir.resolve(s), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            scripts = dir;
        }
        return scripts;
    }

    /** The Java peer process (load generator and sink), started and warmed up on first use. */
    Child peer() throws IOException {
        if (peer == null) {
            List<String> cmd = List.of(javaBin, "-Xms256m", "-Xmx256m", "-XX:+UseParallelGC", "-cp",
                    classPath, Peer.class.getName(), Integer.toString(SNDBUF));
            peer = track(Child.peer("peer", cmd, logFile("peer")));
            peerGso = Boolean.TRUE.equals(peer.next(Duration.ofSeconds(20)).get("gso"));
            // warm its JIT up: a short flat-out blast into its own sink
            long port = ((Number) peer.request(Json.obj("cmd", "sink", "rcvbuf", RCVBUF),
                    Duration.ofSeconds(10)).get("port")).longValue();
            peer.request(Json.obj("cmd", "blast", "port", port, "size", 64, "rate", 0,
                    "durationMs", quick() ? 200 : 1000), Duration.ofSeconds(30));
        }
        return peer;
    }

    /** Whether the peer's blasts are UDP GSO sends (the kernel has UDP_SEGMENT). */
    boolean peerGso() {
        return peerGso;
    }

    /** Netty event loops inside the bench JVM (the reference implementation). */
    NettyUdp netty() {
        if (netty == null) {
            netty = cleanup.add(new NettyUdp(2));
        }
        return netty;
    }

    /** The daemon shared by inbound, outbound, echo and control, started on first use. */
    Daemon daemon() throws IOException {
        if (daemon == null) {
            daemon = cleanup.add(startDaemon("daemon", 0));
        }
        return daemon;
    }

    /** A new daemon: spawned (the default) or in-process (--in-process-daemon). */
    Daemon startDaemon(String name, long openFiles) throws IOException {
        return startDaemon(name, openFiles, List.of());
    }

    /**
     * As above, the spawned daemon's JVM given {@code extraJvmOptions} after the shipped ones
     * ({@link Daemon#jvmOptions(List, boolean)}) and those of --daemon-jvm-opt.
     */
    Daemon startDaemon(String name, long openFiles, List<String> extraJvmOptions) throws IOException {
        if (options.inProcessDaemon) {
            return Daemon.inProcess();
        }
        List<String> jvm = new ArrayList<>(options.daemonJvmOptions);
        jvm.addAll(extraJvmOptions);
        if (options.jfr != null) {
            jvm.add("-XX:StartFlightRecording=filename="
                    + options.jfr.toAbsolutePath().resolve(name + ".jfr")
                    + ",settings=profile,dumponexit=true");
        }
        return Daemon.spawn(this, name, Daemon.jvmOptions(jvm, options.shippedJvmOptions),
                openFiles > 0 ? openFiles : 65_536);
    }

    private final Map<String, Double> generatorMax = new java.util.LinkedHashMap<>();

    /**
     * The Java peer's own maximum offered rate of {@code size}-byte datagrams, as the scenarios'
     * blasts send them (GSO where the kernel has it): a flat-out blast into a sink of its own (1 s;
     * 0.2 s with --quick), measured once per size; without GSO too, for the record.
     */
    double generatorMax(int size) throws IOException {
        Double known = generatorMax.get(size + " B");
        if (known != null) {
            return known;
        }
        Child p = peer();
        long port = ((Number) p.request(Json.obj("cmd", "sink", "rcvbuf", RCVBUF),
                Duration.ofSeconds(10)).get("port")).longValue();
        for (boolean gso : new boolean[] {false, true}) {
            Map<String, Object> r = p.request(Json.obj("cmd", "blast", "port", port, "size", size, "rate", 0,
                    "durationMs", quick() ? 200 : 1000, "gso", gso), Duration.ofSeconds(30));
            double rate = ((Number) r.get("sent")).doubleValue() * 1e9 / ((Number) r.get("elapsedNs")).doubleValue();
            generatorMax.put(size + (gso ? " B" : " B without GSO"), rate);
        }
        return generatorMax.get(size + " B");
    }

    /** The generator maxima measured so far, by datagram size ("64 B", "64 B without GSO"). */
    Map<String, Double> generatorMaxima() {
        return Map.copyOf(generatorMax);
    }

    /**
     * A second client of the shared daemon, whose listeners run on its transport's event loop
     * ({@code ClientOptions.listenersOnEventLoop}): the rows named {@code dgramd-loop}.
     */
    DgramClient loopClient() throws IOException {
        if (loopClient == null) {
            DgramClient c = DgramClient.connect(new ClientOptions().target(daemon().target()).listenersOnEventLoop(true));
            loopClient = cleanup.add(c);
        }
        return loopClient;
    }

    /** The client of the shared daemon. */
    DgramClient client() throws IOException {
        if (client == null) {
            DgramClient c = DgramClient.connect(new ClientOptions().target(daemon().target()));
            client = cleanup.add(c);
        }
        return client;
    }

    /** What a daemon-and-client row measures: {@code daemon}'s CPU when it is known, then this JVM's. */
    List<Cpu.Source> daemonAndSelf(Daemon daemon) {
        List<Cpu.Source> sources = new ArrayList<>();
        if (daemon.cpu() != null) {
            sources.add(daemon.cpu());
        }
        sources.add(self());
        return sources;
    }

    /** CPU source of the bench JVM; named to show what it shares with. */
    Cpu.Source self() {
        return Cpu.Source.self(options.inProcessDaemon ? "bench+daemon" : "bench");
    }

    /** Waits {@code millis}, uninterruptibly unless interrupted. */
    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        }
    }

    @Override
    public void close() {
        cleanup.close();
    }
}
