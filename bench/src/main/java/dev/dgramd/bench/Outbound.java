package dev.dgramd.bench;

import dev.dgramd.client.DgramException;
import dev.dgramd.client.Socket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Outbound throughput: N datagrams sent as fast as each API allows, honouring its backpressure
 * (Node: a bounded number in flight, released by the send callbacks; dgramd: the client's send
 * window, send() blocks while it is full; Netty: channel writability), to the peer's counting
 * sink. The figure is delivered datagrams per second: what the sink counted over the time from
 * the first send to the last send completion. Each implementation first warms up in rounds of
 * about a second until its rate settles (two rounds in a row within 5%, after at least
 * {@value #MIN_WARM_UP_SECONDS} s and at most {@value #MAX_WARM_UP_SECONDS} s: on 2 cores the JIT
 * of three JVMs takes seconds); N is set from the last round's rate, so that the measured run
 * lasts about {@value #RUN_SECONDS} s (bounded to 50k..2M datagrams), as the implementations
 * differ by orders of magnitude. The first seconds of a fresh process are the cold scenario's.
 */
final class Outbound {
    /**
     * Sends Node keeps in flight. A sweep of 16..16384 on the 2-core reference machine put 256
     * at or near the top (64..1024 are within the noise); far more only grows libuv's queue.
     */
    static final int NODE_IN_FLIGHT = 256;
    /** The measured run lasts about this long at the rate the warm-up showed. */
    static final double RUN_SECONDS = 3.0;
    static final double MIN_WARM_UP_SECONDS = 6.0;
    static final double MAX_WARM_UP_SECONDS = 20.0;

    private Outbound() {}

    record Sent(long sent, long errors, String firstError, long elapsedNanos) {}

    interface Sender extends AutoCloseable {
        String impl();

        Sent send(int port, int size, long count);

        List<Cpu.Source> cpu();

        @Override
        void close();
    }

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        Child peer = env.peer();
        int sinkPort = ((Number) peer.request(Json.obj("cmd", "sink", "rcvbuf", Env.RCVBUF),
                Duration.ofSeconds(10)).get("port")).intValue();
        long warmup = env.quick() ? 5_000 : 50_000;
        long minN = env.quick() ? 10_000 : 50_000;
        double seconds0 = env.quick() ? 0.5 : RUN_SECONDS;
        for (int size : env.options().sizes) {
            List<String> impls = new ArrayList<>();
            if (env.hasNode()) {
                impls.add("node");
            }
            impls.add("dgramd");
            if (env.hasDropIn()) {
                impls.add("dgramd-node");
            }
            impls.add("netty");
            for (String impl : impls) {
                try (Sender s = open(env, impl)) {
                    // warm-up, then the measured run
                    long warmStart = System.nanoTime();
                    Sent w = s.send(sinkPort, size, warmup);
                    double warmRate = w.sent() * 1e9 / w.elapsedNanos();
                    double previous = 0;
                    int rounds = 1;
                    while (!env.quick()) {
                        double warmed = (System.nanoTime() - warmStart) / 1e9;
                        boolean settled = previous > 0 && Math.abs(warmRate - previous) <= 0.05 * previous;
                        if (warmed >= MAX_WARM_UP_SECONDS || warmed >= MIN_WARM_UP_SECONDS && settled) {
                            break;
                        }
                        w = s.send(sinkPort, size, Math.max(20_000, Math.min(2_000_000L, (long) warmRate)));
                        previous = warmRate;
                        warmRate = w.sent() * 1e9 / w.elapsedNanos();
                        rounds++;
                    }
                    double warmUpSeconds = (System.nanoTime() - warmStart) / 1e9;
                    long n = Math.max(minN, Math.min(2_000_000L, (long) (warmRate * seconds0)));
                    Inbound.settle(() -> sinkCount(peer), 2000);
                    peer.request(Json.obj("cmd", "reset"), Duration.ofSeconds(10));
                    List<Cpu.Source> sources = new ArrayList<>(s.cpu());
                    sources.add(peer.cpu());
                    Cpu cpu = Cpu.start(sources);
                    Sent sent = s.send(sinkPort, size, n);
                    long delivered = Inbound.settle(() -> sinkCount(peer), 3000);
                    Map<String, Double> seconds = cpu.stop();
                    if (!env.quick() && sent.elapsedNanos() < RUN_SECONDS / 2 * 1e9 && n < 2_000_000L) {
                        // the warm-up (JIT still compiling) underestimated the rate: once more, longer
                        n = Math.min(2_000_000L, (long) (sent.sent() * 1e9 / sent.elapsedNanos() * seconds0));
                        peer.request(Json.obj("cmd", "reset"), Duration.ofSeconds(10));
                        cpu = Cpu.start(sources);
                        sent = s.send(sinkPort, size, n);
                        delivered = Inbound.settle(() -> sinkCount(peer), 3000);
                        seconds = cpu.stop();
                    }
                    Map<String, Double> perM = new java.util.LinkedHashMap<>();
                    Cpu.perMillion(seconds, sent.sent())
                            .forEach((k, v) -> perM.put(k.equals("peer") ? "peer(sink)" : k, v));
                    double rate = delivered * 1e9 / sent.elapsedNanos();
                    System.err.printf("  outbound %5dB %-7s sent %d (errors %d%s) in %.2f s, delivered %d:"
                            + " %.0f/s%n", size, impl, sent.sent(), sent.errors(),
                            sent.errors() > 0 ? ", first " + sent.firstError() : "", sent.elapsedNanos() / 1e9,
                            delivered, rate);
                    Row row = new Row("outbound", Integer.toString(size), impl, rate, "dgram/s", false, perM)
                            .detail("datagrams", n).detail("sent", sent.sent()).detail("errors", sent.errors())
                            .detail("delivered", delivered).detail("seconds", sent.elapsedNanos() / 1e9)
                            .detail("sendRate", sent.sent() * 1e9 / sent.elapsedNanos())
                            .detail("warmUpSeconds", warmUpSeconds).detail("warmUpRounds", rounds);
                    if (sent.firstError() != null && !sent.firstError().isEmpty()) {
                        row.detail("firstError", sent.firstError());
                    }
                    if (impl.endsWith("node")) {
                        row.detail("inFlight", NODE_IN_FLIGHT);
                    }
                    rows.add(row);
                }
            }
        }
        return rows;
    }

    private static long sinkCount(Child peer) {
        return ((Number) peer.request(Json.obj("cmd", "count"), Duration.ofSeconds(10)).get("count"))
                .longValue();
    }

    static Sender open(Env env, String impl) throws IOException {
        switch (impl) {
            case "node", "dgramd-node" -> {
                Map<String, Object>[] ready = Env.holder();
                Child c = env.nodeImplPeer(impl, impl + "-send", "send.js", ready);
                List<Cpu.Source> cpu = env.nodeImplCpu(impl, c);
                return new Sender() {
                    @Override
                    public String impl() {
                        return impl;
                    }

                    @Override
                    public Sent send(int port, int size, long count) {
                        Map<String, Object> r = c.request(Json.obj("cmd", "send", "port", port, "size", size,
                                "count", count, "inflight", NODE_IN_FLIGHT), Duration.ofSeconds(120));
                        return new Sent(((Number) r.get("sent")).longValue(),
                                ((Number) r.get("errors")).longValue(), String.valueOf(r.get("firstError")),
                                ((Number) r.get("elapsedNs")).longValue());
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
            case "dgramd" -> {
                Daemon daemon = env.daemon();
                Socket s = env.client().createSocket("udp4");
                s.on("error", e -> System.err.println("outbound dgramd socket error: " + e));
                Inbound.bind(s);
                return new Sender() {
                    @Override
                    public String impl() {
                        return "dgramd";
                    }

                    @Override
                    public Sent send(int port, int size, long count) {
                        byte[] payload = new byte[size];
                        payload[0] = 'd';
                        AtomicLong errors = new AtomicLong();
                        AtomicReference<String> first = new AtomicReference<>("");
                        CountDownLatch done = new CountDownLatch(1);
                        AtomicLong completed = new AtomicLong();
                        long start = System.nanoTime();
                        for (long i = 0; i < count; i++) {
                            s.send(payload, port, "127.0.0.1", (DgramException err, int bytes) -> {
                                if (err != null) {
                                    errors.incrementAndGet();
                                    first.compareAndSet("", err.code());
                                }
                                if (completed.incrementAndGet() == count) {
                                    done.countDown();
                                }
                            });
                        }
                        try {
                            if (!done.await(120, TimeUnit.SECONDS)) {
                                throw new BenchException("dgramd sends not all answered in 120 s: "
                                        + completed.get() + " of " + count);
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new BenchException("interrupted");
                        }
                        long elapsed = System.nanoTime() - start;
                        return new Sent(count - errors.get(), errors.get(), first.get(), elapsed);
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
                    public void close() {
                        Inbound.closeAndWait(s);
                    }
                };
            }
            case "netty" -> {
                NettyUdp.Blaster b = env.netty().blaster(Env.SNDBUF);
                return new Sender() {
                    @Override
                    public String impl() {
                        return "netty";
                    }

                    @Override
                    public Sent send(int port, int size, long count) {
                        NettyUdp.BlastResult r = b.blast(new InetSocketAddress("127.0.0.1", port), size, 0,
                                count, TimeUnit.SECONDS.toNanos(120));
                        return new Sent(r.sent(), 0, "", r.elapsedNanos());
                    }

                    @Override
                    public List<Cpu.Source> cpu() {
                        return List.of(env.self());
                    }

                    @Override
                    public void close() {
                        b.close();
                    }
                };
            }
            default -> throw new IllegalArgumentException(impl);
        }
    }
}
