package dev.dgramd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cold start: a fresh receiver or sender measured from its first datagram, with no warm-up.
 * Node is a fresh {@code node} process; dgramd is a fresh daemon process and a fresh client JVM
 * ({@link ColdClient}) for every trial, the daemon started as {@link Daemon#spawn} starts it (the
 * shipped JVM settings unless {@code --daemon-jvm-opt} changes them).
 *
 * <ul>
 *   <li>{@code cold in}: the peer offers a fixed rate for {@value #WINDOW_MILLIS} ms, from its first
 *       datagram, to a socket that has just been created and bound and counts its 'message'
 *       events; the figure is the highest offered rate with at most 0.1% loss, each trial on fresh
 *       processes (a bounded search).
 *   <li>{@code cold out}: a fresh sender's send loop for {@value #WINDOW_MILLIS} ms from its first
 *       send, honouring its backpressure; the figure is what the peer's sink counted over the time
 *       from the first send to the last completion.
 *   <li>{@code cold gc}: the longest GC pause of a fresh daemon while its one socket receives
 *       {@value #GC_RATE} datagrams/s for {@value #GC_MILLIS} ms, from the daemon's
 *       {@code -Xlog:gc*,safepoint} log (the longest safepoint, whatever its cause, beside it).
 *   <li>{@code cold start}: from starting the process to the socket bound (dgramd: the daemon to
 *       its "listening" line, then the client JVM to its socket's 'listening').
 * </ul>
 */
final class Cold {
    static final long WINDOW_MILLIS = 3_000;
    static final double GC_RATE = 200_000;
    static final long GC_MILLIS = 5_000;
    private static final int MAX_TRIALS = 5;
    private static int seq;

    private Cold() {}

    /** A fresh receiver (or sender) and what started it. */
    private interface Fresh extends AutoCloseable {
        Child control();

        /** Seconds from the first process's start to the socket bound. */
        double startSeconds();

        List<Cpu.Source> cpu();

        @Override
        void close();
    }

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        Child peer = env.peer();
        int size = env.options().sizes.get(0);
        long window = env.quick() ? 500 : WINDOW_MILLIS;
        double genMax = env.generatorMax(size);
        System.err.printf(Locale.ROOT, "  cold: generator's own maximum at %d B: %.0f/s%n", size, genMax);
        List<String> impls = new ArrayList<>();
        if (env.hasNode()) {
            impls.add("node");
        }
        impls.add("dgramd");
        Map<String, Double> starts = new LinkedHashMap<>();
        java.util.Set<String> parts = env.options().coldParts;
        if (parts.contains("in")) {
            for (String impl : impls) {
                rows.add(inbound(env, peer, impl, size, window, genMax, starts));
            }
        }
        if (parts.contains("out")) {
            int sinkPort = ((Number) peer.request(Json.obj("cmd", "sink", "rcvbuf", Env.RCVBUF),
                    Duration.ofSeconds(10)).get("port")).intValue();
            for (String impl : impls) {
                rows.add(outbound(env, peer, impl, size, window, sinkPort));
            }
        }
        for (Map.Entry<String, Double> e : starts.entrySet()) {
            rows.add(new Row("cold start", "-", e.getKey(), e.getValue(), "s", true, Map.of())
                    .detail("what", e.getKey().equals("node")
                            ? "node recv.js started to its socket bound (fastest trial)"
                            : "daemon started to 'listening', plus client JVM started to its socket bound"
                                    + " (fastest trial)"));
        }
        if (parts.contains("gc")) {
            rows.add(gc(env, peer, size));
        }
        return rows;
    }

    private static Fresh receiver(Env env, String impl) throws IOException {
        int n = ++seq;
        long t0 = System.nanoTime();
        if (impl.equals("node")) {
            Map<String, Object>[] ready = Env.holder();
            Child c = env.nodePeer("cold-node-recv-" + n, "recv.js", ready, Integer.toString(Env.RCVBUF));
            double start = (System.nanoTime() - t0) / 1e9;
            int port = ((Number) ready[0].get("port")).intValue();
            return fresh(env, c, null, start, port);
        }
        Daemon d = env.cleanup().add(env.startDaemon("cold-daemon-" + n, 0, List.of()));
        try {
            double daemonStart = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            Child c = coldClient(env, d, "cold-client-" + n);
            Map<String, Object> r = c.request(Json.obj("cmd", "recv", "rcvbuf", Env.RCVBUF),
                    Duration.ofSeconds(30));
            double start = daemonStart + (System.nanoTime() - t1) / 1e9;
            return fresh(env, c, d, start, ((Number) r.get("port")).intValue());
        } catch (RuntimeException | IOException e) {
            env.cleanup().closeNow(d);
            throw e;
        }
    }

    private static Child coldClient(Env env, Daemon d, String name) throws IOException {
        Child c = env.track(Child.peer(name, List.of(env.java(), "-cp", env.classPath(),
                ColdClient.class.getName(), d.target()), env.logFile(name)));
        c.next(Duration.ofSeconds(30));
        return c;
    }

    private static Fresh fresh(Env env, Child c, Daemon d, double start, int port) {
        return new Fresh() {
            @Override
            public Child control() {
                return c;
            }

            @Override
            public double startSeconds() {
                return start;
            }

            @Override
            public List<Cpu.Source> cpu() {
                List<Cpu.Source> l = new ArrayList<>();
                if (d != null && d.cpu() != null) {
                    l.add(d.cpu());
                }
                l.add(Cpu.Source.pid(d == null ? "node" : "client", c.pid()));
                return l;
            }

            @Override
            public void close() {
                env.cleanup().closeNow(c);
                if (d != null) {
                    env.cleanup().closeNow(d);
                }
            }

            @Override
            public String toString() {
                return Integer.toString(port);
            }
        };
    }

    private static long count(Child c) {
        return ((Number) c.request(Json.obj("cmd", "count"), Duration.ofSeconds(10)).get("count")).longValue();
    }

    private static Inbound.Trial trial(Env env, Child peer, String impl, int size, double rate, long window,
            Map<String, Double> starts) throws IOException {
        try (Fresh f = receiver(env, impl)) {
            starts.merge(impl, f.startSeconds(), Math::min);
            int port = Integer.parseInt(f.toString());
            List<Cpu.Source> sources = new ArrayList<>(f.cpu());
            sources.add(peer.cpu());
            Cpu cpu = Cpu.start(sources);
            Map<String, Object> res = peer.request(Json.obj("cmd", "blast", "port", port, "size", size,
                    "rate", rate, "durationMs", window), Duration.ofMillis(window + 30_000));
            long sent = ((Number) res.get("sent")).longValue();
            long elapsed = ((Number) res.get("elapsedNs")).longValue();
            long received = Inbound.settle(() -> count(f.control()), 3000);
            Inbound.Trial t = new Inbound.Trial(rate, sent, elapsed, received, cpu.stop());
            Object dropped = impl.equals("node") ? null : f.control().request(Json.obj("cmd", "count"),
                    Duration.ofSeconds(10)).get("droppedByDaemon");
            System.err.printf(Locale.ROOT, "  cold in %5dB %-7s target %9s offered %9.0f/s received %9d of %9d"
                    + " loss %7.3f%% %s (fresh, bound %.2f s after start%s)%n", size, impl,
                    rate > 0 ? String.format(Locale.ROOT, "%.0f", rate) : "max", t.offered(), received, sent,
                    t.loss() * 100, t.pass() ? "pass" : "FAIL", f.startSeconds(),
                    dropped == null ? "" : String.format(Locale.ROOT, "; %.0f dropped by the daemon, the rest"
                            + " by the kernel", ((Number) dropped).doubleValue()));
            return t;
        }
    }

    /** The search of {@link Inbound#search}, each trial on fresh processes, fewer trials. */
    private static Row inbound(Env env, Child peer, String impl, int size, long window, double genMax,
            Map<String, Double> starts) throws IOException {
        int maxTrials = env.quick() ? 2 : MAX_TRIALS;
        List<Map<String, Object>> log = new ArrayList<>();
        ZeroLossSearch.Result found = ZeroLossSearch.run(rate -> {
            Inbound.Trial t = trial(env, peer, impl, size, rate, window, starts);
            log.add(t.json());
            return t;
        }, maxTrials, 1.06);
        Inbound.Trial best = found.best();
        boolean generatorBound = found.generatorBound();
        double figure = best == null ? 0 : best.offered();
        Map<String, Double> cpu = new LinkedHashMap<>();
        if (best != null) {
            Cpu.perMillion(best.cpuSeconds(), best.received())
                    .forEach((k, v) -> cpu.put(k.equals("peer") ? "peer(gen)" : k, v));
        }
        Row row = new Row("cold in", Integer.toString(size), impl, figure, "dgram/s", false, cpu)
                .detail("maxLossPercent", Inbound.MAX_LOSS * 100).detail("windowMillis", window)
                .detail("generatorMaxRate", Math.round(genMax)).detail("trials", log);
        if (generatorBound) {
            row.lowerBound = true;
            row.detail("note", "no loss at the generator's own maximum rate: the figure is a lower bound");
        } else if (best == null) {
            double lowest = Double.MAX_VALUE;
            for (Map<String, Object> t : log) {
                Object offered = t.get("offeredRate");
                if (offered instanceof Number o && o.doubleValue() > 0) {
                    lowest = Math.min(lowest, o.doubleValue());
                }
            }
            String note = String.format(java.util.Locale.ROOT, "no trial passed in %d: every rate tried, down to %.0f/s,"
                    + " lost more than %.1f%%", log.size(), lowest, Inbound.MAX_LOSS * 100);
            row.detail("note", note);
            System.err.println("  cold in " + impl + ": " + note);
        }
        return row;
    }

    private static Row outbound(Env env, Child peer, String impl, int size, long window, int sinkPort)
            throws IOException {
        int n = ++seq;
        long t0 = System.nanoTime();
        Child c;
        Daemon d = null;
        if (impl.equals("node")) {
            Map<String, Object>[] ready = Env.holder();
            c = env.nodePeer("cold-node-send-" + n, "send.js", ready);
        } else {
            d = env.cleanup().add(env.startDaemon("cold-daemon-" + n, 0, List.of()));
            c = coldClient(env, d, "cold-client-" + n);
        }
        double start = (System.nanoTime() - t0) / 1e9;
        try {
            peer.request(Json.obj("cmd", "reset"), Duration.ofSeconds(10));
            List<Cpu.Source> sources = new ArrayList<>();
            if (d != null && d.cpu() != null) {
                sources.add(d.cpu());
            }
            sources.add(Cpu.Source.pid(d == null ? "node" : "client", c.pid()));
            sources.add(peer.cpu());
            Cpu cpu = Cpu.start(sources);
            Map<String, Object> r = c.request(impl.equals("node")
                    ? Json.obj("cmd", "send", "port", sinkPort, "size", size, "count", 1e12,
                            "inflight", Outbound.NODE_IN_FLIGHT, "durationMs", window)
                    : Json.obj("cmd", "send", "port", sinkPort, "size", size, "durationMs", window),
                    Duration.ofMillis(window + 90_000));
            long sent = ((Number) r.get("sent")).longValue();
            long errors = ((Number) r.get("errors")).longValue();
            long elapsed = ((Number) r.get("elapsedNs")).longValue();
            long delivered = Inbound.settle(() -> ((Number) peer.request(Json.obj("cmd", "count"),
                    Duration.ofSeconds(10)).get("count")).longValue(), 3000);
            Map<String, Double> seconds = cpu.stop();
            double rate = delivered * 1e9 / elapsed;
            System.err.printf(Locale.ROOT, "  cold out %5dB %-7s sent %d (errors %d) in %.2f s, delivered %d:"
                    + " %.0f/s (fresh, ready %.2f s after start)%n", size, impl, sent, errors, elapsed / 1e9,
                    delivered, rate, start);
            Map<String, Double> perM = new LinkedHashMap<>();
            Cpu.perMillion(seconds, sent).forEach((k, v) -> perM.put(k.equals("peer") ? "peer(sink)" : k, v));
            return new Row("cold out", Integer.toString(size), impl, rate, "dgram/s", false, perM)
                    .detail("windowMillis", window).detail("sent", sent).detail("errors", errors)
                    .detail("delivered", delivered).detail("seconds", elapsed / 1e9)
                    .detail("firstError", String.valueOf(r.get("firstError")));
        } finally {
            env.cleanup().closeNow(c);
            if (d != null) {
                env.cleanup().closeNow(d);
            }
        }
    }

    private static final Pattern GC_PAUSE = Pattern.compile("GC\\((\\d+)\\) (Pause [^\\[]*?) (\\d+(?:\\.\\d+)?)ms\\s*$");
    private static final Pattern UPTIME = Pattern.compile("^\\[(\\d+(?:\\.\\d+)?)s\\]");
    private static final Pattern SAFEPOINT = Pattern.compile(
            "Safepoint \"([^\"]+)\".*Total: (\\d+) ns");

    /** GC pauses (ms) and safepoints (ns) in a unified JVM log. */
    record GcLog(List<Double> pausesMs, List<String> pauseNames, List<Long> safepointsNs,
            List<String> safepointNames) {
        /** The pauses and safepoints logged between JVM uptimes {@code fromS} and {@code toS}. */
        static GcLog parse(List<String> lines, double fromS, double toS) {
            GcLog g = new GcLog(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (String line : lines) {
                Matcher u = UPTIME.matcher(line);
                if (u.find()) {
                    double t = Double.parseDouble(u.group(1));
                    if (t < fromS || t > toS) {
                        continue;
                    }
                }
                Matcher m = GC_PAUSE.matcher(line);
                if (m.find() && seen.add(m.group(1) + " " + m.group(2))) {
                    g.pausesMs.add(Double.parseDouble(m.group(3)));
                    g.pauseNames.add(m.group(2).trim());
                    continue;
                }
                Matcher s = SAFEPOINT.matcher(line);
                if (s.find()) {
                    g.safepointsNs.add(Long.parseLong(s.group(2)));
                    g.safepointNames.add(s.group(1));
                }
            }
            return g;
        }

        double maxPauseMs() {
            return pausesMs.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        }

        String longestPause() {
            int i = pausesMs.indexOf(maxPauseMs());
            return i < 0 ? "" : pauseNames.get(i);
        }

        double maxSafepointMs() {
            return safepointsNs.stream().mapToLong(Long::longValue).max().orElse(0) / 1e6;
        }

        String longestSafepoint() {
            long max = safepointsNs.stream().mapToLong(Long::longValue).max().orElse(-1);
            int i = safepointsNs.indexOf(max);
            return i < 0 ? "" : safepointNames.get(i);
        }
    }

    private static Row gc(Env env, Child peer, int size) throws IOException {
        int n = ++seq;
        String name = "cold-gc-daemon-" + n;
        Path gcLog = env.logs().resolve(name + ".gc.log");
        long millis = env.quick() ? 1_000 : GC_MILLIS;
        Daemon d = env.cleanup().add(env.startDaemon(name, 0,
                List.of("-Xlog:gc*,safepoint:file=" + gcLog + ":uptime,tags")));
        long sent;
        long received;
        double fromS;
        double toS;
        try {
            Child c = coldClient(env, d, "cold-gc-client-" + n);
            try {
                int port = ((Number) c.request(Json.obj("cmd", "recv", "rcvbuf", Env.RCVBUF),
                        Duration.ofSeconds(30)).get("port")).intValue();
                fromS = uptime(d);
                Map<String, Object> res = peer.request(Json.obj("cmd", "blast", "port", port, "size", size,
                        "rate", GC_RATE, "durationMs", millis), Duration.ofMillis(millis + 30_000));
                sent = ((Number) res.get("sent")).longValue();
                toS = uptime(d);
                received = Inbound.settle(() -> count(c), 3000);
            } finally {
                env.cleanup().closeNow(c);
            }
        } finally {
            env.cleanup().closeNow(d);
        }
        if (!d.spawned()) {
            Row r = new Row("cold gc", Integer.toString(size), "dgramd", 0, "ms", true, Map.of());
            return r.detail("note", "in-process daemon: no GC log of its own");
        }
        List<String> lines = Files.exists(gcLog) ? Files.readAllLines(gcLog, StandardCharsets.UTF_8) : List.of();
        // the pauses while the datagrams came (the daemon's uptime is measured from its process's
        // start, a little before its JVM's: a margin on each side)
        GcLog g = GcLog.parse(lines, fromS - 0.2, toS + 0.2);
        GcLog all = GcLog.parse(lines, 0, Double.MAX_VALUE);
        System.err.printf(Locale.ROOT, "  cold gc %5dB dgramd %.0f/s for %d ms: received %d of %d; %d GC pause(s),"
                + " longest %.3f ms (%s); %d safepoint(s), longest %.3f ms (%s); log %s%n", size, GC_RATE, millis,
                received, sent, g.pausesMs().size(), g.maxPauseMs(), g.longestPause(), g.safepointsNs().size(),
                g.maxSafepointMs(), g.longestSafepoint(), gcLog);
        return new Row("cold gc", Integer.toString(size), "dgramd", g.maxPauseMs(), "ms", true, Map.of())
                .detail("rate", GC_RATE).detail("millis", millis).detail("sent", sent).detail("received", received)
                .detail("gcPauses", g.pausesMs().size()).detail("longestGcPause", g.longestPause())
                .detail("gcPausesMs", g.pausesMs()).detail("safepoints", g.safepointsNs().size())
                .detail("longestSafepointMs", g.maxSafepointMs()).detail("longestSafepoint", g.longestSafepoint())
                .detail("pausesSinceStart", all.pausesMs().size()).detail("longestPauseSinceStartMs", all.maxPauseMs())
                .detail("windowUptimeSeconds", List.of(fromS, toS))
                .detail("jvmOptions", d.jvmOptions()).detail("gcLog", gcLog.toString());
    }

    /** Seconds since the daemon's process started (0 in-process). */
    private static double uptime(Daemon d) {
        if (!d.spawned()) {
            return 0;
        }
        return ProcessHandle.of(d.pid()).flatMap(h -> h.info().startInstant())
                .map(i -> Duration.between(i, java.time.Instant.now()).toNanos() / 1e9).orElse(0.0);
    }
}
