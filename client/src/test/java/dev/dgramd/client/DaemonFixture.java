package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * A real daemon, in-process, on a free port, and one client of it, for each test class. The daemon
 * runs its built-in default policy, as a user meets it: Node's conformance cases (multicast and
 * broadcast included) must pass on a daemon started with no flags. Sockets
 * made with {@link #udp4()} / {@link #udp6()} are closed after each test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DaemonFixture {
    static final long WAIT_SECONDS = 5;

    Dgramd daemon;
    DgramClient dgram;
    private final List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    void startDaemon() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"));
        dgram = DgramClient.connect(clientOptions(daemon.target()));
    }

    /**
     * Whether the fixture's client runs its listeners on the transport's event loop: false, the
     * default; the {@code OnEventLoop} subclasses run their suite again with true.
     */
    boolean listenersOnEventLoop() {
        return false;
    }

    /** The options of the fixture's client: the defaults, with {@link #listenersOnEventLoop()}. */
    ClientOptions clientOptions(String target) {
        return new ClientOptions().target(target).listenersOnEventLoop(listenersOnEventLoop());
    }

    /** How the threads that run this client's listeners are named. */
    final String listenerThreadPrefix() {
        return listenersOnEventLoop() ? "dgramd-client-loop-" : "dgramd-listener-";
    }

    @AfterAll
    void stopDaemon() {
        if (dgram != null) {
            dgram.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    @AfterEach
    void closeSockets() {
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        synchronized (sockets) {
            for (Socket s : sockets) {
                closing.add(s.closeAsync());
            }
            sockets.clear();
        }
        for (CompletableFuture<Void> f : closing) {
            await(f);
        }
    }

    Socket udp4() {
        return track(dgram.createSocket("udp4"));
    }

    Socket udp6() {
        return track(dgram.createSocket("udp6"));
    }

    Socket track(Socket s) {
        sockets.add(s);
        return s;
    }

    /** Binds {@code s} to {@code address}:0 and waits for 'listening'; returns the bound port. */
    static int bound(Socket s, String address) {
        CompletableFuture<Void> listening = new CompletableFuture<>();
        s.bind(0, address, () -> listening.complete(null));
        await(listening);
        return s.address().port();
    }

    static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError("future failed", e.getCause());
        } catch (Exception e) {
            throw new AssertionError("not completed within " + WAIT_SECONDS + " s", e);
        }
    }

    /** Runs {@code call} and returns the DgramException it throws (fails if it does not). */
    /**
     * The 'error' of a new socket of {@code client} whose bind, its first call, the daemon cannot
     * take (no daemon, refused credentials, ...); fails unless 'close' follows it.
     */
    static DgramException firstCallRefused(DgramClient client) {
        Socket s = client.createSocket("udp4");
        CompletableFuture<DgramException> error = new CompletableFuture<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.on("error", error::complete);
        s.on("close", () -> closed.complete(null));
        s.bind(0, "127.0.0.1", () -> error.completeExceptionally(new AssertionError("the bind succeeded")));
        DgramException e = await(error);
        await(closed);
        return e;
    }

    static DgramException thrown(Runnable call) {
        try {
            call.run();
        } catch (DgramException e) {
            return e;
        }
        throw new AssertionError("expected a DgramException");
    }

    static void assertCode(Runnable call, String code) {
        assertThat(thrown(call).code()).isEqualTo(code);
    }
}
