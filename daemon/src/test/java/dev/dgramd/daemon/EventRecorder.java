package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.SocketEvent;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Collects one socket's Events stream; waits on events with a bounded timeout. */
public final class EventRecorder implements ClientResponseObserver<EventsRequest, EventsResponse>, AutoCloseable {
    private final LinkedBlockingQueue<SocketEvent> events = new LinkedBlockingQueue<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final CompletableFuture<String> announced = new CompletableFuture<>();
    private volatile boolean attachedToNamed;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong kernelDropped = new AtomicLong();
    private final boolean manualFlow;
    private volatile ClientCallStreamObserver<EventsRequest> call;

    private EventRecorder(boolean manualFlow) {
        this.manualFlow = manualFlow;
    }

    static EventRecorder subscribe(DgramGrpc.DgramStub async, String socketId) {
        return subscribe(async, socketId, false);
    }

    /** With {@code manualFlow}, no batch is read until {@link #request} is called. */
    static EventRecorder subscribe(DgramGrpc.DgramStub async, String socketId, boolean manualFlow) {
        return open(async, EventsRequest.newBuilder().setSocketId(socketId).build(), manualFlow);
    }

    /** Records the events of an Events call made with {@code request} (socket_id, or create). */
    static EventRecorder open(DgramGrpc.DgramStub async, EventsRequest request, boolean manualFlow) {
        EventRecorder r = new EventRecorder(manualFlow);
        async.events(request, r);
        return r;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<EventsRequest> requestStream) {
        this.call = requestStream;
        if (manualFlow) {
            requestStream.disableAutoRequestWithInitial(0);
        }
    }

    /** Reads {@code n} more batches (manual flow only). */
    void request(int n) {
        call.request(n);
    }

    @Override
    public void onNext(EventsResponse batch) {
        if (!batch.getSocketId().isEmpty()) {
            attachedToNamed = batch.getAttached();
            announced.complete(batch.getSocketId());
        }
        dropped.addAndGet(batch.getDroppedMessages());
        kernelDropped.addAndGet(batch.getKernelDroppedMessages());
        events.addAll(batch.getEventsList());
    }

    @Override
    public void onError(Throwable t) {
        announced.completeExceptionally(t); // a stream that fails first announces nothing
        done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        done.complete(null);
    }

    /** The next event; fails the test if none comes within the timeout. */
    SocketEvent next() throws InterruptedException {
        SocketEvent e = events.poll(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(e).as("an event within %s s", DaemonTestBase.TIMEOUT_SECONDS).isNotNull();
        return e;
    }

    /** The next event, which must be of {@code kind}. */
    SocketEvent next(SocketEvent.EventCase kind) throws InterruptedException {
        SocketEvent e = next();
        assertThat(e.getEventCase()).as("event %s", e).isEqualTo(kind);
        return e;
    }

    /** An event that is already here, or null. */
    SocketEvent poll() {
        return events.poll();
    }

    /** The next event, waiting at most {@code timeout}; null if none came. */
    SocketEvent poll(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    /** The socket id the first batch of a creating call announced; fails the test if none comes in time. */
    String announcedId() throws Exception {
        return announced.get(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** Whether the announcing batch said the call attached to an open named socket; after {@link #announcedId}. */
    boolean attachedToNamed() {
        return attachedToNamed;
    }

    /** True when a batch announced a socket id. */
    boolean announced() {
        return announced.isDone() && !announced.isCompletedExceptionally();
    }

    /** Completes when the stream ends. */
    CompletableFuture<Void> done() {
        return done;
    }

    long dropped() {
        return dropped.get();
    }

    /** The datagrams the kernel dropped on the socket, as the batches so far told. */
    long kernelDropped() {
        return kernelDropped.get();
    }

    @Override
    public void close() {
        if (!done.isDone() && call != null) {
            call.cancel("test over", null);
        }
    }
}
