package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.Error;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The batched, flow-controlled SendStream RPC, driven by a client that writes only while the call
 * is ready (isReady/onReady).
 */
class SendStreamTest extends DaemonTestBase {
    private static final int BATCHES = 20;
    private static final int PER_BATCH = 100;

    @Test
    void everyDatagramOfEveryBatchIsSentAndAnswered() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        peer.setReceiveBufferSize(4 << 20); // room for the whole run: nothing is lost on loopback
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        int sourcePort = bind(socket);

        List<SendStreamRequest> batches = new ArrayList<>();
        for (int b = 0; b < BATCHES; b++) {
            SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(socket);
            for (int i = 0; i < PER_BATCH; i++) {
                long id = 1_000L + b * PER_BATCH + i;
                batch.addDatagrams(OutboundDatagram.newBuilder().setId(id).setData(ByteString.copyFrom(payload(id)))
                        .setPort(peer.getLocalPort()).setAddress("127.0.0.1"));
            }
            batches.add(batch.build());
        }

        SendStreamClient client = SendStreamClient.start(batches);
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        int total = BATCHES * PER_BATCH;
        assertThat(client.results()).hasSize(total);
        assertThat(client.duplicateResults()).as("results answered twice").isZero();
        for (long id = 1_000; id < 1_000 + total; id++) {
            SendResult r = client.results().get(id);
            assertThat(r).as("result for %d", id).isNotNull();
            assertThat(r.hasError()).as("error for %d: %s", id, r.getError()).isFalse();
            assertThat(r.getBytes()).as("bytes of %d", id).isEqualTo(payload(id).length);
        }
        assertThat(client.batches()).allSatisfy(b -> assertThat(b.getSocketId()).isEqualTo(socket));

