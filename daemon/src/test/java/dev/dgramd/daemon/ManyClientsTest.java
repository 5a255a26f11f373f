package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.CreateSocketResponse;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendResponse;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many clients at once: {@value #SESSIONS} sessions, each on its own gRPC channel (its own HTTP/2
 * connection), all started together, each creating {@value #SOCKETS_PER_SESSION} sockets concurrently
 * ({@value #SESSIONS} x {@value #SOCKETS_PER_SESSION} = 2,000 sockets), binding them to 127.0.0.1,
 * sending {@value #DATAGRAMS_PER_SOCKET} datagrams from each socket to the next one of its ring (half
 * the sessions through SendStream, half through unary Send), reading them on the Events streams, and
 * closing them. All 2,000 are open and bound at one moment (the sessions meet at a barrier there).
 * Then every socket is accounted for: each one was created once (distinct ids), emitted 'listening',
 * received exactly the datagrams sent to it, emitted 'close', and its Events stream ended; the
 * daemon's open socket count is back to 0; and the process's open file descriptors (the daemon is
 * in-process; the 200 client connections are shut down) are back within {@value #FD_SLACK} of their
 * count before. A dedicated daemon.
 */
class ManyClientsTest {
    static final int SESSIONS = 200;
    static final int SOCKETS_PER_SESSION = 10;
    static final int DATAGRAMS_PER_SOCKET = 3;
    /** Bound for any one wait (the whole test takes a few seconds on two cores). */
    static final long TIMEOUT_SECONDS = 45;
    static final int FD_SLACK = 16;

    private static Dgramd daemon;
    /** Kept open for the whole class: it holds gRPC's shared client event loops (and their descriptors). */
    private static ManagedChannel control;
    private static DgramGrpc.DgramBlockingStub controlStub;
    /** Every session waits here once its sockets are bound: all 2,000 are open and bound at once. */
    private final CyclicBarrier allBound = new CyclicBarrier(SESSIONS);
    private final AtomicInteger openWhenAllBound = new AtomicInteger(-1);

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        control = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        controlStub = DgramGrpc.newBlockingStub(control);
        // Warm up (connection, classes) so the descriptor baseline is steady.
        String id = blocking().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
        blocking().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build());
        blocking().close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (control != null) {
            control.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    /** What one session saw of one of its sockets. */
    record SocketReport(String id, int port, List<SocketEvent> events, Set<String> expectedPayloads,
                        int expectedSenderPort) {}

    @Test
    void twoHundredSessionsCreateSendReceiveAndCloseTwoThousandSocketsAndAllAreAccountedFor() throws Exception {
        int socketsBefore = daemon.openSockets();
        long fdsBefore = FuzzTest.openFds();
        ExecutorService threads = Executors.newFixedThreadPool(SESSIONS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<SocketReport>>> sessions = new ArrayList<>();
        long began = System.nanoTime();
        try {
            for (int s = 0; s < SESSIONS; s++) {
                int session = s;
                sessions.add(threads.submit(() -> {
                    start.await();
                    return runSession(session);
                }));
            }
            start.countDown(); // all sessions at once
            List<SocketReport> all = new ArrayList<>();
            for (int s = 0; s < SESSIONS; s++) {
                try {
                    all.addAll(sessions.get(s).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    throw new AssertionError("session " + s + " failed: " + e.getCause(), e.getCause());
                } catch (TimeoutException e) {
                    fail("session %d did not finish within %d s", s, TIMEOUT_SECONDS);
                }
            }
            System.out.printf("ManyClientsTest: %d sessions, %d sockets in %d ms%n", SESSIONS, all.size(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));

            // Every socket accounted for.
            assertThat(openWhenAllBound.get()).as("sockets open while every session had bound its own")
                    .isEqualTo(socketsBefore + SESSIONS * SOCKETS_PER_SESSION);
            assertThat(all).hasSize(SESSIONS * SOCKETS_PER_SESSION);
            Set<String> ids = new HashSet<>();
            for (SocketReport r : all) {
                assertThat(ids.add(r.id())).as("socket id %s given once", r.id()).isTrue();
                List<SocketEvent> events = r.events();
                assertThat(events).as("events of %s", r.id()).hasSize(2 + DATAGRAMS_PER_SOCKET);
                assertThat(events.get(0).getEventCase()).isEqualTo(EventCase.LISTENING);
                assertThat(events.get(0).getListening().getAddress().getPort()).isEqualTo(r.port());
                Set<String> payloads = new HashSet<>();
                for (SocketEvent e : events.subList(1, 1 + DATAGRAMS_PER_SOCKET)) {
                    assertThat(e.getEventCase()).as("event of %s", r.id()).isEqualTo(EventCase.MESSAGE);
                    Message m = e.getMessage();
                    assertThat(m.getRinfo().getAddress()).isEqualTo("127.0.0.1");
                    assertThat(m.getRinfo().getPort()).as("sender of %s", r.id()).isEqualTo(r.expectedSenderPort());
                    payloads.add(m.getData().toStringUtf8());
                }
                assertThat(payloads).as("datagrams received by %s", r.id()).isEqualTo(r.expectedPayloads());
                assertThat(events.get(events.size() - 1).getEventCase()).as("last event of %s", r.id())
                        .isEqualTo(EventCase.CLOSE);
            }
            assertThat(daemon.openSockets()).as("open sockets after every session closed its own")
                    .isEqualTo(socketsBefore);
        } finally {
            threads.shutdownNow();
            assertThat(threads.awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
        }
        awaitFdsAtMost(fdsBefore + FD_SLACK);
    }

    /** One client: its own channel, its sockets, its datagrams; returns what it saw. */
    private List<SocketReport> runSession(int session) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        List<EventRecorder> recorders = new ArrayList<>();
        try {
            DgramGrpc.DgramFutureStub futures = DgramGrpc.newFutureStub(channel);
            DgramGrpc.DgramStub async = DgramGrpc.newStub(channel);

            // Create every socket at once.
            List<ListenableFuture<CreateSocketResponse>> creating = new ArrayList<>();
            for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
                creating.add(withDeadline(futures).createSocket(CreateSocketRequest.newBuilder()
                        .setType(SocketType.SOCKET_TYPE_UDP4).build()));
            }
            List<String> ids = new ArrayList<>();
            for (CreateSocketResponse r : await(Futures.allAsList(creating))) {
                ids.add(r.getSocketId());
            }
            for (String id : ids) {
                recorders.add(EventRecorder.subscribe(async, id));
            }

            // Bind every socket at once.
            List<ListenableFuture<dev.dgramd.proto.v1.BindResponse>> binding = new ArrayList<>();
            for (String id : ids) {
                binding.add(withDeadline(futures).bind(BindRequest.newBuilder().setSocketId(id)
                        .setAddress("127.0.0.1").build()));
            }
            int[] ports = await(Futures.allAsList(binding)).stream().mapToInt(b -> b.getAddress().getPort()).toArray();
            if (allBound.await(TIMEOUT_SECONDS, TimeUnit.SECONDS) == 0) {
                openWhenAllBound.set(daemon.openSockets()); // one session looks, while all wait below
            }
            allBound.await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            List<List<SocketEvent>> seen = new ArrayList<>();
            for (EventRecorder r : recorders) {
                List<SocketEvent> events = new ArrayList<>();
                events.add(r.next(EventCase.LISTENING));
                seen.add(events);
            }

            // Socket i sends to socket i+1 of the ring.
            List<Set<String>> expected = new ArrayList<>();
            for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
                expected.add(new HashSet<>());
            }
            if (session % 2 == 0) {
                sendThroughSendStream(async, session, ids, ports, expected);
            } else {
                List<ListenableFuture<SendResponse>> sending = new ArrayList<>();
                List<Integer> sizes = new ArrayList<>();
                for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
                    int to = (i + 1) % SOCKETS_PER_SESSION;
                    for (int n = 0; n < DATAGRAMS_PER_SOCKET; n++) {
                        String text = payload(session, i, n);
                        expected.get(to).add(text);
                        sizes.add(text.length());
                        sending.add(withDeadline(futures).send(SendRequest.newBuilder().setSocketId(ids.get(i))
                                .setData(ByteString.copyFromUtf8(text)).setPort(ports[to]).setAddress("127.0.0.1")
                                .build()));
                    }
                }
                List<SendResponse> sent = await(Futures.allAsList(sending));
                for (int k = 0; k < sent.size(); k++) {
                    assertThat(sent.get(k).getBytes()).isEqualTo(sizes.get(k));
                }
            }
            for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
                for (int n = 0; n < DATAGRAMS_PER_SOCKET; n++) {
                    seen.get(i).add(recorders.get(i).next(EventCase.MESSAGE));
                }
            }

            // Close every socket at once; each Events stream ends with 'close'.
            List<ListenableFuture<dev.dgramd.proto.v1.CloseResponse>> closing = new ArrayList<>();
            for (String id : ids) {
                closing.add(withDeadline(futures).close(CloseRequest.newBuilder().setSocketId(id).build()));
            }
            for (dev.dgramd.proto.v1.CloseResponse c : await(Futures.allAsList(closing))) {
                assertThat(c.getAlreadyClosed()).isFalse();
            }
            List<SocketReport> reports = new ArrayList<>();
            for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
                EventRecorder r = recorders.get(i);
                seen.get(i).add(r.next(EventCase.CLOSE));
                r.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                assertThat(r.poll()).as("nothing after 'close'").isNull();
                int from = (i + SOCKETS_PER_SESSION - 1) % SOCKETS_PER_SESSION;
                reports.add(new SocketReport(ids.get(i), ports[i], seen.get(i), expected.get(i), ports[from]));
            }
            return reports;
        } finally {
            for (EventRecorder r : recorders) {
                r.close();
            }
            channel.shutdownNow();
            if (!channel.awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("session " + session + ": channel did not terminate");
            }
        }
    }

    /** All of the session's datagrams on one SendStream call, one batch per socket. */
    private static void sendThroughSendStream(DgramGrpc.DgramStub async, int session, List<String> ids, int[] ports,
                                              List<Set<String>> expected) throws Exception {
        SendStreamRecorder stream = SendStreamRecorder.open(async.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        StreamObserver<SendStreamRequest> requests = stream.requests();
        ConcurrentHashMap<Long, Integer> sizes = new ConcurrentHashMap<>();
        long id = 0;
        for (int i = 0; i < SOCKETS_PER_SESSION; i++) {
            int to = (i + 1) % SOCKETS_PER_SESSION;
            SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(ids.get(i));
            for (int n = 0; n < DATAGRAMS_PER_SOCKET; n++) {
                String text = payload(session, i, n);
                expected.get(to).add(text);
                sizes.put(id, text.length());
                batch.addDatagrams(OutboundDatagram.newBuilder().setId(id++).setData(ByteString.copyFromUtf8(text))
                        .setPort(ports[to]).setAddress("127.0.0.1"));
            }
            requests.onNext(batch.build()); // 10 small batches: the client buffers them
        }
        requests.onCompleted();
        Throwable failure = stream.end().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (failure != null) {
            throw new AssertionError("SendStream of session " + session + " failed", failure);
        }
        int answered = 0;
        for (SendStreamResponse b = stream.poll(); b != null; b = stream.poll()) {
            for (SendResult r : b.getResultsList()) {
                assertThat(r.hasError()).as("result %s", r).isFalse();
                assertThat(r.getBytes()).isEqualTo(sizes.get(r.getId()));
                answered++;
            }
        }
        assertThat(answered).isEqualTo(SOCKETS_PER_SESSION * DATAGRAMS_PER_SOCKET);
    }

    private static String payload(int session, int socket, int n) {
        return "session-" + session + "/socket-" + socket + "/datagram-" + n;
    }

    private static DgramGrpc.DgramFutureStub withDeadline(DgramGrpc.DgramFutureStub stub) {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static <T> T await(ListenableFuture<T> future) throws Exception {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException sre) {
                throw new AssertionError("call failed: " + sre.getStatus(), sre);
            }
            throw e;
        }
    }

    private static DgramGrpc.DgramBlockingStub blocking() {
        return controlStub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * Waits until the process has at most {@code limit} open descriptors. The daemon closes its end of
     * a client connection when it reads the client's FIN, and no event tells a test when that was: so
     * this polls, each round a blocking round trip to the daemon (which also lets its event loops
     * run), bounded by {@link #TIMEOUT_SECONDS}.
     */
    private static void awaitFdsAtMost(long limit) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        long fds = FuzzTest.openFds();
        while (fds > limit && System.nanoTime() < deadline) {
            String id = blocking().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            blocking().close(CloseRequest.newBuilder().setSocketId(id).build());
            fds = FuzzTest.openFds();
        }
        assertThat(fds).as("open file descriptors after all sessions ended (limit %d)", limit)
                .isLessThanOrEqualTo(limit);
    }
}
