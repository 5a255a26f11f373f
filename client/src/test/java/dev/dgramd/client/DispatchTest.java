package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The client's own guarantees: listener threads, ordering, isolation, bounded queues. */
class DispatchTest extends DaemonFixture {

    @Test
    @DisplayName("listeners run on the socket's listener thread, one at a time, in order; never on gRPC threads")
    void listenerThreadAndOrder() {
        Socket s = udp4();
        List<Integer> got = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        CompletableFuture<Void> all = new CompletableFuture<>();
        int n = 200;
        s.on("message", (msg, rinfo) -> {
            maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
            threads.add(Thread.currentThread().getName());
            got.add(Integer.parseInt(new String(msg, StandardCharsets.UTF_8)));
            concurrent.decrementAndGet();
            if (got.size() == n) {
                all.complete(null);
            }
        });
        int port = bound(s, "127.0.0.1");
        Socket sender = udp4();
        for (int i = 0; i < n; i++) {
            sender.send(Integer.toString(i), port, "127.0.0.1");
        }
        await(all);
        assertThat(got).isSorted().hasSize(n);
        assertThat(maxConcurrent).hasValue(1);
        assertThat(threads).allMatch(t -> t.startsWith("dgramd-listener-"));
    }

    @Test
    @DisplayName("a blocked listener delays only its own socket")
    void slowListenerIsolated() throws Exception {
        Socket slow = udp4();
        Socket fast = udp4();
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> slowEntered = new CompletableFuture<>();
        CompletableFuture<Void> slowDone = new CompletableFuture<>();
        slow.on("message", (msg, rinfo) -> {
            slowEntered.complete(null);
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            slowDone.complete(null);
        });
        CompletableFuture<Void> fastGot = new CompletableFuture<>();
        fast.on("message", (msg, rinfo) -> fastGot.complete(null));
        int slowPort = bound(slow, "127.0.0.1");
        int fastPort = bound(fast, "127.0.0.1");
        Socket sender = udp4();
        sender.send("a", slowPort, "127.0.0.1");
        await(slowEntered);
        sender.send("b", fastPort, "127.0.0.1");
        await(fastGot);
        assertThat(slowDone).isNotDone();
        release.countDown();
        await(slowDone);
    }

    @Test
    @DisplayName("the send window bounds unacknowledged sends; send() blocks until room frees; all complete")
    void sendWindow() {
        try (DgramClient small = DgramClient.connect(new ClientOptions().target(daemon.target())
                .maxPendingSendDatagrams(2).maxPendingSendBytes(1 << 20))) {
            Socket receiver = track(small.createSocket("udp4"));
            int port = bound(receiver, "127.0.0.1");
            Socket s = track(small.createSocket("udp4"));
            AtomicInteger done = new AtomicInteger();
            AtomicLong maxQueued = new AtomicLong();
            CompletableFuture<Void> all = new CompletableFuture<>();
            int n = 100;
            for (int i = 0; i < n; i++) {
                s.send("x", port, "127.0.0.1", (err, bytes) -> {
                    if (err != null) {
                        all.completeExceptionally(err);
                    } else if (done.incrementAndGet() == n) {
                        all.complete(null);
                    }
                });
                maxQueued.accumulateAndGet(s.getSendQueueCount(), Math::max);
            }
            await(all);
            assertThat(maxQueued.get()).isBetween(1L, 2L);
            assertThat(s.getSendQueueCount()).isZero();
        }
    }

    @Test
    @DisplayName("when listeners fall behind, the daemon drops messages and droppedMessages() counts them")
    void droppedMessages() throws Exception {
        Dgramd tight = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).maxQueuedEventBytes(64 * 1024));
        try (DgramClient client = DgramClient.connect(
                new ClientOptions().target(tight.target()).eventBatchesInFlight(1))) {
            Socket s = client.createSocket(new SocketOptions().type("udp4").recvBufferSize(4 << 20));
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> blocked = new CompletableFuture<>();
            CompletableFuture<Void> marker = new CompletableFuture<>();
            AtomicInteger received = new AtomicInteger();
            s.on("message", (msg, rinfo) -> {
                received.incrementAndGet();
                if (msg.length == 1) {
                    marker.complete(null);
                    return;
                }
                blocked.complete(null);
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            int port = bound(s, "127.0.0.1");
            Socket sender = client.createSocket("udp4");
            // 2 MB, more than the HTTP/2 window (1 MiB) plus the daemon's queue; sent in small paced
            // chunks so that the kernel's receive buffer does not drop them first
            int n = 2000;
            int chunk = 25;
            byte[] kb = new byte[1024];
            for (int i = 0; i < n; i += chunk) {
                CompletableFuture<Void> chunkSent = new CompletableFuture<>();
                AtomicInteger left = new AtomicInteger(chunk);
                for (int j = 0; j < chunk; j++) {
                    sender.send(kb, port, "127.0.0.1", (err, bytes) -> {
                        if (left.decrementAndGet() == 0) {
                            chunkSent.complete(null);
                        }
                    });
                }
                await(chunkSent);
            }
            await(blocked);
            assertThat(s.droppedMessages()).isZero(); // not reported until the listener reads on
            release.countDown();
            sender.send(new byte[1], port, "127.0.0.1");
            await(marker);
            assertThat(s.droppedMessages()).isPositive();
            assertThat(received.get() + s.droppedMessages()).isLessThanOrEqualTo(n + 1);
            // The socket's own bound was full, not the daemon's budget: these are the listeners' drops.
            DroppedMessages dropped = s.dropped();
            assertThat(dropped.listeners()).isEqualTo(s.droppedMessages());
            assertThat(dropped.daemon()).isZero();
            assertThat(dropped.total()).isEqualTo(dropped.kernel() + s.droppedMessages());
        } finally {
            tight.close();
        }
    }

    @Test
    @DisplayName("DgramClient.close() closes its sockets ('close' emitted) and later calls fail")
    void clientClose() {
        DgramClient other = DgramClient.connect(daemon.target());
        Socket a = other.createSocket("udp4");
        Socket b = other.createSocket("udp6");
        bound(a, null);
        CompletableFuture<Void> ca = new CompletableFuture<>();
        CompletableFuture<Void> cb = new CompletableFuture<>();
        a.on("close", () -> ca.complete(null));
        b.on("close", () -> cb.complete(null));
        List<String> errors = new CopyOnWriteArrayList<>();
        a.on("error", e -> errors.add(e.code()));
        other.close();
        await(ca);
        await(cb);
        assertThat(errors).isEmpty();
        assertCode(() -> other.createSocket("udp4"), DgramException.ERR_DGRAMD_CLIENT_CLOSED);
        other.close(); // idempotent
    }
}
