package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** When the daemon goes away, every open socket emits 'error' (ERR_DGRAMD_UNAVAILABLE) then 'close'. */
class DaemonGoneTest {

    /** A socket's events, as text, until 'close'. */
    static final class Recorder {
        final Socket socket;
        final List<String> events = new CopyOnWriteArrayList<>();
        final CompletableFuture<Void> closed = new CompletableFuture<>();

        Recorder(Socket socket) {
            this.socket = socket;
            socket.on("listening", () -> events.add("listening"));
            socket.on("connect", () -> events.add("connect"));
            socket.on("error", e -> events.add("error:" + e.code()));
            socket.on("close", () -> {
                events.add("close");
                closed.complete(null);
            });
        }

        /** The events after setup (listening/connect), which must be exactly error, close. */
        List<String> tail() {
            List<String> t = new ArrayList<>(events);
            t.removeIf(e -> e.equals("listening") || e.equals("connect"));
            return t;
        }
    }

    /** Three sockets in three states: bound, connected, unbound. */
    static List<Recorder> openSockets(DgramClient dgram) {
        // (A socket never used has nothing in the daemon to lose: its first call fails instead,
        // see firstCallRefused below.)
        Recorder bound = new Recorder(dgram.createSocket("udp4"));
        Recorder connected = new Recorder(dgram.createSocket("udp4"));
        CompletableFuture<Void> l = new CompletableFuture<>();
        CompletableFuture<Void> c = new CompletableFuture<>();
        bound.socket.bind(0, "127.0.0.1", () -> l.complete(null));
        connected.socket.connect(9, () -> c.complete(null));
        DaemonFixture.await(l);
        DaemonFixture.await(c);
        return List.of(bound, connected);
    }

    static void assertErrorThenClose(List<Recorder> sockets) {
        for (Recorder r : sockets) {
            DaemonFixture.await(r.closed);
            assertThat(r.tail()).as("events of %s", r.socket)
                    .containsExactly("error:" + DgramException.ERR_DGRAMD_UNAVAILABLE, "close");
            assertThat(DaemonFixture.thrown(r.socket::close).code())
                    .isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        }
    }

    @Test
    @DisplayName("daemon closed gracefully: each socket emits 'error' then 'close'; nothing hangs")
    void daemonClosed() throws Exception {
        Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        try (DgramClient dgram = DgramClient.connect(daemon.target())) {
            List<Recorder> sockets = openSockets(dgram);
            daemon.close();
            assertErrorThenClose(sockets);
            DgramException e = DaemonFixture.firstCallRefused(dgram);
            assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
        } finally {
            daemon.close();
        }
    }

    @Test
    @DisplayName("daemon killed: each socket emits 'error' then 'close'; pending sends and calls fail")
    void daemonKilled() throws Exception {
        try (ChildJvm child = new ChildJvm(DaemonChild.class)) {
            String target = child.awaitLine("TARGET ", 20).substring("TARGET ".length()).trim();
            try (DgramClient dgram = DgramClient.connect(target)) {
                List<Recorder> sockets = openSockets(dgram);
                Socket bound = sockets.get(0).socket;
                child.kill();
                assertErrorThenClose(sockets);
                // a socket made before the kill but used after: calls fail fast, sends report errors
                CompletableFuture<DgramException> sent = new CompletableFuture<>();
                assertThat(DaemonFixture.thrown(() -> bound.send("x", 9, "127.0.0.1",
                        (err, n) -> sent.complete(err))).code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
                long t0 = System.nanoTime();
                DgramException e = DaemonFixture.firstCallRefused(dgram);
                assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
                assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(5));
            }
        }
    }

    @Test
    @DisplayName("no daemon at all: a socket's first call fails: 'error' ERR_DGRAMD_UNAVAILABLE, then 'close'")
    void noDaemon() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        try (DgramClient dgram = DgramClient.connect("127.0.0.1:" + port)) {
            DgramException e = DaemonFixture.firstCallRefused(dgram);
            assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
        }
    }
}
