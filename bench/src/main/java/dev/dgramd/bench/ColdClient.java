package dev.dgramd.bench;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.DgramClient;
import dev.dgramd.client.DgramException;
import dev.dgramd.client.Socket;
import dev.dgramd.client.SocketOptions;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The cold scenario's client: a fresh JVM holding one dgramd socket through the Java client, as a
 * program that has just started would. Speaks the peers' line protocol (JSON commands on stdin,
 * one answer per line on stdout) and exits when stdin closes.
 *
 * <p>Usage: {@code ColdClient TARGET}. Commands: {@code recv {rcvbuf}} creates a socket counting
 * its 'message' events and binds it to 127.0.0.1, answering {@code {port, uptimeMs}};
 * {@code count} answers {@code {count, droppedByDaemon}}; {@code send {port, size, durationMs}} creates and binds a socket, then sends to
 * the port for {@code durationMs} from the first send (send() blocks while the client's window is
 * full) and waits for every callback, answering {@code {sent, errors, firstError, elapsedNs}}.
 */
public final class ColdClient {
    private ColdClient() {}

    public static void main(String[] args) throws Exception {
        CommandLoop loop = new CommandLoop();
        AtomicLong count = new AtomicLong();
        AtomicReference<Socket> receiving = new AtomicReference<>();
        try (DgramClient client = DgramClient.connect(new ClientOptions().target(args[0]))) {
            loop.say(Json.obj("ready", true));
            loop.run((name, cmd) -> switch (name) {
                case "recv" -> {
                    Socket s = client.createSocket(new SocketOptions().type("udp4")
                            .recvBufferSize(num(cmd, "rcvbuf", Env.RCVBUF).intValue()));
                    s.on("message", (msg, rinfo) -> count.incrementAndGet());
                    s.on("error", e -> System.err.println("cold recv socket error: " + e));
                    int port = Inbound.bind(s);
                    receiving.set(s);
                    yield Json.obj("port", port, "uptimeMs", ManagementFactory.getRuntimeMXBean().getUptime());
                }
                case "count" -> Json.obj("count", count.get(), "droppedByDaemon",
                        receiving.get() == null ? 0 : receiving.get().droppedMessages());
                case "send" -> send(client, num(cmd, "port", 0).intValue(),
                        num(cmd, "size", 64).intValue(), num(cmd, "durationMs", 3000).longValue());
                default -> Json.obj("error", "unknown command " + name);
            });
        }
    }

    private static Map<String, Object> send(DgramClient client, int port, int size, long durationMs) {
        Socket s = client.createSocket("udp4");
        s.on("error", e -> System.err.println("cold send socket error: " + e));
        Inbound.bind(s);
        byte[] payload = new byte[size];
        payload[0] = 'd';
        AtomicLong errors = new AtomicLong();
        AtomicLong completed = new AtomicLong();
        AtomicReference<String> first = new AtomicReference<>("");
        AtomicLong issued = new AtomicLong(Long.MAX_VALUE);
        CountDownLatch done = new CountDownLatch(1);
        DgramException.class.getName(); // loaded before the clock starts, as the callback's type
        long start = System.nanoTime();
        long deadline = start + durationMs * 1_000_000L;
        long n = 0;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 64; i++, n++) {
                s.send(payload, port, "127.0.0.1", (DgramException err, int bytes) -> {
                    if (err != null) {
                        errors.incrementAndGet();
                        first.compareAndSet("", err.code());
                    }
                    if (completed.incrementAndGet() == issued.get()) {
                        done.countDown();
                    }
                });
            }
        }
        issued.set(n);
        if (completed.get() == n) {
            done.countDown();
        }
        try {
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new BenchException("sends not all answered in 60 s: " + completed.get() + " of " + n);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        }
        long elapsed = System.nanoTime() - start;
        Inbound.closeAndWait(s);
        return Json.obj("sent", n - errors.get(), "errors", errors.get(), "firstError", first.get(),
                "elapsedNs", elapsed);
    }

    private static Number num(Map<String, Object> cmd, String key, Number dflt) {
        return CommandLoop.num(cmd, key, dflt);
    }
}
