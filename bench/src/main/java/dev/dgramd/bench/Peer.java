package dev.dgramd.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The bench's Java peer process: the offered-load generator and the counting sink, on plain
 * Netty epoll, kept out of the bench JVM so that its CPU time is counted apart. Speaks the line
 * protocol of the Node peers (JSON commands on stdin, one JSON answer per line on stdout) and
 * exits when stdin closes.
 *
 * <p>Commands: {@code sink {rcvbuf}} binds the sink, answering {@code {port}}; {@code count};
 * {@code reset}; {@code blast {port, size, rate, count, durationMs[, gso]}} answering
 * {@code {sent, elapsedNs}} (rate 0: as fast as possible). The blasts are UDP GSO sends of up to
 * {@link NettyUdp#GSO_SEGMENTS} datagrams each, batched by sendmmsg(2), where the kernel has
 * UDP_SEGMENT ({@code "ready"} answers {@code gso}), unless {@code gso} is false.
 */
public final class Peer {
    private Peer() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out),
                true, StandardCharsets.UTF_8);
        System.setOut(System.err); // nothing but answers on stdout
        int sndbuf = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        boolean gso = NettyUdp.gsoSupported();
        try (NettyUdp netty = new NettyUdp(2)) {
            NettyUdp.Blaster blaster = netty.blaster(sndbuf);
            NettyUdp.Receiver sink = null;
            out.println(Json.write(Json.obj("ready", true, "port", blaster.port(), "gso", gso)));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
                    StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                Map<String, Object> answer;
                try {
                    Map<String, Object> cmd = Json.parseObject(line);
                    String name = String.valueOf(cmd.get("cmd"));
                    switch (name) {
                        case "sink" -> {
                            if (sink != null) {
                                sink.close();
                            }
                            sink = netty.receiver(num(cmd, "rcvbuf", 0).intValue());
                            answer = Json.obj("port", sink.port());
                        }
                        case "count" -> answer = Json.obj("count", sink == null ? 0 : sink.count());
                        case "reset" -> {
                            if (sink != null) {
                                sink.reset();
                            }
                            answer = Json.obj("ok", true);
                        }
                        case "blast" -> {
                            NettyUdp.BlastResult r = blaster.blast(
                                    new InetSocketAddress("127.0.0.1", num(cmd, "port", 0).intValue()),
                                    num(cmd, "size", 64).intValue(), num(cmd, "rate", 0).doubleValue(),
                                    num(cmd, "count", Long.MAX_VALUE).longValue(),
                                    num(cmd, "durationMs", 2000).longValue() * 1_000_000L,
                                    gso && !Boolean.FALSE.equals(cmd.get("gso")) ? NettyUdp.GSO_SEGMENTS : 1);
                            answer = Json.obj("sent", r.sent(), "elapsedNs", r.elapsedNanos());
                        }
                        case "quit" -> {
                            out.println(Json.write(Json.obj("ok", true)));
                            return;
                        }
                        default -> answer = Json.obj("error", "unknown command " + name);
                    }
                } catch (RuntimeException e) {
                    answer = Json.obj("error", e.toString());
                }
                out.println(Json.write(answer));
            }
        }
    }

    private static Number num(Map<String, Object> cmd, String key, Number dflt) {
        Object v = cmd.get(key);
        return v instanceof Number n ? n : dflt;
    }
}
