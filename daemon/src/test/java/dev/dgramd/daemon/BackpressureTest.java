package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.GetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A reader that falls behind on its Events stream: the daemon keeps a bounded number of bytes per
 * socket, drops (and counts) the 'message' events beyond it, and keeps serving. Its own daemon, with
 * the smallest event queue the options allow (64 KiB).
 */
class BackpressureTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    private static final long MAX_QUEUED_EVENT_BYTES = 65_536;
    /** The HTTP/2 stream window this test's channel grants: what the daemon may send ahead of the reader. */
    private static final int CLIENT_WINDOW = 65_536;
    /** grpc-java's default: a server stream stops being ready once this much is queued in its transport. */
    private static final int ON_READY_THRESHOLD = 32 * 1024;
    private static final int FLOOD = 5_000;
    private static final int PAYLOAD = 1_000;

    private static Dgramd daemon;
    private static ManagedChannel channel;
    private static DgramGrpc.DgramBlockingStub stub;
    private static DgramGrpc.DgramStub async;

    private final List<String> sockets = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).maxQueuedEventBytes(MAX_QUEUED_EVENT_BYTES));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext()
                // A fixed window (no auto-tuning), so what the transport holds ahead of the reader is known.
                .flowControlWindow(CLIENT_WINDOW)
                // Callbacks of all calls run on the one transport thread, in the order the daemon answered.
                .directExecutor()
                .build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (String id : sockets) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build()); // idempotent
        }
        for (AutoCloseable r : resources) {
            r.close();
        }
    }

    @Test
    void slowReaderLosesMessagesNotTheStreamAndTheDaemonKeepsServing() throws Exception {
        // A kernel receive buffer (8 MiB once Linux doubles it) that holds most of the flood, so the
        // daemon, not the kernel, is where datagrams are dropped.
        String id = create(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).setRecvBufferSize(4 << 20)
                .build());
        EventRecorder events = EventRecorder.subscribe(async, id, true); // reads nothing until asked
        resources.add(events);
        int port = bind(id);

        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        resources.add(peer);
        InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        byte[] data = new byte[PAYLOAD];
        for (int seq = 0; seq < FLOOD; seq++) {
            ByteBuffer.wrap(data).putInt(seq);
            peer.send(new DatagramPacket(data, data.length, to));
        }
        byte[] marker = "marker".getBytes(StandardCharsets.US_ASCII);
        peer.send(new DatagramPacket(marker, marker.length, to));
        int sent = FLOOD + 1;

        // Wait (on RPC answers: the daemon keeps serving meanwhile) until the daemon has read every
        // datagram that reached its socket, while the reader still reads nothing.
        long kernelDrops = awaitSocketDrained(id, port);

        // Close: 'close' is never dropped, so the stream ends with it; then read everything.
        assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
        events.request(Integer.MAX_VALUE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        List<SocketEvent> all = new ArrayList<>();
        for (SocketEvent e = events.poll(); e != null; e = events.poll()) {
            all.add(e);
        }
        assertThat(all).first().extracting(SocketEvent::getEventCase).isEqualTo(EventCase.LISTENING);
        assertThat(all).last().extracting(SocketEvent::getEventCase).isEqualTo(EventCase.CLOSE);
        List<SocketEvent> messages = all.subList(1, all.size() - 1);
        assertThat(messages).allSatisfy(e -> assertThat(e.getEventCase()).isEqualTo(EventCase.MESSAGE));

        int delivered = messages.size();
        long dropped = events.dropped();
        String counts = String.format(Locale.ROOT, "sent %d: delivered %d, dropped by the daemon %d, by the kernel %d",
                sent, delivered, dropped, kernelDrops);
        // Every datagram that reached the socket is either delivered or counted as dropped.
        assertThat(delivered + dropped + kernelDrops).as(counts).isEqualTo(sent);
        assertThat(dropped).as(counts).isPositive();
        // What a reader that reads nothing can be owed: the socket's event queue, one batch taken from it,
        // what the gRPC transport queues before the stream stops being ready, and the HTTP/2 window.
        // (Plus two datagrams of slack for where each bound is crossed.)
        long bound = MAX_QUEUED_EVENT_BYTES + MAX_QUEUED_EVENT_BYTES + ON_READY_THRESHOLD + CLIENT_WINDOW + 2 * PAYLOAD;
        assertThat((long) delivered * PAYLOAD).as(counts).isLessThanOrEqualTo(bound);
        int previous = -1;
        for (int i = 0; i < messages.size(); i++) {
            ByteBuffer payload = messages.get(i).getMessage().getData().asReadOnlyByteBuffer();
            if (payload.remaining() == marker.length) {
                // The small marker may still fit where a flood datagram no longer did; it was sent last.
                assertThat(i).as("the marker is the last message").isEqualTo(messages.size() - 1);
                continue;
            }
            assertThat(payload.remaining()).isEqualTo(PAYLOAD);
            int seq = payload.getInt();
            assertThat(seq).as("delivered in order").isGreaterThan(previous);
            previous = seq;
        }

        // The daemon still serves: a new socket binds, answers, and closes with its 'close' event.
        String other = create(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build());
        EventRecorder otherEvents = EventRecorder.subscribe(async, other);
        resources.add(otherEvents);
        int otherPort = bind(other);
        assertThat(stub().address(AddressRequest.newBuilder().setSocketId(other).build()).getPort()).isEqualTo(otherPort);
        stub().close(CloseRequest.newBuilder().setSocketId(other).build());
        assertThat(otherEvents.next(EventCase.LISTENING).getListening().getAddress().getPort()).isEqualTo(otherPort);
        otherEvents.next(EventCase.CLOSE);
        otherEvents.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void oneEventsStreamPerSocketAndANewOneAfterCancel() throws Exception {
        String id = create(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build());
        EventRecorder first = EventRecorder.subscribe(async, id);
        resources.add(first);
        int port = bind(id);
        first.next(EventCase.LISTENING); // the first stream is attached

        EventRecorder second = EventRecorder.subscribe(async, id);
        resources.add(second);
        assertAlreadyAttached(second.done());
        // The refused call did not disturb the attached one.
        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        resources.add(peer);
        send(peer, "to-first", port);
        assertThat(first.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("to-first");

        first.close(); // cancels the stream
        assertThatThrownBy(() -> first.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
                .hasCauseInstanceOf(StatusRuntimeException.class);

        // The daemon learns of the cancel asynchronously (an event it emits meanwhile still goes to the
        // cancelled stream). The daemon handles one connection's calls in order, and this channel
        // delivers answers in order: once a probe behind the new call is refused, and the new call was
        // not, the new call is the attached one.
        EventRecorder third = EventRecorder.subscribe(async, id);
        resources.add(third);
        EventRecorder probe = EventRecorder.subscribe(async, id);
        resources.add(probe);
        assertAlreadyAttached(probe.done());
        assertThat(third.done()).as("the call after the cancel attaches").isNotDone();

        send(peer, "to-third", port);
        SocketEvent e = third.next(EventCase.MESSAGE);
        assertThat(e.getMessage().getData().toStringUtf8()).isEqualTo("to-third");
        assertThat(e.getMessage().getRinfo().getPort()).isEqualTo(peer.getLocalPort());

        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        third.next(EventCase.CLOSE);
        third.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void messagesQueuedBeforeAStreamAttachesKeepTheirBytesAcrossReadBursts() throws Exception {
        // No stream yet: every datagram waits in the socket's queue, over many read bursts (at most
        // 64 datagrams each), while later bursts are read through the same receive path.
        String id = create(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).setRecvBufferSize(1 << 20)
                .build());
        int port = bind(id);
        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        resources.add(peer);
        InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        int count = 200; // 200 of at most 200 bytes (and 64 of queue cost each) fit the 64 KiB queue
        byte[] data = new byte[200];
        for (int seq = 0; seq < count; seq++) {
            peer.send(new DatagramPacket(data, fill(data, seq), to));
        }
        assertThat(awaitSocketDrained(id, port)).as("datagrams the kernel dropped").isZero();

        EventRecorder events = EventRecorder.subscribe(async, id);
        resources.add(events);
        events.next(EventCase.LISTENING);
        for (int seq = 0; seq < count; seq++) {
            ByteBuffer payload = events.next(EventCase.MESSAGE).getMessage().getData().asReadOnlyByteBuffer();
            assertThat(payload.remaining()).as("datagram %d's size", seq).isEqualTo(size(seq));
            while (payload.hasRemaining()) {
                assertThat(payload.getInt()).as("datagram %d's bytes", seq).isEqualTo(seq);
            }
        }
        assertThat(events.dropped()).isZero();
    }

    /** Fills {@code data} with {@code seq}, in every word of its first {@link #size} bytes; returns the size. */
    private static int fill(byte[] data, int seq) {
        ByteBuffer b = ByteBuffer.wrap(data, 0, size(seq));
        while (b.hasRemaining()) {
            b.putInt(seq);
        }
        return size(seq);
    }

    /** Sizes that vary, so that bytes written over by later datagrams do not line up with the old ones. */
    private static int size(int seq) {
        return 4 * (10 + seq % 41);
    }

    // ---------------------------------------------------------------- helpers

    private static void assertAlreadyAttached(CompletableFuture<Void> done) {
        assertThatThrownBy(() -> done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .satisfies(t -> {
                    assertThat(t.getCause()).isInstanceOf(StatusRuntimeException.class);
                    StatusRuntimeException cause = (StatusRuntimeException) t.getCause();
                    assertThat(cause.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                    ErrorInfo info = DaemonTestBase.errorInfo(cause);
                    assertThat(info.getReason()).isEqualTo("ERR_EVENTS_ALREADY_ATTACHED");
                    assertThat(info.getDomain()).isEqualTo("dgramd");
                });
    }

    /**
     * Makes round trips to the daemon (each one a bounded wait on its answer) until the kernel reports
     * the socket's receive queue empty; returns the datagrams the kernel dropped for it.
     */
    private static long awaitSocketDrained(String id, int port) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            assertThat(stub().getRecvBufferSize(GetRecvBufferSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isPositive();
            long[] queueAndDrops = udpQueueAndDrops(port);
            if (queueAndDrops[0] == 0) {
                return queueAndDrops[1];
            }
            if (System.nanoTime() > deadline) {
                fail("the daemon did not read its socket within %d s: %d bytes still queued", TIMEOUT_SECONDS,
                        queueAndDrops[0]);
            }
        }
    }

    /** rx_queue (bytes) and drops of the UDP socket bound to 127.0.0.1:port, from /proc/net/udp. */
    private static long[] udpQueueAndDrops(int port) throws IOException {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        for (String line : Files.readAllLines(Path.of("/proc/net/udp"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 12 && f[1].equals(local)) {
                long rxQueue = Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
                return new long[] {rxQueue, Long.parseLong(f[f.length - 1])};
            }
        }
        throw new AssertionError("no UDP socket on 127.0.0.1:" + port + " in /proc/net/udp");
    }

    private static DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private String create(CreateSocketRequest request) {
        String id = stub().createSocket(request).getSocketId();
        sockets.add(id);
        return id;
    }

    private static int bind(String id) {
        return stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build()).getAddress()
                .getPort();
    }

    private static void send(DatagramSocket from, String text, int port) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }
}
