package dev.dgramd.bench;

import dev.dgramd.client.Socket;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Echo round trip: 64-byte ping-pong with a Node echo server, one datagram in flight, the next
 * ping sent from the reply's 'message' listener. Clients: Node, the dgramd Java client, and plain
 * Netty (reference). Figures: p50 and p99 round-trip time. Without Node (tests on a machine
 * lacking it), the echo server is plain Netty and there is no Node client.
 */
final class Echo {
    static final int SIZE = 64;

    private Echo() {}

    /** Round-trip times, in nanoseconds, sorted. */
    record Rtts(double p50Us, double p99Us, double meanUs, long count, long timeouts,
            long elapsedNanos) {}

    static List<Row> run(Env env) throws IOException {
        List<Row> rows = new ArrayList<>();
        int count = env.quick() ? 1_000 : 20_000;
        int warmup = env.quick() ? 200 : 5_000;
        Child server = null;
        DatagramChannel nettyServer = null;
        int port;
        Cpu.Source serverCpu;
        if (env.hasNode()) {
            Map<String, Object>[] ready = Env.holder();
            server = env.nodePeer("node-echo-server", "echo-server.js", ready);
            port = ((Number) ready[0].get("port")).intValue();
            serverCpu = Cpu.Source.pid("node(server)", server.pid());
        } else {
            // no Node here: the echo server is plain Netty in the bench JVM (its CPU is the bench's)
            nettyServer = env.netty().echoServer();
            port = nettyServer.localAddress().getPort();
            serverCpu = null;
        }
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
            List<Cpu.Source> sources = new ArrayList<>();
            if (serverCpu != null) {
                sources.add(serverCpu);
            }
            Rtts r;
            Map<String, Double> seconds;
            switch (impl) {
                case "node", "dgramd-node" -> {
                    Child c = env.nodeImplPeer(impl, impl + "-echo-client", "echo-client.js", Env.holder());
                    try {
                        sources.addAll(0, env.nodeImplCpu(impl, c));
                        Cpu cpu = Cpu.start(sources);
                        Map<String, Object> m = c.request(Json.obj("cmd", "ping", "port", port, "size", SIZE,
                                "count", count, "warmup", warmup), Duration.ofSeconds(120));
                        seconds = cpu.stop();
                        r = new Rtts(num(m, "p50Us"), num(m, "p99Us"), num(m, "meanUs"), count,
                                (long) num(m, "timeouts"), (long) num(m, "elapsedNs"));
                    } finally {
                        env.cleanup().closeNow(c);
                    }
                }
                case "dgramd", "dgramd-loop" -> {
                    Daemon daemon = env.daemon();
                    if (daemon.cpu() != null) {
                        sources.add(0, daemon.cpu());
                    }
                    sources.add(0, env.self());
                    Socket s = (impl.equals("dgramd") ? env.client() : env.loopClient()).createSocket("udp4");
                    try {
                        s.on("error", e -> System.err.println("echo dgramd socket error: " + e));
                        Inbound.bind(s);
                        Cpu cpu = Cpu.start(sources);
                        r = dgramd(s, port, count, warmup);
                        seconds = cpu.stop();
                    } finally {
                        Inbound.closeAndWait(s);
                    }
                }
                case "netty" -> {
                    sources.add(0, env.self());
                    Cpu cpu = Cpu.start(sources);
                    r = netty(env, port, count, warmup);
                    seconds = cpu.stop();
                }
                default -> throw new IllegalArgumentException(impl);
            }
            // a round trip moves two datagrams; warm-up included, as the CPU was spent on it too
            Map<String, Double> perM = Cpu.perMillion(seconds, 2.0 * (count + warmup));
            System.err.printf("  echo %-7s p50 %.1f us p99 %.1f us mean %.1f us (%d pings, %d timeouts)%n",
                    impl, r.p50Us(), r.p99Us(), r.meanUs(), r.count(), r.timeouts());
            for (String which : List.of("p50", "p99")) {
                Row row = new Row("echo " + which, Integer.toString(SIZE), impl,
                        which.equals("p50") ? r.p50Us() : r.p99Us(), "us", true, perM)
                        .detail("pings", count).detail("warmup", warmup).detail("meanUs", r.meanUs())
                        .detail("timeouts", r.timeouts())
                        .detail("roundTripsPerSecond", (count + warmup) * 1e9 / r.elapsedNanos())
                        .detail("echoServer", server != null ? "node" : "netty (in-process)");
                rows.add(row);
            }
        }
        if (server != null) {
            env.cleanup().closeNow(server);
        }
        if (nettyServer != null) {
            nettyServer.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        return rows;
    }

