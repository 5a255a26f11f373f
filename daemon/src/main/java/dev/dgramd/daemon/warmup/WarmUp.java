package dev.dgramd.daemon.warmup;

import com.google.protobuf.ByteString;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.grpc.DgramService;
import dev.dgramd.daemon.grpc.DropCounters;
import dev.dgramd.daemon.policy.Enforcer;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.Transport;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SessionClose;
import dev.dgramd.proto.v1.SessionOpen;
import dev.dgramd.proto.v1.SessionRequest;
import dev.dgramd.proto.v1.SessionResponse;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a daemon up before it serves: its datagram paths run for a moment on a private copy of
 * the service, so that the JIT has compiled them when the first client's datagram arrives. A
 * fresh JVM runs them interpreted at first, several times slower, and a socket then loses what
 * its kernel buffer cannot hold; a restart by hand-over ({@code --take-over}) warms up before it
 * takes the sockets, while the old process still serves them.
 *
 * <p>The warm-up serves the real {@link DgramService} over the real gRPC transport, on the
 * daemon's event loops, but on a listener of its own (loopback, an ephemeral port, nobody else
 * told of it) with a registry, budget and counters of its own: nothing of it shows in the
 * daemon's sockets, metrics or quotas. First sockets are made, bound and closed on a Session call,
 * 8 at a time (the control path, as the Java client takes it: up to {@value #MAX_SOCKETS} of them in {@value #SOCKETS_SHARE_PERCENT}% of the
 * budget); then one socket bound on 127.0.0.1 sends datagrams to itself over a SendStream (64 and
 * 1,200 bytes) and reads them from its event stream, until {@code budget} has passed or {@code
 * maxDatagrams} were sent; then it is closed and the listener stops. Best effort: a failure is
 * logged and the daemon starts anyway.
 */
public final class WarmUp {
    private static final Logger log = LoggerFactory.getLogger(WarmUp.class);
    private static final int BATCH = 128;
    private static final int BATCHES_IN_FLIGHT = 8;
    private static final long STEP_SECONDS = 5;
    private static final int MAX_SOCKETS = 2_000;
    private static final int SOCKETS_AT_ONCE = 8;
    private static final int SOCKETS_SHARE_PERCENT = 40;

    /** What a warm-up did: sockets made and closed, datagrams sent and received, how long it took. */
    public record Result(int sockets, long sent, long received, Duration took) {}

    private WarmUp() {}

    /**
     * Runs the warm-up on {@code transport}'s event loops; returns when it is over (at most about
     * {@code budget} plus a few seconds when something hangs).
     *
     * @throws IOException when the warm-up could not run (its listener, its socket); the daemon
     *     does not need it
     */
    public static Result run(Transport transport, Duration budget, long maxDatagrams) throws IOException {
        long t0 = System.nanoTime();
        SocketRegistry registry = new SocketRegistry(transport);
        DgramService dgram = new DgramService(registry, new Enforcer(Policy.defaults()), transport.group(),
                new EventBudget(16 << 20, 8 << 20), new DropCounters(), Duration.ZERO);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .bossEventLoopGroup(transport.group())
                .workerEventLoopGroup(transport.group())
                .channelType(transport.serverChannelType())
                .directExecutor()
                .addService(dgram.definition())
                .build()
                .start();
        ManagedChannel channel = null;
        try {
            int port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
            channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .eventLoopGroup(transport.group()).channelType(transport.clientChannelType())
                    .directExecutor().build();
            int sockets = sockets(DgramGrpc.newStub(channel), t0 + budget.toNanos() * SOCKETS_SHARE_PERCENT / 100);
            Result r = traffic(channel, budget, maxDatagrams, t0, sockets);
            log.info("dgramd warmed up in {} ms: {} sockets made and closed, {} datagrams sent to itself, {} received",
                    r.took().toMillis(), r.sockets(), r.sent(), r.received());
            return r;
        } finally {
            if (channel != null) {
                channel.shutdownNow();
            }
            server.shutdownNow();
            try {
                server.awaitTermination(STEP_SECONDS, TimeUnit.SECONDS);
                if (channel != null) {
                    channel.awaitTermination(STEP_SECONDS, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            registry.close();
        }
    }

    /**
     * Makes, binds and closes sockets on one Session call, as the Java client does,
     * {@value #SOCKETS_AT_ONCE} at a time, until {@code deadline} (nanoTime) or
     * {@value #MAX_SOCKETS}; returns how many went the whole way.
     */
    private static int sockets(DgramGrpc.DgramStub stub, long deadline) {
        Semaphore free = new Semaphore(SOCKETS_AT_ONCE);
        AtomicLong done = new AtomicLong();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        StreamObserver<SessionRequest>[] requests = newRequests();
        requests[0] = stub.session(new StreamObserver<SessionResponse>() {
            @Override
            public void onNext(SessionResponse r) {
                if (r.hasEnd()) {
                    if (r.getEnd().getCode() == 0) {
                        done.incrementAndGet(); // ended after 'close'
                    }
                    free.release();
                    return;
                }
                for (SocketEvent e : r.getEvents().getEventsList()) {
                    if (e.getEventCase() == SocketEvent.EventCase.LISTENING) {
                        send(requests, SessionRequest.newBuilder().setSlot(r.getSlot())
                                .setClose(SessionClose.getDefaultInstance()).build());
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(null);
                free.release(SOCKETS_AT_ONCE); // nothing more comes: let the loop end
            }

            @Override
            public void onCompleted() {
                ended.complete(null);
            }
        });
        int started = 0;
        try {
            while (started < MAX_SOCKETS && System.nanoTime() - deadline < 0 && !ended.isDone()) {
                if (!free.tryAcquire(STEP_SECONDS, TimeUnit.SECONDS)) {
                    break; // no answers: stop, the daemon does not need this
                }
                started++;
                send(requests, SessionRequest.newBuilder().setSlot(started).setOpen(SessionOpen.newBuilder()
                        .setCredit(4).setEvents(EventsRequest.newBuilder()
                                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4))
                                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1")))).build());
            }
            free.tryAcquire(SOCKETS_AT_ONCE, STEP_SECONDS, TimeUnit.SECONDS); // the last ones end (their close is sent)
            synchronized (requests) {
                requests[0].onCompleted(); // no slot open: the call completes
            }
            ended.get(STEP_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
                 | IllegalStateException e) {
            log.debug("warm-up: the Session call did not end: {}", e.toString());
        }
        return (int) done.get();
    }

    /** Writes {@code r} on the Session call (from the warm-up's thread or the transport's, one at a time). */
    private static void send(StreamObserver<SessionRequest>[] requests, SessionRequest r) {
        synchronized (requests) {
            try {
                requests[0].onNext(r);
            } catch (IllegalStateException e) { // half-closed or cancelled already: nothing to do
                log.debug("warm-up: {}", e.toString());
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static StreamObserver<SessionRequest>[] newRequests() {
        return (StreamObserver<SessionRequest>[]) new StreamObserver<?>[1];
    }

    private static Result traffic(ManagedChannel channel, Duration budget, long maxDatagrams, long t0, int sockets)
            throws IOException {
        DgramGrpc.DgramStub stub = DgramGrpc.newStub(channel);
        AtomicLong received = new AtomicLong();
        AtomicLong expected = new AtomicLong(Long.MAX_VALUE); // set once everything was sent
        CompletableFuture<Void> allIn = new CompletableFuture<>();
        CompletableFuture<int[]> listening = new CompletableFuture<>(); // the port
        CompletableFuture<String> id = new CompletableFuture<>();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        stub.events(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                        .setRecvBufferSize(4 << 20))
                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1"))
                .build(), new StreamObserver<EventsResponse>() {
                    @Override
                    public void onNext(EventsResponse batch) {
                        if (!batch.getSocketId().isEmpty()) {
                            id.complete(batch.getSocketId());
                        }
                        for (SocketEvent e : batch.getEventsList()) {
                            switch (e.getEventCase()) {
                                case MESSAGE -> {
                                    if (received.incrementAndGet() >= expected.get()) {
                                        allIn.complete(null);
                                    }
                                }
                                case LISTENING -> listening.complete(new int[] {e.getListening().getAddress().getPort()});
                                case ERROR -> listening.completeExceptionally(new IOException(
                                        "warm-up socket: " + e.getError().getError().getMessage()));
                                default -> { }
                            }
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        listening.completeExceptionally(t);
                        ended.complete(null);
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(null);
                    }
                });
        String socketId;
        int port;
        try {
            port = listening.get(STEP_SECONDS, TimeUnit.SECONDS)[0];
            socketId = id.get(STEP_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("the warm-up socket did not bind: " + e, e);
        }
        Semaphore window = new Semaphore(BATCHES_IN_FLIGHT);
        CompletableFuture<Void> sendEnded = new CompletableFuture<>();
        ClientCallStreamObserver<SendStreamRequest>[] requests = newHolder();
        stub.sendStream(new ClientResponseObserver<SendStreamRequest, SendStreamResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SendStreamRequest> r) {
                requests[0] = r;
            }

            @Override
            public void onNext(SendStreamResponse value) {
                window.release();
            }

            @Override
            public void onError(Throwable t) {
                sendEnded.complete(null);
                window.release(BATCHES_IN_FLIGHT);
            }

            @Override
            public void onCompleted() {
                sendEnded.complete(null);
                window.release(BATCHES_IN_FLIGHT);
            }
        });
        ByteString small = ByteString.copyFrom(new byte[64]);
        ByteString large = ByteString.copyFrom(new byte[1200]);
        long deadline = t0 + budget.toNanos();
        long sent = 0;
        try {
            // one batch at least, however long the socket took to come up
            for (int batch = 0; sent < maxDatagrams && (batch == 0 || System.nanoTime() - deadline < 0)
                    && !sendEnded.isDone(); batch++) {
                if (!window.tryAcquire(STEP_SECONDS, TimeUnit.SECONDS)) {
                    break; // no answers: stop, the daemon does not need this
                }
                SendStreamRequest.Builder req = SendStreamRequest.newBuilder().setSocketId(socketId);
                ByteString data = batch % 4 == 3 ? large : small;
                for (int i = 0; i < BATCH; i++) {
                    req.addDatagrams(OutboundDatagram.newBuilder().setId(++sent).setData(data).setPort(port)
                            .setAddress("127.0.0.1"));
                }
                requests[0].onNext(req.build());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        requests[0].onCompleted();
        try {
            // every batch answered, then what the kernel did not drop read, before the socket closes
            if (window.tryAcquire(BATCHES_IN_FLIGHT, STEP_SECONDS, TimeUnit.SECONDS)) {
                expected.set(sent);
                if (received.get() >= sent) {
                    allIn.complete(null);
                }
                allIn.get(200, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.debug("warm-up: {} of {} datagrams read back", received.get(), sent);
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        stub.close(CloseRequest.newBuilder().setSocketId(socketId).build(), new StreamObserver<>() {
            @Override
            public void onNext(dev.dgramd.proto.v1.CloseResponse value) {
            }

            @Override
            public void onError(Throwable t) {
                closed.complete(null);
            }

            @Override
            public void onCompleted() {
                closed.complete(null);
            }
        });
        try {
            CompletableFuture.allOf(closed, ended).get(STEP_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("warm-up: the socket's close was not seen", e);
        }
        return new Result(sockets, sent, received.get(), Duration.ofNanos(System.nanoTime() - t0));
    }

    @SuppressWarnings("unchecked")
    private static ClientCallStreamObserver<SendStreamRequest>[] newHolder() {
        return new ClientCallStreamObserver[1];
    }
}
