package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketInfo;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * A server restarted by {@code kill -9} keeps its socket: a child JVM with a named socket receives a
 * steady stream, is killed, and a new child JVM attaches by the name within the keep-alive. It gets
 * the same port, every datagram sent after the daemon saw the first one go (the daemon buffered
 * them), and nothing twice.
 */
class NamedSocketRestartTest {
    private static final long WAIT_SECONDS = 20;

    @Test
    void aKilledServersSocketIsTakenBackByNameWithTheDatagramsSentMeanwhile() throws Exception {
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0")
                .orphanGrace(java.time.Duration.ofSeconds(30)));
             DatagramSocket sender = new DatagramSocket()) {
            ManagedChannel admin = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
            try {
                ChildJvm victim = new ChildJvm(NamedReceiverChild.class, daemon.target(), "syslog-in");
                int port = Integer.parseInt(victim.awaitLine("listening ", WAIT_SECONDS).substring(10));

                Stream stream = new Stream(sender, port);
                stream.start();
                victim.awaitLine("got 100", WAIT_SECONDS); // a steady stream is flowing
                victim.kill(); // kill -9: no close, its connection just ends
                awaitDetached(admin);
                int sentBeforeDetach = stream.sent();

                ChildJvm restarted = new ChildJvm(NamedReceiverChild.class, daemon.target(), "syslog-in");
                try (restarted) {
                    assertThat(Integer.parseInt(restarted.awaitLine("listening ", WAIT_SECONDS).substring(10)))
                            .as("the same socket, on its port").isEqualTo(port);
                    restarted.awaitLine("got " + (stream.sent() + 100), WAIT_SECONDS);
                    stream.finish();
                    send(sender, port, "end");
                    restarted.awaitLine("got end", WAIT_SECONDS);
                    restarted.tell("report");
                    long dropped = Long.parseLong(restarted.awaitLine("dropped ", WAIT_SECONDS).substring(8));

                    List<Integer> before = numbers(victim.output);
                    List<Integer> after = numbers(restarted.output);
                    Set<Integer> seen = new HashSet<>();
                    for (int n : before) {
                        assertThat(seen.add(n)).as("datagram %d arrived twice", n).isTrue();
                    }
                    for (int n : after) {
                        assertThat(seen.add(n)).as("datagram %d arrived twice", n).isTrue();
                    }
                    assertThat(dropped).as("nothing dropped: the stream fits the daemon's bound").isZero();
                    for (int n = sentBeforeDetach + 1; n <= stream.sent(); n++) {
                        assertThat(seen).as("datagram %d, sent while no client listened", n).contains(n);
                    }
                    assertThat(after).as("in order").isSorted();
                }
                assertThat(daemon.openSockets()).isEqualTo(1);
            } finally {
                admin.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static List<Integer> numbers(List<String> output) {
        return output.stream().filter(l -> l.startsWith("got ") && !l.equals("got end"))
                .map(l -> Integer.parseInt(l.substring(4))).toList();
    }

    private static void send(DatagramSocket from, int port, String text) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }

    /** Returns once the daemon sees no Events stream on its one socket, asking Admin at most 500 times. */
    private static void awaitDetached(ManagedChannel channel) {
        AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(channel);
        for (int attempt = 0; attempt < 500; attempt++) {
            List<SocketInfo> sockets = admin.withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS)
                    .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList();
            if (sockets.size() == 1 && !sockets.get(0).getEventsAttached()) {
                return;
            }
        }
        throw new AssertionError("the daemon still sees the killed client's Events stream");
    }

    /** Numbered datagrams, 1, 2, 3, ..., about 2,000 a second, on a thread of their own. */
    private static final class Stream extends Thread {
        private final DatagramSocket sender;
        private final int port;
        private final AtomicInteger sent = new AtomicInteger();
        private final AtomicBoolean running = new AtomicBoolean(true);

        Stream(DatagramSocket sender, int port) {
            super("numbered-stream");
            setDaemon(true);
            this.sender = sender;
            this.port = port;
        }

        @Override
        public void run() {
            try {
                while (running.get()) {
                    send(sender, port, Integer.toString(sent.get() + 1));
                    sent.incrementAndGet();
                    LockSupport.parkNanos(500_000); // pacing the stream, not waiting for anything
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        int sent() {
            return sent.get();
        }

        void finish() throws InterruptedException {
            running.set(false);
            join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        }
    }
}