    private static double num(Map<String, Object> m, String k) {
        return ((Number) m.get(k)).doubleValue();
    }

    static Rtts stats(long[] rtts, long timeouts, long elapsed) {
        long[] sorted = rtts.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElse(0);
        return new Rtts(pct(sorted, 0.5) / 1e3, pct(sorted, 0.99) / 1e3, mean / 1e3, sorted.length,
                timeouts, elapsed);
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.max(0, (int) Math.ceil(p * sorted.length) - 1)];
    }

    /**
     * The ping-pong loop shared by the Java clients: {@code send} sends ping number i; {@link
     * #onReply} records and sends the next. A watchdog sends again a ping unanswered for 1 s.
     */
    private static final class PingPong {
        final int count;
        final int warmup;
        final long[] rtts;
        final IntConsumer send;
        final CompletableFuture<Rtts> done = new CompletableFuture<>();
        int i;
        long t0;
        long timeouts;
        long lastProgress = System.nanoTime();
        long start;

        PingPong(int count, int warmup, IntConsumer send) {
            this.count = count;
            this.warmup = warmup;
            this.rtts = new long[count];
            this.send = send;
        }

        synchronized void start() {
            start = System.nanoTime();
            t0 = start;
            send.accept(0);
        }

        synchronized void onReply() {
            long now = System.nanoTime();
            if (done.isDone()) {
                return;
            }
            if (i >= warmup) {
                rtts[i - warmup] = now - t0;
            }
            i++;
            lastProgress = now;
            if (i < warmup + count) {
                t0 = System.nanoTime();
                send.accept(i);
            } else {
                done.complete(stats(rtts, timeouts, now - start));
            }
        }

        synchronized void watchdog() {
            if (!done.isDone() && System.nanoTime() - lastProgress > 1_000_000_000L) {
                timeouts++;
                lastProgress = System.nanoTime();
                t0 = lastProgress;
                send.accept(i);
            }
        }

        Rtts await() {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            try {
                while (true) {
                    try {
                        return done.get(200, TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.TimeoutException e) {
                        watchdog();
                        if (System.nanoTime() > deadline) {
                            throw new BenchException("echo did not finish in 120 s (" + i + " pings)");
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BenchException("interrupted");
            } catch (java.util.concurrent.ExecutionException e) {
                throw new BenchException("echo failed: " + e.getCause(), e.getCause());
            }
        }
    }

    static Rtts dgramd(Socket s, int port, int count, int warmup) {
        byte[] payload = new byte[SIZE];
        payload[0] = 'p';
        PingPong pp = new PingPong(count, warmup, i -> s.send(payload, port, "127.0.0.1"));
        s.on("message", (msg, rinfo) -> pp.onReply());
        pp.start();
        return pp.await();
    }

    static Rtts netty(Env env, int port, int count, int warmup) {
        InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
        PingPong[] holder = new PingPong[1];
        DatagramChannel ch = env.netty().bind(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                holder[0].onReply();
            }
        }, 0, 0);
        try {
            PingPong pp = new PingPong(count, warmup, i -> {
                ByteBuf b = ch.alloc().directBuffer(SIZE);
                b.writeZero(SIZE);
                ch.writeAndFlush(new DatagramPacket(b, to), ch.voidPromise());
            });
            holder[0] = pp;
            pp.start();
            return pp.await();
        } finally {
            ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

}
