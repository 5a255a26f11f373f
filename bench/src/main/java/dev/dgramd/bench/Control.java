package dev.dgramd.bench;

import dev.dgramd.client.DgramClient;
import dev.dgramd.client.Socket;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Control plane: createSocket + bind(0, 127.0.0.1) + close cycles per second, each step waited
 * for ('listening', then 'close'), one at a time and 8 at once. Node does the same in-process
 * (its baseline has no network hop: it shows what the remote control plane costs).
 */
final class Control {
    static final int[] CONCURRENCY = {1, 8};

    private Control() {}

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        long millis = env.quick() ? 500 : 3_000;
        long warmupMillis = env.quick() ? 200 : 1_000;
        warmUp(env.client(), env.quick());
        for (int c : CONCURRENCY) {
            String scenario = "control c=" + c;
            if (env.hasNode()) {
                Child node = env.nodePeer("node-control", "control.js", Env.holder());
                try {
                    node.request(Json.obj("cmd", "cycles", "durationMs", warmupMillis, "concurrency", c),
                            Duration.ofSeconds(60));
                    Cpu cpu = Cpu.start(List.of(Cpu.Source.pid("node", node.pid())));
                    Map<String, Object> m = node.request(Json.obj("cmd", "cycles", "durationMs", millis,
                            "concurrency", c), Duration.ofMillis(millis + 60_000));
                    long cycles = ((Number) m.get("cycles")).longValue();
                    long elapsed = ((Number) m.get("elapsedNs")).longValue();
                    rows.add(row(scenario, "node", cycles, elapsed, cpu.stop(), c));
                } finally {
                    env.cleanup().closeNow(node);
                }
            }
            Daemon daemon = env.daemon();
            DgramClient client = env.client();
            cycles(client, c, warmupMillis);
            List<Cpu.Source> sources = new ArrayList<>();
            if (daemon.cpu() != null) {
                sources.add(daemon.cpu());
            }
            sources.add(env.self());
            Cpu cpu = Cpu.start(sources);
            long start = System.nanoTime();
            long cycles = cycles(client, c, millis);
            long elapsed = System.nanoTime() - start;
            rows.add(row(scenario, "dgramd", cycles, elapsed, cpu.stop(), c));
        }
        return rows;
    }

    /**
     * The JIT of the daemon and of this JVM needs about twenty thousand cycles before the rate
     * settles (a fresh daemon starts below 100 cycles/s at 8 at once, C2 compiling on the same two
     * cores, and ends above 4,000): cycles 8 at once, in rounds of 2 s, until 20,000 cycles are done
     * (at most 30 s).
     */
    private static void warmUp(DgramClient client, boolean quick) {
        if (quick) {
            cycles(client, 8, 300);
            return;
        }
        long done = 0;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int round = 1; done < 20_000 && System.nanoTime() < end; round++) {
            long start = System.nanoTime();
            long n = cycles(client, 8, 2_000);
            done += n;
            System.err.printf("  control warm-up round %d: %.0f cycles/s%n", round,
                    n * 1e9 / (System.nanoTime() - start));
        }
    }

    private static Row row(String scenario, String impl, long cycles, long elapsedNanos,
            Map<String, Double> cpuSeconds, int concurrency) {
        double rate = cycles * 1e9 / elapsedNanos;
        System.err.printf("  %s %-7s %d cycles in %.2f s: %.0f/s%n", scenario, impl, cycles,
                elapsedNanos / 1e9, rate);
        return new Row(scenario, "-", impl, rate, "cycles/s", false,
                Cpu.perMillion(cpuSeconds, cycles))
                .detail("cycles", cycles).detail("seconds", elapsedNanos / 1e9)
                .detail("concurrency", concurrency).detail("cpuUnit", "cycle")
                .detail("note", "after a warm-up of the same cycles");
    }

    /** Runs create+bind+close cycles on {@code threads} threads for {@code millis}; the count. */
    static long cycles(DgramClient client, int threads, long millis) {
        AtomicLong done = new AtomicLong();
        long end = System.nanoTime() + millis * 1_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "bench-control");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        cycle(client);
                        done.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get(millis + 30_000, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new BenchException("control cycle failed: " + e.getCause(), e.getCause());
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new BenchException("control cycles did not end in time");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        } finally {
            pool.shutdownNow();
        }
        return done.get();
    }

    /** One createSocket + bind + close, each waited for (bounded). */
    static void cycle(DgramClient client) throws Exception {
        Socket s = client.createSocket("udp4");
        CompletableFuture<Void> listening = new CompletableFuture<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.on("error", e -> {
            listening.completeExceptionally(e);
            closed.completeExceptionally(e);
        });
        s.bind(0, "127.0.0.1", () -> listening.complete(null));
        listening.get(10, TimeUnit.SECONDS);
        s.close(() -> closed.complete(null));
        closed.get(10, TimeUnit.SECONDS);
    }
}
