package dev.dgramd.bench;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.DgramClient;
import dev.dgramd.client.Socket;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Scale: N sockets bound to 127.0.0.1 (any port) held by one fresh daemon, created through the
 * client 8 at a time: the daemon's resident memory (VmRSS) once they are all bound ({@code scale
 * rss}) and again {@value #SETTLE_MS} ms later with the sockets still held ({@code scale held}: the
 * JVM has given back what the compilations of the burst freed), and the time to create them. Node
 * holds the same N sockets in one process, read the same two ways, for comparison.
 */
final class Scale {
    static final int THREADS = 8;
    /**
     * How long after the last bind the held reading is taken: longer than HotSpot's 5 s period for
     * freeing the compiler's arena chunks plus the shipped 1 s native-heap trim.
     */
    static final long SETTLE_MS = 8_000;

    private Scale() {}

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        int n = env.quick() ? Math.min(env.options().scaleSockets, 500) : env.options().scaleSockets;
        long openFiles = Math.max(65_536, n * 2L + 1024);
        if (env.hasNode()) {
            Child node = env.nodePeer("node-scale", "scale.js", Env.holder(), openFiles);
            try {
                long before = ProcStats.rssKb(node.pid());
                Cpu cpu = Cpu.start(List.of(Cpu.Source.pid("node", node.pid())));
                Map<String, Object> m = node.request(Json.obj("cmd", "open", "count", n),
                        Duration.ofSeconds(120));
                long elapsed = ((Number) m.get("elapsedNs")).longValue();
                Map<String, Double> seconds = cpu.stop();
                long after = ProcStats.rssKb(node.pid());
                long held = held(env, node.pid());
                rows.addAll(rows("node", n, before, after, held, elapsed, seconds, Map.of()));
                node.request(Json.obj("cmd", "close"), Duration.ofSeconds(60));
            } finally {
                env.cleanup().closeNow(node);
            }
        }
        Daemon daemon = env.cleanup().add(env.startDaemon("daemon-scale", openFiles));
        DgramClient client = null;
        try {
            client = env.cleanup().add(DgramClient.connect(new ClientOptions()
                    .target(daemon.target())));
            Env.sleep(500); // let the fresh daemon settle
            long before = ProcStats.rssKb(daemon.pid());
            Cpu cpu = Cpu.start(env.daemonAndSelf(daemon));
            long start = System.nanoTime();
            List<Socket> sockets = open(client, n);
            long elapsed = System.nanoTime() - start;
            Map<String, Double> seconds = cpu.stop();
            Env.sleep(200);
            long after = ProcStats.rssKb(daemon.pid());
            long held = held(env, daemon.pid());
            int peakThreads = ManagementFactory.getThreadMXBean().getPeakThreadCount();
            rows.addAll(rows("dgramd", sockets.size(), before, after, held, elapsed, seconds,
                    Map.of("daemonVmHWMKiB", ProcStats.statusKb(daemon.pid(), "VmHWM"),
                            "benchPeakThreads", peakThreads, "daemonSpawned", daemon.spawned())));
        } finally {
            if (client != null) {
                env.cleanup().closeNow(client);
            }
            env.cleanup().closeNow(daemon);
        }
        return rows;
    }

    /** The RSS of {@code pid} {@value #SETTLE_MS} ms on (quick runs: at once). */
    private static long held(Env env, long pid) throws IOException {
        Env.sleep(env.quick() ? 0 : SETTLE_MS);
        return ProcStats.rssKb(pid);
    }

    private static List<Row> rows(String impl, int n, long beforeKb, long afterKb, long heldKb, long elapsed,
            Map<String, Double> seconds, Map<String, Object> extra) {
        Map<String, Double> perM = Cpu.perMillion(seconds, n);
        System.err.printf("  scale %-7s %d sockets in %.2f s, RSS %.1f MiB, %.1f MiB held (%.1f MiB before)%n",
                impl, n, elapsed / 1e9, afterKb / 1024.0, heldKb / 1024.0, beforeKb / 1024.0);
        Row rss = new Row("scale rss", Integer.toString(n), impl, afterKb / 1024.0, "MiB", true, perM)
                .detail("rssBeforeMiB", beforeKb / 1024.0).detail("cpuUnit", "socket");
        extra.forEach(rss::detail);
        Row held = new Row("scale held", Integer.toString(n), impl, heldKb / 1024.0, "MiB", true, perM)
                .detail("settleMs", SETTLE_MS).detail("cpuUnit", "socket");
        Row time = new Row("scale time", Integer.toString(n), impl, elapsed / 1e9, "s", true, perM)
                .detail("socketsPerSecond", n * 1e9 / elapsed).detail("cpuUnit", "socket");
        return List.of(rss, held, time);
    }

    /** Creates and binds {@code n} sockets, {@value #THREADS} threads at once; waits for all. */
    static List<Socket> open(DgramClient client, int n) {
        List<Socket> sockets = java.util.Collections.synchronizedList(new ArrayList<>(n));
        CountDownLatch bound = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong next = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "bench-scale");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int t = 0; t < THREADS; t++) {
                pool.execute(() -> {
                    try {
                        while (next.getAndIncrement() < n && failure.get() == null) {
                            Socket s = client.createSocket("udp4");
                            sockets.add(s);
                            s.on("error", e -> {
                                failure.compareAndSet(null, e);
                                while (bound.getCount() > 0) {
                                    bound.countDown();
                                }
                            });
                            s.bind(0, "127.0.0.1", bound::countDown);
                        }
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                        while (bound.getCount() > 0) {
                            bound.countDown();
                        }
                    }
                });
            }
            if (!bound.await(300, TimeUnit.SECONDS)) {
                throw new BenchException("only " + (n - bound.getCount()) + " of " + n
                        + " sockets bound in 300 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        } finally {
            pool.shutdownNow();
        }
        if (failure.get() != null) {
            throw new BenchException("creating " + n + " sockets failed after " + sockets.size() + ": "
                    + failure.get(), failure.get());
        }
        return sockets;
    }
}
