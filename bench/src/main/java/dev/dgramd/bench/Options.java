package dev.dgramd.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The bench's command line. */
final class Options {
    static final List<String> ALL_SCENARIOS = List.of("inbound", "outbound", "echo", "control",
            "scale", "cold");

    Set<String> scenarios = new LinkedHashSet<>(ALL_SCENARIOS);
    boolean quick;
    Path out = Path.of("bench", "results");
    String node = "node";
    boolean noNode;
    Path daemonJar;
    /** The java binary of the spawned daemons; null: the bench's own. */
    String daemonJava;
    boolean inProcessDaemon;
    List<Integer> sizes = List.of(64, 1200);
    Path jfr;
    List<String> daemonJvmOptions = new ArrayList<>();
    /** Flags for the spawned daemons, after the bench's own (--listen, --policy). */
    List<String> daemonArgs = new ArrayList<>();
    boolean shippedJvmOptions = true;
    /** Spawned daemons listen on a Unix domain socket instead of 127.0.0.1:0. */
    boolean unixSocket;
    Set<String> coldParts = new LinkedHashSet<>(List.of("in", "out", "gc"));
    int scaleSockets = 10_000;

    static final String USAGE = String.join("\n",
            "usage: java -jar bench/target/dgramd-bench.jar [options]",
            "  --scenarios LIST     comma-separated, of inbound,outbound,echo,control,scale,cold (default all)",
            "  --quick              short trials: a smoke run, not a measurement",
            "  --out DIR            where the JSON results go (default bench/results)",
            "  --sizes LIST         datagram sizes in bytes (default 64,1200)",
            "  --node PATH          the node binary (default: node on the PATH)",
            "  --no-node            skip the Node.js baseline",
            "  --daemon-jar PATH    the daemon jar (default: daemon/target/dgramd.jar above the",
            "                       working directory; else the daemon classes inside this jar)",
            "  --daemon-java PATH   the java binary of the spawned daemons (default: the bench's own;",
            "                       e.g. a JDK 25 daemon, with an AOT cache, beside a JDK 17 client)",
            "  --daemon-jvm-opt OPT a JVM option for the spawned daemons, after the shipped ones (repeatable;",
            "                       a collector given replaces the shipped one)",
            "  --no-shipped-jvm-opts  spawn the daemons without the shipped JVM options",
            "  --unix-socket        spawned daemons listen on a Unix domain socket (in the temporary",
            "                       directory) instead of 127.0.0.1:0, and the clients connect there",
            "  --daemon-arg ARG     a flag for the spawned daemons (repeatable; --daemon-arg=--warm-up=0",
            "                       starts them cold, without their warm-up)",
            "  --cold-parts LIST    the cold scenario's parts, of in,out,gc (default all)",
            "  --in-process-daemon  run the daemon inside the bench JVM (tests; CPU figures merge)",
            "  --scale-sockets N    sockets of the scale scenario (default 10000)",
            "  --jfr DIR            record the daemon and the bench JVM with JFR into DIR",
            "  --jmh [JMH options]  first: run the JMH microbenchmarks instead (--jmh -h: JMH's options)",
            "  --help");

    static Options parse(String... args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--quick" -> o.quick = true;
                case "--no-node" -> o.noNode = true;
                case "--in-process-daemon" -> o.inProcessDaemon = true;
                case "--no-shipped-jvm-opts" -> o.shippedJvmOptions = false;
                case "--unix-socket" -> o.unixSocket = true;
                case "--help", "-h" -> throw new UsageException(null);
                case "--scenarios", "--out", "--sizes", "--node", "--daemon-jar", "--daemon-java", "--daemon-jvm-opt", "--daemon-arg",
                        "--scale-sockets", "--jfr", "--cold-parts" -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException(a + " needs a value");
                        }
                        value = args[++i];
                    }
                    o.set(a, value);
                }
                default -> throw new UsageException("unknown option " + a);
            }
        }
        return o;
    }

    private void set(String option, String value) {
        switch (option) {
            case "--scenarios" -> {
                scenarios = new LinkedHashSet<>();
                for (String s : value.split(",")) {
                    s = s.trim();
                    if (s.isEmpty()) {
                        continue;
                    }
                    if (!ALL_SCENARIOS.contains(s)) {
                        throw new UsageException("unknown scenario " + s + " (known: " + ALL_SCENARIOS + ")");
                    }
                    scenarios.add(s);
                }
            }
            case "--out" -> out = Path.of(value);
            case "--sizes" -> {
                List<Integer> l = new ArrayList<>();
                for (String s : value.split(",")) {
                    int n = Integer.parseInt(s.trim());
                    if (n < 1 || n > NettyUdp.MAX_PAYLOAD) {
                        throw new UsageException("sizes must be 1.." + NettyUdp.MAX_PAYLOAD);
                    }
                    l.add(n);
                }
                sizes = List.copyOf(l);
            }
            case "--node" -> node = value;
            case "--daemon-jar" -> daemonJar = Path.of(value);
            case "--daemon-java" -> daemonJava = value;
            case "--daemon-jvm-opt" -> daemonJvmOptions.add(value);
            case "--daemon-arg" -> daemonArgs.add(value);
            case "--scale-sockets" -> scaleSockets = Integer.parseInt(value);
            case "--jfr" -> jfr = Path.of(value);
            case "--cold-parts" -> {
                coldParts = new LinkedHashSet<>();
                for (String s : value.split(",")) {
                    if (!List.of("in", "out", "gc").contains(s.trim())) {
                        throw new UsageException("unknown cold part " + s + " (known: in, out, gc)");
                    }
                    coldParts.add(s.trim());
                }
            }
            default -> throw new UsageException("unknown option " + option);
        }
    }

    /** A command line that cannot be followed. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
