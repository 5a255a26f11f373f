package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.GetSendQueueCountRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A flood of inbound datagrams on many sockets whose clients stall. Its own daemon, with the smallest
 * per-socket event bound the options allow ({@code maxQueuedEventBytes(65536)}). {@value #SOCKETS}
 * sockets bound to 127.0.0.1, each with an Events stream whose reader reads nothing (manual flow
 * control, nothing requested) on a channel with a fixed 64 KiB HTTP/2 window; JDK senders on
 * loopback flood every socket with {@value #PAYLOAD}-byte datagrams for up to {@value #FLOOD_SECONDS} s.
 *
 * <p>The stated bound: while every reader is still stalled after the flood, the JVM's used heap (the
 * daemon runs in-process; measured with {@link MemoryMXBean} after {@code System.gc()}) has grown by
 * less than 64 MiB + 50 x 2 x 64 KiB = 70.4 MiB since before the flood ({@link #HEAP_BOUND}): per
 * socket, at most about its event bound plus one batch taken from it; the 64 MiB is room for
 * everything else the JVM holds at one moment. The test is only meaningful when the daemon took in
 * far more than that: it checks that the datagrams the daemon read (sent, less what the kernel dropped
 * for each socket, from /proc/net/udp) add up to more than twice the bound, so a daemon that kept what
 * it read would fail. Then the daemon still serves (a new socket with a reader receives a datagram),
 * the stalled streams are cancelled, every socket is closed and the daemon's count is back to 0.
 */
class StalledClientsFloodTest {
    static final int SOCKETS = 50;
    static final long MAX_QUEUED_EVENT_BYTES = 65_536;
    static final long HEAP_BOUND = (64L << 20) + SOCKETS * 2 * MAX_QUEUED_EVENT_BYTES;
    static final int PAYLOAD = 60_000;
    static final long FLOOD_SECONDS = 6;
    /** The flood also stops after this many bytes. */
    static final long FLOOD_BYTES = 32L << 30;
    static final int SENDERS = 1;
    static final long TIMEOUT_SECONDS = 20;

    private static Dgramd daemon;
    private static ManagedChannel control;
    private static ManagedChannel stalled;
    private static DgramGrpc.DgramBlockingStub stub;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).maxQueuedEventBytes(MAX_QUEUED_EVENT_BYTES));
        control = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        // A fixed window, so what the transport takes ahead of a reader that reads nothing is bounded.
        stalled = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().flowControlWindow(65_536).build();
        stub = DgramGrpc.newBlockingStub(control);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        for (ManagedChannel c : new ManagedChannel[] {stalled, control}) {
            if (c != null) {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void heapStaysBoundedWhileStalledReadersAreFloodedAndTheDaemonKeepsServing() throws Exception {
        int socketsBefore = daemon.openSockets();
        DgramGrpc.DgramStub stalledAsync = DgramGrpc.newStub(stalled);
        List<String> ids = new ArrayList<>();
        List<EventRecorder> readers = new ArrayList<>();
        int[] ports = new int[SOCKETS];
        for (int i = 0; i < SOCKETS; i++) {
            String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            ids.add(id);
            readers.add(EventRecorder.subscribe(stalledAsync, id, true)); // requests nothing
            ports[i] = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
        }
        long[] dropsBefore = new long[SOCKETS];
        Map<Integer, long[]> before = udpQueuesAndDrops();
        for (int i = 0; i < SOCKETS; i++) {
            dropsBefore[i] = before.get(ports[i])[1];
        }

        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long heapBefore = usedHeapAfterGc(memory);

        // The flood: each sender goes round all sockets until the time or byte budget is spent.
        AtomicLongArray sent = new AtomicLongArray(SOCKETS);
        ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
        long stopAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(FLOOD_SECONDS);
        List<Future<?>> flooding = new ArrayList<>();
        for (int s = 0; s < SENDERS; s++) {
            flooding.add(senders.submit(() -> {
                try (DatagramChannel out = DatagramChannel.open()) {
                    out.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                    ByteBuffer payload = ByteBuffer.allocateDirect(PAYLOAD);
                    long budget = FLOOD_BYTES / SENDERS;
                    for (long n = 0; n * PAYLOAD < budget && System.nanoTime() < stopAt; n++) {
                        int i = (int) (n % SOCKETS);
                        payload.clear();
                        out.send(payload, new InetSocketAddress(InetAddress.getLoopbackAddress(), ports[i]));
                        sent.incrementAndGet(i);
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : flooding) {
            f.get(FLOOD_SECONDS + TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        senders.shutdown();

        // Once the daemon has read every datagram the kernel kept for it: what did it take in?
        Map<Integer, long[]> after = awaitDrained(ids.get(0), ports);
        long datagramsRead = 0;
        long kernelDrops = 0;
        long datagramsSent = 0;
        for (int i = 0; i < SOCKETS; i++) {
            long drops = after.get(ports[i])[1] - dropsBefore[i];
            kernelDrops += drops;
            datagramsSent += sent.get(i);
            datagramsRead += sent.get(i) - drops;
        }
        long bytesRead = datagramsRead * PAYLOAD;
        long heapAfter = usedHeapAfterGc(memory);
        long growth = heapAfter - heapBefore;
        String report = String.format(Locale.ROOT, "sent %d datagrams (%d MiB), kernel dropped %d, daemon read %d MiB;"
                        + " heap %d MiB -> %d MiB (growth %d MiB, bound %.1f MiB)", datagramsSent,
                datagramsSent * PAYLOAD >> 20, kernelDrops, bytesRead >> 20, heapBefore >> 20, heapAfter >> 20,
                growth >> 20, HEAP_BOUND / (double) (1 << 20));
        System.out.println("StalledClientsFloodTest: " + report);
        assertThat(bytesRead).as("bytes the daemon read must dwarf the bound, or the test proves nothing: " + report)
                .isGreaterThan(2 * HEAP_BOUND);
        assertThat(growth).as("heap growth while %d readers stall: %s", SOCKETS, report).isLessThan(HEAP_BOUND);
        for (EventRecorder r : readers) {
            assertThat(r.done()).as("a stalled stream is still open").isNotDone();
        }

        // The daemon still serves, readers stalled or not.
        assertServes();

        // Cancel the stalled streams, then close every socket.
        for (EventRecorder r : readers) {
            r.close();
        }
        for (String id : ids) {
            assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
        }
        assertThat(daemon.openSockets()).isEqualTo(socketsBefore);
    }

    /** A new socket, with a reader that reads, binds, receives a datagram and closes. */
    private static void assertServes() throws Exception {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
        try (EventRecorder events = EventRecorder.subscribe(DgramGrpc.newStub(control), id);
             DatagramChannel peer = DatagramChannel.open()) {
            int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            assertThat(events.next(EventCase.LISTENING).getListening().getAddress().getPort()).isEqualTo(port);
            peer.send(ByteBuffer.wrap("still serving".getBytes(StandardCharsets.US_ASCII)),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            assertThat(events.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("still serving");
            assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
            events.next(EventCase.CLOSE);
            events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static long usedHeapAfterGc(MemoryMXBean memory) {
        System.gc();
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    /**
     * Round trips to the daemon (each a bounded wait on its answer) until the kernel reports every
     * socket's receive queue empty: no event says when the daemon has read its sockets dry. Returns
     * rx_queue and drops by port.
     */
    private static Map<Integer, long[]> awaitDrained(String anySocket, int[] ports) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            stub().getSendQueueCount(GetSendQueueCountRequest.newBuilder().setSocketId(anySocket).build());
            Map<Integer, long[]> now = udpQueuesAndDrops();
            long queued = 0;
            for (int port : ports) {
                long[] q = now.get(port);
                assertThat(q).as("socket on port %d in /proc/net/udp", port).isNotNull();
                queued += q[0];
            }
            if (queued == 0) {
                return now;
            }
            if (System.nanoTime() > deadline) {
                fail("the daemon did not read its sockets within %d s: %d bytes still queued", TIMEOUT_SECONDS, queued);
            }
        }
    }

    /** rx_queue (bytes) and drops of the UDP sockets bound to 127.0.0.1, by port, from /proc/net/udp. */
    private static Map<Integer, long[]> udpQueuesAndDrops() throws IOException {
        Map<Integer, long[]> byPort = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/net/udp"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 12 && f[1].startsWith("0100007F:")) {
                int port = Integer.parseInt(f[1].substring(9), 16);
                long rxQueue = Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
                byPort.put(port, new long[] {rxQueue, Long.parseLong(f[f.length - 1])});
            }
        }
        return byPort;
    }

    private static DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