        Set<Long> received = new HashSet<>();
        for (int n = 0; n < total; n++) {
            DatagramPacket p = receive(peer);
            byte[] data = Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength());
            long id = ByteBuffer.wrap(data).getLong();
            assertThat(data).as("payload of %d", id).isEqualTo(payload(id));
            assertThat(p.getPort()).isEqualTo(sourcePort);
            assertThat(received.add(id)).as("%d received once", id).isTrue();
        }
        assertThat(received).hasSize(total);
    }

    @Test
    void batchForUnknownSocketAnswersEveryDatagramWithNotRunning() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        String closed = create(SocketType.SOCKET_TYPE_UDP4);
        stub().close(CloseRequest.newBuilder().setSocketId(closed).build());

        // One stream, three sockets: unknown, closed, and a live one after them.
        List<SendStreamRequest> batches = List.of(
                batch("no-such-socket", datagram(1, peer.getLocalPort()), datagram(2, peer.getLocalPort()),
                        datagram(3, peer.getLocalPort())),
                batch(closed, datagram(4, peer.getLocalPort())),
                batch(socket, datagram(5, peer.getLocalPort())));
        SendStreamClient client = SendStreamClient.start(batches);
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        assertThat(client.results()).hasSize(5);
        for (long id = 1; id <= 4; id++) {
            SendResult r = client.results().get(id);
            assertThat(r.getError().getCode()).as("error of %d", id).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
            assertThat(r.getBytes()).isZero();
        }
        assertThat(client.batchFor("no-such-socket").getResultsList()).extracting(SendResult::getId)
                .containsExactly(1L, 2L, 3L);
        assertThat(client.results().get(5L).hasError()).isFalse();
        assertThat(client.results().get(5L).getBytes()).isEqualTo(payload(5).length);
        assertThat(receive(peer).getLength()).isEqualTo(payload(5).length);
    }

    @Test
    void failedDatagramWithEmitErrorIsAlsoAnErrorEvent() throws Exception {
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(socket);
        bind(socket);
        events.next(EventCase.LISTENING);

        // Port 0 on an unconnected socket fails before sending; a broadcast without SO_BROADCAST
        // fails in the kernel (EACCES). Both ask for 'error'.
        OutboundDatagram badPort = datagram(1, 0).toBuilder().setEmitError(true).build();
        OutboundDatagram denied = datagram(2, 9).toBuilder().setAddress("127.255.255.255").setEmitError(true).build();
        SendStreamClient client = SendStreamClient.start(List.of(batch(socket, badPort, denied)));
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        Error portError = client.results().get(1L).getError();
        assertThat(portError.getCode()).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(client.results().get(1L).getBytes()).isZero();
        Error accessError = client.results().get(2L).getError();
        assertThat(accessError.getCode()).isEqualTo("EACCES");
        assertThat(accessError.getSyscall()).isEqualTo("send");

        SocketEvent first = events.next(EventCase.ERROR);
        assertThat(first.getError().getError()).isEqualTo(portError);
        SocketEvent second = events.next(EventCase.ERROR);
        assertThat(second.getError().getError()).isEqualTo(accessError);
    }

    @Test
    void failedDatagramWithoutEmitErrorIsNoErrorEvent() throws Exception {
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(socket);
        bind(socket);
        events.next(EventCase.LISTENING);

        OutboundDatagram badPort = datagram(1, 0); // emit_error false
        OutboundDatagram denied = datagram(2, 9).toBuilder().setAddress("127.255.255.255").build();
        SendStreamClient client = SendStreamClient.start(List.of(batch(socket, badPort, denied)));
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(client.results().get(1L).getError().getCode()).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(client.results().get(2L).getError().getCode()).isEqualTo("EACCES");

        // Had an 'error' been emitted, it would come before 'close'.
        stub().close(CloseRequest.newBuilder().setSocketId(socket).build());
        events.next(EventCase.CLOSE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * A long queue behind a name lookup, of sends whose address fails at once (an IPv6 literal on a
     * udp4 socket: EINVAL without a lookup). Each was answered inside the answer of the one before,
     * so 20,000 of them overflowed the event loop's stack and the rest of the queue was never
     * answered (FuzzTest found it: a SendStream that never ended).
     */
    @Test
    void aLongQueueOfSendsThatFailAtOnceIsAnsweredInOrder() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        int failing = 20_000;
        SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(socket);
        batch.addDatagrams(datagram(0, peer.getLocalPort()).toBuilder().setAddress("localhost")); // a lookup
        for (int i = 1; i <= failing; i++) {
            batch.addDatagrams(OutboundDatagram.newBuilder().setId(i).setData(ByteString.copyFrom(new byte[1]))
                    .setPort(peer.getLocalPort()).setAddress("[::1]"));
        }
        batch.addDatagrams(datagram(failing + 1, peer.getLocalPort()));
        SendStreamClient client = SendStreamClient.start(List.of(batch.build()));
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        assertThat(client.results()).hasSize(failing + 2);
        assertThat(client.results().get(0L).hasError()).as("%s", client.results().get(0L)).isFalse();
        for (long id = 1; id <= failing; id++) {
            assertThat(client.results().get(id).getError().getCode()).as("error of %d", id).isEqualTo("EINVAL");
        }
        assertThat(client.results().get(failing + 1L).hasError()).isFalse();
        // In order: the datagram before the queue, then the one after it.
        assertThat(ByteBuffer.wrap(receive(peer).getData()).getLong()).isEqualTo(0L);
        assertThat(ByteBuffer.wrap(receive(peer).getData()).getLong()).isEqualTo(failing + 1L);
    }

    /**
     * Runs of one size to one destination are gathered into segmented sends (UDP GSO); every
     * datagram still arrives as itself, in order, with its own result. The batch: 30 of 1,000
     * bytes and a shorter one to A (one run of 31), 10 more of 1,000 (a run), 5 alternating
     * between B and A (runs of one: plain sends), 20 of 64 bytes to A (a run), then 1,473 and
     * 2,000 bytes (above the largest segment: plain) and two of 1,472 (a run).
     */
    @Test
    void runsToOneDestinationAreSegmentedAndArriveAsTheirDatagramsInOrder() throws Exception {
        DatagramSocket a = peer("127.0.0.1");
        DatagramSocket b = peer("127.0.0.1");
        a.setReceiveBufferSize(4 << 20);
        String socket = create(SocketType.SOCKET_TYPE_UDP4);
        bind(socket);
        List<long[]> plan = new ArrayList<>(); // {id, size, peer 0/1}
        long id = 1;
        for (int i = 0; i < 30; i++) {
            plan.add(new long[] {id++, 1000, 0});
        }
        plan.add(new long[] {id++, 400, 0});
        for (int i = 0; i < 10; i++) {
            plan.add(new long[] {id++, 1000, 0});
        }
        for (int i = 0; i < 5; i++) {
            plan.add(new long[] {id++, 1000, i % 2 == 0 ? 1 : 0});
        }
        for (int i = 0; i < 20; i++) {
            plan.add(new long[] {id++, 64, 0});
        }
        plan.add(new long[] {id++, 1473, 0});
        plan.add(new long[] {id++, 2000, 0});
        plan.add(new long[] {id++, 1472, 0});
        plan.add(new long[] {id++, 1472, 0});
        SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(socket);
        for (long[] d : plan) {
            batch.addDatagrams(OutboundDatagram.newBuilder().setId(d[0]).setData(ByteString.copyFrom(sized(d[0], (int) d[1])))
                    .setPort((d[2] == 0 ? a : b).getLocalPort()).setAddress("127.0.0.1"));
        }
        long segmentedBefore = daemon.totals().datagramsSegmented();

        SendStreamClient client = SendStreamClient.start(List.of(batch.build()));
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        for (long[] d : plan) {
            SendResult r = client.results().get(d[0]);
            assertThat(r.hasError()).as("error of %d: %s", d[0], r.getError()).isFalse();
            assertThat(r.getBytes()).as("bytes of %d", d[0]).isEqualTo((int) d[1]);
        }
        for (long[] d : plan) { // each peer gets its datagrams in the order sent, each whole
            DatagramPacket p = receive(d[2] == 0 ? a : b);
            byte[] data = Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength());
            assertThat(data).as("datagram %d", d[0]).isEqualTo(sized(d[0], (int) d[1]));
        }
        if (daemon.transport().equals("epoll")) {
            assertThat(daemon.totals().datagramsSegmented() - segmentedBefore).as("datagrams sent segmented")
                    .isEqualTo(31 + 10 + 20 + 2);
        }
    }

    /**
     * Over IPv6 the largest segment is 1,452 bytes: a run of 1,452-byte datagrams to ::1 is
     * segmented, one of 1,453 bytes is not, and each arrives whole, in order.
     */
    @Test
    void udp6RunsAreSegmentedUpToTheirLargestSegment() throws Exception {
        DatagramSocket peer = peer("::1");
        peer.setReceiveBufferSize(4 << 20);
        String socket = create(SocketType.SOCKET_TYPE_UDP6);
        stub().bind(BindRequest.newBuilder().setSocketId(socket).setAddress("::1").build());
        int[] sizes = {1452, 1452, 1452, 1453, 1453, 700, 700, 700};
        SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(socket);
        for (int i = 0; i < sizes.length; i++) {
            batch.addDatagrams(OutboundDatagram.newBuilder().setId(i + 1).setData(ByteString.copyFrom(sized(i + 1, sizes[i])))
                    .setPort(peer.getLocalPort()).setAddress("::1"));
        }
        long segmentedBefore = daemon.totals().datagramsSegmented();

        SendStreamClient client = SendStreamClient.start(List.of(batch.build()));
        client.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        for (int i = 0; i < sizes.length; i++) {
            SendResult r = client.results().get(i + 1L);
            assertThat(r.hasError()).as("error of %d: %s", i + 1, r.getError()).isFalse();
            assertThat(r.getBytes()).isEqualTo(sizes[i]);
            DatagramPacket p = receive(peer);
            assertThat(Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength()))
                    .as("datagram %d", i + 1).isEqualTo(sized(i + 1, sizes[i]));
        }
        if (daemon.transport().equals("epoll")) {
            assertThat(daemon.totals().datagramsSegmented() - segmentedBefore).as("datagrams sent segmented")
                    .isEqualTo(3 + 3);
        }
    }

    // ---------------------------------------------------------------- helpers

    private int bind(String socket) {
        return stub().bind(BindRequest.newBuilder().setSocketId(socket).setAddress("127.0.0.1").build())
                .getAddress().getPort();
    }

    /** 8 bytes of id, then a filler that depends on the id; 8..207 bytes long. */
    private static byte[] payload(long id) {
        byte[] data = new byte[8 + (int) (id % 200)];
        ByteBuffer.wrap(data).putLong(id);
        for (int i = 8; i < data.length; i++) {
            data[i] = (byte) (id * 31 + i);
        }
        return data;
    }

    /** 8 bytes of id, then a filler that depends on the id, {@code size} bytes in all. */
    private static byte[] sized(long id, int size) {
        byte[] data = new byte[size];
        ByteBuffer.wrap(data).putLong(id);
        for (int i = 8; i < size; i++) {
            data[i] = (byte) (id * 31 + i);
        }
        return data;
    }

    private static OutboundDatagram datagram(long id, int port) {
        return OutboundDatagram.newBuilder().setId(id).setData(ByteString.copyFrom(payload(id))).setPort(port)
                .setAddress("127.0.0.1").build();
    }

    private static SendStreamRequest batch(String socket, OutboundDatagram... datagrams) {
        return SendStreamRequest.newBuilder().setSocketId(socket).addAllDatagrams(List.of(datagrams)).build();
    }

    /** A SendStream call that writes its batches only while the call is ready, then half-closes. */
    private static final class SendStreamClient implements ClientResponseObserver<SendStreamRequest, SendStreamResponse> {
        private final Queue<SendStreamRequest> toSend;
        private final Map<Long, SendResult> results = new ConcurrentHashMap<>();
        private final List<SendStreamResponse> batches = new CopyOnWriteArrayList<>();
        private final AtomicInteger duplicates = new AtomicInteger();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private ClientCallStreamObserver<SendStreamRequest> requests;
        private boolean halfClosed;

        private SendStreamClient(List<SendStreamRequest> batches) {
            this.toSend = new ArrayDeque<>(batches);
        }

        static SendStreamClient start(List<SendStreamRequest> batches) {
            SendStreamClient client = new SendStreamClient(batches);
            async.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS).sendStream(client);
            return client;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SendStreamRequest> requestStream) {
            this.requests = requestStream;
            requestStream.setOnReadyHandler(this::pump);
        }

        /** Writes while the call is ready; onReady calls it again when the call has room. */
        private synchronized void pump() {
            while (!toSend.isEmpty() && requests.isReady()) {
                requests.onNext(toSend.poll());
            }
            if (toSend.isEmpty() && !halfClosed) {
                halfClosed = true;
                requests.onCompleted();
            }
        }

        @Override
        public void onNext(SendStreamResponse batch) {
            batches.add(batch);
            for (SendResult r : batch.getResultsList()) {
                if (results.putIfAbsent(r.getId(), r) != null) {
                    duplicates.incrementAndGet();
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(null);
        }

        CompletableFuture<Void> done() {
            return done;
        }

        Map<Long, SendResult> results() {
            return results;
        }

        int duplicateResults() {
            return duplicates.get();
        }

        List<SendStreamResponse> batches() {
            return batches;
        }

        SendStreamResponse batchFor(String socketId) {
            return batches.stream().filter(b -> b.getSocketId().equals(socketId)).findFirst()
                    .orElseThrow(() -> new AssertionError("no result batch for " + socketId));
        }
    }
}
