package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A daemon restarted by hand-over ({@code --hand-over-socket} on the old process,
 * {@code --take-over} on the new one, both at one address) keeps every socket: the client's event
 * stream ends with "daemon restarting", re-attaches by itself to the new process, and the listener
 * sees every datagram in order and none twice; sends made meanwhile reach their peer, in order,
 * none twice. Both daemons run in this JVM, as two processes would: the sockets' descriptors pass
 * between them over the hand-over socket.
 */
class DaemonHandOverTest {
    private static final long WAIT_SECONDS = 30;
    private static final int RATE = 50_000; // datagrams per second
    private Path dir;
    private Dgramd old;
    private Dgramd taker;
    private DgramClient client;

    @BeforeEach
    void startOld() throws IOException {
        dir = Files.createTempDirectory("dgramd-handover");
        old = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").handOverSocket(dir.resolve("handover.sock")));
        client = DgramClient.connect(old.target());
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        if (taker != null) {
            taker.close();
        }
        old.close();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** Starts the new daemon at the old one's address, taking its sockets over; returns once it serves. */
    private void restart() throws Exception {
        taker = Dgramd.start(new DgramdOptions().listen(old.target()).takeOver(dir.resolve("handover.sock"))
                .handOverSocket(dir.resolve("handover.sock")));
        old.awaitTermination(); // the old one stops by itself once the new one listens
        assertThat(old.handedOver()).isTrue();
    }

    @Test
    void aStreamOfNumberedDatagramsCrossesTheRestartInOrderWithNoneTwice() throws Exception {
        int total = 3 * RATE; // three seconds of traffic, the restart in the middle
        List<Integer> seen = java.util.Collections.synchronizedList(new ArrayList<>(total));
        CountDownLatch listening = new CountDownLatch(1);
        CountDownLatch ended = new CountDownLatch(1);
        List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        Socket socket = client.createSocket(new SocketOptions().type("udp4").recvBufferSize(4 << 20),
                (msg, rinfo) -> {
                    int n = ByteBuffer.wrap(msg).getInt();
                    if (n == END) {
                        ended.countDown();
                    } else {
                        seen.add(n);
                    }
                });
        socket.on("listening", listening::countDown);
        socket.on("error", e -> errors.add(e.code() + ": " + e.getMessage()));
        AtomicInteger closes = new AtomicInteger();
        CountDownLatch closed = new CountDownLatch(1);
        socket.on("close", () -> {
            closes.incrementAndGet();
            closed.countDown();
        });
        socket.bind(0, "127.0.0.1");
        assertThat(listening.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        int port = socket.address().port();

        Sender sender = new Sender(port, total);
        sender.start();
        sender.awaitSent(total / 3);
        int restartFrom = sender.sent.get();
        restart();
        int restartTo = sender.sent.get();
        sender.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertThat(sender.isAlive()).isFalse();
        // The end marker, again every 100 ms until it arrives (the kernel may drop one too).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!ended.await(100, TimeUnit.MILLISECONDS) && System.nanoTime() < deadline) {
            sender.end();
        }
        assertThat(ended.getCount()).as("the end marker arrived").isZero();
        assertThat(errors).as("no 'error' across the restart").isEmpty();
        assertThat(closes.get()).as("no 'close' across the restart").isZero();
        assertThat(socket.address().port()).as("the same socket, on its port").isEqualTo(port);
        assertThat(taker.openSockets()).isEqualTo(1);
        // Closing reports the kernel's last drop count ahead of 'close': the counts are final then.
        socket.close();
        assertThat(closed.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        List<Integer> delivered;
        synchronized (seen) {
            delivered = List.copyOf(seen);
        }
        for (int i = 1; i < delivered.size(); i++) {
            if (delivered.get(i) <= delivered.get(i - 1)) {
                throw new AssertionError("datagram " + delivered.get(i) + " after " + delivered.get(i - 1)
                        + ": out of order or twice");
            }
        }
        long lost = total - delivered.size();
        int gapAt = -1;
        int gap = 0;
        for (int i = 1; i < delivered.size(); i++) {
            if (delivered.get(i) - delivered.get(i - 1) - 1 > gap) {
                gap = delivered.get(i) - delivered.get(i - 1) - 1;
                gapAt = delivered.get(i - 1);
            }
        }
        System.out.printf("largest run lost: %,d datagrams after number %,d%n", gap, gapAt);
        long inWindow = delivered.stream().filter(n -> n >= restartFrom && n < restartTo).count();
        System.out.printf("sent during the restart (numbers %,d to %,d): %,d, delivered %,d%n", restartFrom,
                restartTo, restartTo - restartFrom, inWindow);
        System.out.printf("hand-over at %,d datagrams/s: %,d of %,d delivered, %,d lost (%s)%n", RATE,
                delivered.size(), total, lost, socket.dropped());
        assertThat(lost).as("every loss is counted").isEqualTo(socket.dropped().total());
    }

    /** The number the sender ends its stream with. */
    private static final int END = -1;

    @Test
    void sendsMadeDuringTheRestartReachThePeerInOrderWithNoneTwice() throws Exception {
        try (DatagramChannel peer = DatagramChannel.open(StandardProtocolFamily.INET)) {
            peer.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4 << 20);
            peer.bind(new InetSocketAddress("127.0.0.1", 0));
            int peerPort = ((InetSocketAddress) peer.getLocalAddress()).getPort();
            Socket socket = client.createSocket("udp4");
            CountDownLatch connected = new CountDownLatch(1);
            socket.connect(peerPort, "127.0.0.1", connected::countDown);
            assertThat(connected.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
            int total = 20_000;
            AtomicInteger failed = new AtomicInteger();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < total; i++) {
                    socket.send(ByteBuffer.allocate(4).putInt(i).array(), (error, bytes) -> {
                        if (error != null) {
                            failed.incrementAndGet();
                        }
                    });
                    if (i % 100 == 0) {
                        LockSupport.parkNanos(1_000_000); // pacing: about 100,000 a second at most
                    }
                }
            });
            ByteBuffer buf = ByteBuffer.allocate(16);
            List<Integer> got = new ArrayList<>();
            peer.configureBlocking(true);
            CompletableFuture<Void> restarted = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            peer.socket().setSoTimeout(1000);
            while (got.size() < total && System.nanoTime() < deadline) {
                buf.clear();
                if (restarted == null && got.size() >= total / 4) {
                    restarted = CompletableFuture.runAsync(() -> {
                        try {
                            restart();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                }
                if (receive(peer, buf)) {
                    got.add(buf.flip().getInt());
                }
            }
            sent.get(WAIT_SECONDS, TimeUnit.SECONDS);
            restarted.get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(failed.get()).as("no send failed").isZero();
            assertThat(got).as("every datagram, in order, once").hasSize(total);
            for (int i = 0; i < total; i++) {
                assertThat(got.get(i)).isEqualTo(i);
            }
        }
    }

    @Test
    void aNamedSocketKeepsItsNameOnTheNewProcess() throws Exception {
        java.util.concurrent.LinkedBlockingQueue<String> got = new java.util.concurrent.LinkedBlockingQueue<>();
        Socket socket = client.createSocket(new SocketOptions().type("udp4").name("syslog-in"),
                (msg, rinfo) -> got.add(new String(msg, java.nio.charset.StandardCharsets.UTF_8)));
        CountDownLatch bound = new CountDownLatch(1);
        socket.on("listening", bound::countDown);
        socket.bind(0, "127.0.0.1");
        assertThat(bound.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        int port = socket.address().port();
        restart();
        // A datagram sent now reaches the first client: its socket re-attached on the new process.
        try (DatagramChannel peer = DatagramChannel.open(StandardProtocolFamily.INET)) {
            peer.send(ByteBuffer.wrap("after".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    new InetSocketAddress("127.0.0.1", port));
        }
        assertThat(got.poll(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("after");
        // The name is the same socket's on the new process: a second client naming it finds it
        // held by the first one's stream (a new socket would have bound instead).
        try (DgramClient second = DgramClient.connect(taker.target())) {
            Socket again = second.createSocket(new SocketOptions().type("udp4").name("syslog-in"));
            CompletableFuture<String> error = new CompletableFuture<>();
            again.on("error", e -> error.complete(e.code()));
            again.on("listening", () -> error.complete("listening on " + again.address().port()));
            again.bind(0, "127.0.0.1");
            assertThat(error.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("ERR_EVENTS_ALREADY_ATTACHED");
        }
        assertThat(socket.address().port()).as("the first client's socket goes on").isEqualTo(port);
    }

    private static boolean receive(DatagramChannel peer, ByteBuffer buf) {
        try {
            java.net.DatagramPacket p = new java.net.DatagramPacket(buf.array(), buf.capacity());
            peer.socket().receive(p);
            buf.position(p.getLength());
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Numbered datagrams at {@link #RATE} a second, from a plain socket, on a thread of its own. */
    private static final class Sender extends Thread {
        private final int port;
        private final int total;
        private final AtomicInteger sent = new AtomicInteger();

        Sender(int port, int total) {
            super("numbered-sender");
            setDaemon(true);
            this.port = port;
            this.total = total;
        }

        @Override
        public void run() {
            try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
                ch.connect(new InetSocketAddress("127.0.0.1", port));
                ByteBuffer buf = ByteBuffer.allocate(4);
                long start = System.nanoTime();
                int perMilli = RATE / 1000;
                for (int i = 0; i < total; i++) {
                    if (i % perMilli == 0) {
                        long due = start + (long) (i / perMilli) * 1_000_000L;
                        LockSupport.parkNanos(due - System.nanoTime()); // pacing: a burst each millisecond
                    }
                    ch.write(buf.clear().putInt(i).flip());
                    sent.incrementAndGet();
                }
                ch.write(buf.clear().putInt(END).flip());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Sends the end marker once more. */
        void end() throws IOException {
            try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
                ch.send(ByteBuffer.allocate(4).putInt(END).flip(), new InetSocketAddress("127.0.0.1", port));
            }
        }

        void awaitSent(int n) {
            while (sent.get() < n && isAlive()) {
                LockSupport.parkNanos(1_000_000); // the sender paces itself; a look each millisecond
            }
        }
    }
}
