package dev.dgramd.bench;

import java.net.InetSocketAddress;
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
        CommandLoop loop = new CommandLoop();
        int sndbuf = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        boolean gso = NettyUdp.gsoSupported();
        try (NettyUdp netty = new NettyUdp(2)) {
            NettyUdp.Blaster blaster = netty.blaster(sndbuf);
            NettyUdp.Receiver[] sink = new NettyUdp.Receiver[1];
            loop.say(Json.obj("ready", true, "port", blaster.port(), "gso", gso));
            loop.run((name, cmd) -> switch (name) {
                case "sink" -> {
                    if (sink[0] != null) {
                        sink[0].close();
                    }
                    sink[0] = netty.receiver(num(cmd, "rcvbuf", 0).intValue());
                    yield Json.obj("port", sink[0].port());
                }
                case "count" -> Json.obj("count", sink[0] == null ? 0 : sink[0].count());
                case "reset" -> {
                    if (sink[0] != null) {
                        sink[0].reset();
                    }
                    yield Json.obj("ok", true);
                }
                case "blast" -> {
                    NettyUdp.BlastResult r = blaster.blast(
                            new InetSocketAddress("127.0.0.1", num(cmd, "port", 0).intValue()),
                            num(cmd, "size", 64).intValue(), num(cmd, "rate", 0).doubleValue(),
                            num(cmd, "count", Long.MAX_VALUE).longValue(),
                            num(cmd, "durationMs", 2000).longValue() * 1_000_000L,
                            gso && !Boolean.FALSE.equals(cmd.get("gso")) ? NettyUdp.GSO_SEGMENTS : 1);
                    yield Json.obj("sent", r.sent(), "elapsedNs", r.elapsedNanos());
                }
                case "quit" -> CommandLoop.QUIT;
                default -> Json.obj("error", "unknown command " + name);
            });
        }
    }

    private static Number num(Map<String, Object> cmd, String key, Number dflt) {
        return CommandLoop.num(cmd, key, dflt);
    }
}
