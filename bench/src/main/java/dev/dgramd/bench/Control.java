package dev.dgramd.bench;

import dev.dgramd.client.DgramClient;
import dev.dgramd.client.Socket;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Control plane: createSocket + bind(0, 127.0.0.1) + close cycles per second, each step waited
 * for ('listening', then 'close'), in 1 and in 8 chains at once, each cycle started from the previous
 * one's 'close' listener. Node does the same in-process (its baseline has no network hop: it shows
 * what the remote control plane costs). Two rows each: {@code dgramd}, the default client (its
 * listeners on the listener pool), and {@code dgramd-loop}, a client whose listeners run on its
 * event loop ({@code ClientOptions.listenersOnEventLoop}), the same daemon.
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
            rows.add(measure(env, env.client(), "dgramd", scenario, c, warmupMillis, millis));
            rows.add(measure(env, env.loopClient(), "dgramd-loop", scenario, c, warmupMillis, millis));
        }
        return rows;
    }

    /** One row: {@code client}'s cycles at {@code c} for {@code millis}, after {@code warmupMillis} of them. */
    private static Row measure(Env env, DgramClient client, String impl, String scenario, int c,
            long warmupMillis, long millis) throws IOException {
        cycles(client, c, warmupMillis);
        Cpu cpu = Cpu.start(env.daemonAndSelf(env.daemon()));
        long start = System.nanoTime();
        long cycles = cycles(client, c, millis);
        long elapsed = System.nanoTime() - start;
        return row(scenario, impl, cycles, elapsed, cpu.stop(), c);
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

    /**
     * Runs create+bind+close cycles in {@code chains} chains at once for {@code millis}; the count.
     * As Node's control.js does: each chain starts its next cycle from the previous one's 'close'
     * listener, bind's callback calls close, and no thread waits in between.
     */
    static long cycles(DgramClient client, int chains, long millis) {
        Chains run = new Chains(client, chains, System.nanoTime() + millis * 1_000_000L);
        for (int i = 0; i < chains; i++) {
            run.next();
        }
        try {
            if (!run.ended.await(millis + 30_000, TimeUnit.MILLISECONDS)) {
                throw new BenchException("control cycles did not end in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        }
        Throwable failure = run.failure.get();
        if (failure != null) {
            throw new BenchException("control cycle failed: " + failure, failure);
        }
        return run.done.get();
    }

    /** The chains of {@link #cycles}: each ends at the deadline or at the first failure. */
    private static final class Chains {
        final DgramClient client;
        final long end;
        final AtomicLong done = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CountDownLatch ended;

        Chains(DgramClient client, int chains, long end) {
            this.client = client;
            this.end = end;
            this.ended = new CountDownLatch(chains);
        }

        /** Starts a chain's next cycle, or ends the chain. */
        void next() {
            if (System.nanoTime() >= end || failure.get() != null) {
                ended.countDown();
                return;
            }
            Socket s;
            try {
                s = client.createSocket("udp4");
            } catch (RuntimeException e) {
                fail(e);
                return;
            }
            AtomicBoolean over = new AtomicBoolean(); // the chain goes on once: after 'close' or an 'error'
            s.on("error", e -> {
                if (over.compareAndSet(false, true)) {
                    fail(e);
                }
            });
            s.bind(0, "127.0.0.1", () -> s.close(() -> {
                if (over.compareAndSet(false, true)) {
                    done.incrementAndGet();
                    next();
                }
            }));
        }

        private void fail(Throwable e) {
            failure.compareAndSet(null, e);
            ended.countDown();
        }
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
