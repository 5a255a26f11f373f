package dev.dgramd.bench;

import dev.dgramd.client.Socket;
import dev.dgramd.client.SocketOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Inbound zero-loss throughput, RFC 2544 style: the peer offers a fixed rate for a trial; the
 * figure is the highest offered rate that a receiver takes with at most 0.1% loss, found by a
 * bounded search. Receivers: a Node dgram socket, a dgramd socket read through the Java client,
 * and a plain Netty epoll channel inside the bench JVM (the ceiling). Each receiver first gets
 * an unmeasured warm-up ({@value #WARMUP_MILLIS} ms at 20,000/s) so that JIT compilation is
 * mostly over before the trials. Every receiver's socket has SO_RCVBUF {@link Env#RCVBUF}.
 */
final class Inbound {
    static final double MAX_LOSS = 0.001;
    /** The unmeasured warm-up before each receiver's search: this long at this rate. */
    static final long WARMUP_MILLIS = 4_000;
    static final double WARMUP_RATE = 20_000;

    private Inbound() {}

    /** A receiver under test. */
    interface Receiver extends AutoCloseable {
        String impl();

        int port();

        /** Datagrams counted since the last reset. */
        long count();

        void reset();

        /** The processes that do its work. */
        List<Cpu.Source> cpu();

        /** Extra facts for the results file. */
        default Map<String, Object> details() {
            return Map.of();
        }

        @Override
        void close();
    }

    /** One trial at one offered rate. */
    record Trial(double target, long sent, long elapsedNanos, long received,
            Map<String, Double> cpuSeconds) {
        double offered() {
            return sent * 1e9 / elapsedNanos;
        }

        double loss() {
            return sent == 0 ? 1 : Math.max(0, (sent - received) / (double) sent);
        }

        boolean pass() {
            return sent > 0 && loss() <= MAX_LOSS;
        }

        Map<String, Object> json() {
            return Json.obj("targetRate", target > 0 ? Math.round(target) : "max",
                    "offeredRate", Math.round(offered()), "sent", sent, "received", received,
                    "lossPercent", Math.round(loss() * 1e5) / 1e3, "pass", pass());
        }
    }

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        Child peer = env.peer();
        for (int size : env.options().sizes) {
            double genMax = env.generatorMax(size);
            System.err.printf(java.util.Locale.ROOT, "  inbound: the generator's own maximum at %d B: %.0f/s%n",
                    size, genMax);
            List<String> impls = new ArrayList<>();
            if (env.hasNode()) {
                impls.add("node");
            }
            impls.add("dgramd");
            impls.add("dgramd-loop");
            if (env.hasDropIn()) {
                impls.add("dgramd-node");
            }
            impls.add("netty");
            for (String impl : impls) {
                try (Receiver r = open(env, impl, size)) {
                    rows.add(search(env, peer, r, size).detail("generatorMaxRate", Math.round(genMax))
                            .detail("generatorGso", env.peerGso()));
                }
            }
        }
        return rows;
    }

    static Receiver open(Env env, String impl, int size) throws IOException {
        switch (impl) {
            case "node", "dgramd-node" -> {
                Map<String, Object>[] ready = Env.holder();
                Child c = env.nodeImplPeer(impl, impl + "-recv-" + size, "recv.js", ready, Integer.toString(Env.RCVBUF));
                int port = ((Number) ready[0].get("port")).intValue();
                List<Cpu.Source> cpu = env.nodeImplCpu(impl, c);
                return new Receiver() {
                    @Override
                    public String impl() {
                        return impl;
                    }

                    @Override
                    public int port() {
                        return port;
                    }

                    @Override
                    public long count() {
                        return ((Number) c.request(Json.obj("cmd", "count"), Duration.ofSeconds(10))
                                .get("count")).longValue();
                    }

                    @Override
                    public void reset() {
                        c.request(Json.obj("cmd", "reset"), Duration.ofSeconds(10));
                    }

                    @Override
                    public List<Cpu.Source> cpu() {
                        return cpu;
                    }

                    @Override
                    public void close() {
                        env.cleanup().closeNow(c);
                    }
                };
            }
            case "dgramd", "dgramd-loop" -> {
                Daemon daemon = env.daemon();
                AtomicLong counter = new AtomicLong();
                Socket s = (impl.equals("dgramd") ? env.client() : env.loopClient()).createSocket(new SocketOptions().type("udp4")
                        .recvBufferSize(Env.RCVBUF), (msg, rinfo) -> counter.incrementAndGet());
                s.on("error", e -> System.err.println("inbound dgramd socket error: " + e));
                int port = bind(s);
                return new Receiver() {
                    private long base;

                    @Override
                    public String impl() {
                        return impl;
                    }

                    @Override
                    public int port() {
                        return port;
                    }

                    @Override
                    public long count() {
                        return counter.get() - base;
                    }

                    @Override
                    public void reset() {
                        base = counter.get();
                    }

                    @Override
                    public List<Cpu.Source> cpu() {
                        List<Cpu.Source> l = new ArrayList<>();
                        if (daemon.cpu() != null) {
                            l.add(daemon.cpu());
                        }
                        l.add(env.self());
                        return l;
                    }

                    @Override
                    public Map<String, Object> details() {
                        return Map.of("droppedByDaemonInAllTrials", s.droppedMessages());
                    }

                    @Override
                    public void close() {
                        System.err.printf("  (dgramd socket: %d message(s) dropped by the daemon in all)%n",
                                s.droppedMessages());
                        closeAndWait(s);
                    }
                };
            }
            case "netty" -> {
                NettyUdp.Receiver nr = env.netty().receiver(Env.RCVBUF);
                return new Receiver() {
                    @Override
                    public String impl() {
                        return "netty";
                    }

                    @Override
                    public int port() {
                        return nr.port();
                    }

                    @Override
                    public long count() {
                        return nr.count();
                    }

                    @Override
                    public void reset() {
                        nr.reset();
                    }

                    @Override
                    public List<Cpu.Source> cpu() {
                        return List.of(env.self());
                    }

                    @Override
                    public void close() {
                        nr.close();
                    }
                };
            }
            default -> throw new IllegalArgumentException(impl);
        }
    }

    /** Binds {@code s} to 127.0.0.1 (any port), waiting for 'listening' (bounded); its port. */
    static int bind(Socket s) {
        CompletableFuture<Void> listening = new CompletableFuture<>();
        s.once("error", e -> listening.completeExceptionally(e));
        s.bind(0, "127.0.0.1", () -> listening.complete(null));
        try {
            listening.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new BenchException("a dgramd socket did not bind: " + e, e);
        }
        return s.address().port();
    }

    /** Closes {@code s} and waits (bounded) for its 'close'. */
    static void closeAndWait(Socket s) {
        try {
            s.closeAsync().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("a dgramd socket did not close in 10 s: " + e);
        }
    }

    /**
     * The search: a first trial flat out (the generator's own limit); then, below it, guesses led
     * by the rate the receiver managed, then bisection, within a bounded number of trials.
     */
    static Row search(Env env, Child peer, Receiver r, int size) {
        boolean quick = env.quick();
        int maxTrials = quick ? 3 : 7;
        long trialMillis = quick ? 500 : 2000;
        List<Map<String, Object>> log = new ArrayList<>();
        // warm-up, not measured: the JVMs' JIT compilers need some 10^5 datagrams through the path
        long warmupMillis = quick ? 300 : WARMUP_MILLIS;
        trial(env, peer, r, size, WARMUP_RATE, warmupMillis);
        ZeroLossSearch.Result found = ZeroLossSearch.run(rate -> {
            Trial t = trial(env, peer, r, size, rate, trialMillis);
            log.add(t.json());
            report(r, size, t);
            return t;
        }, maxTrials, 1.04);
        Trial best = found.best();
        boolean generatorBound = found.generatorBound();
        double figure = best == null ? 0 : best.offered();
        Map<String, Double> cpu = best == null ? Map.of()
                : Cpu.perMillion(best.cpuSeconds(), best.received());
        Map<String, Double> cpuLabelled = new LinkedHashMap<>();
        cpu.forEach((k, v) -> cpuLabelled.put(k.equals("peer") ? "peer(gen)" : k, v));
        Row row = new Row("inbound", Integer.toString(size), r.impl(), figure, "dgram/s", false,
                cpuLabelled);
        row.detail("maxLossPercent", MAX_LOSS * 100).detail("trialMillis", trialMillis)
                .detail("warmup", String.format(java.util.Locale.ROOT, "%d ms at %.0f/s", warmupMillis,
                        WARMUP_RATE))
                .detail("trials", log);
        r.details().forEach(row::detail);
        if (generatorBound) {
            row.lowerBound = true;
            row.detail("note", "no loss at the generator's own maximum rate: the figure is a lower bound");
        }
        return row;
    }

    private static void report(Receiver r, int size, Trial t) {
        System.err.printf("  inbound %5dB %-7s target %9s offered %9.0f/s received %9d of %9d "
                + "loss %7.3f%% %s%n", size, r.impl(), t.target() > 0 ? String.format("%.0f", t.target())
                : "max", t.offered(), t.received(), t.sent(), t.loss() * 100, t.pass() ? "pass" : "FAIL");
    }

    static Trial trial(Env env, Child peer, Receiver r, int size, double rate, long millis) {
        r.reset();
        List<Cpu.Source> sources = new ArrayList<>();
        sources.add(peer.cpu());
        sources.addAll(r.cpu());
        Cpu cpu = Cpu.start(sources);
        Map<String, Object> res = peer.request(Json.obj("cmd", "blast", "port", r.port(),
                "size", size, "rate", rate, "durationMs", millis), Duration.ofMillis(millis + 30_000));
        long sent = ((Number) res.get("sent")).longValue();
        long elapsed = ((Number) res.get("elapsedNs")).longValue();
        long received = settle(r::count, env.quick() ? 2000 : 3000);
        Map<String, Double> seconds = cpu.stop();
        return new Trial(rate, sent, elapsed, received, seconds);
    }

    /**
     * Waits until a counter stops moving (unchanged for 300 ms), at most {@code maxMillis};
     * returns its value.
     */
    static long settle(java.util.function.LongSupplier counter, long maxMillis) {
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        long last = counter.getAsLong();
        int still = 0;
        while (System.nanoTime() < deadline && still < 3) {
            Env.sleep(100);
            long now = counter.getAsLong();
            still = now == last ? still + 1 : 0;
            last = now;
        }
        return last;
    }
}
