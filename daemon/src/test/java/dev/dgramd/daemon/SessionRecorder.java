package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.SessionClose;
import dev.dgramd.proto.v1.SessionDetach;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SessionOpen;
import dev.dgramd.proto.v1.SessionRequest;
import dev.dgramd.proto.v1.SessionResponse;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One Session call, its responses recorded per slot. */
public final class SessionRecorder implements StreamObserver<SessionResponse>, AutoCloseable {
    final Map<Integer, LinkedBlockingQueue<SocketEvent>> events = new ConcurrentHashMap<>();
    final Map<Integer, CompletableFuture<String>> announced = new ConcurrentHashMap<>();
    final Map<Integer, CompletableFuture<SessionEnd>> ends = new ConcurrentHashMap<>();
    /** Every response, in arrival order: slot numbers, with -slot for an end. */
    final LinkedBlockingQueue<Integer> order = new LinkedBlockingQueue<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final StreamObserver<SessionRequest> requests;

    SessionRecorder(DgramGrpc.DgramStub async) {
        requests = async.session(this);
    }

    LinkedBlockingQueue<SocketEvent> events(int slot) {
        return events.computeIfAbsent(slot, k -> new LinkedBlockingQueue<>());
    }

    CompletableFuture<String> announced(int slot) {
        return announced.computeIfAbsent(slot, k -> new CompletableFuture<>());
    }

    CompletableFuture<SessionEnd> end(int slot) {
        return ends.computeIfAbsent(slot, k -> new CompletableFuture<>());
    }

    synchronized void send(SessionRequest r) {
        requests.onNext(r);
    }

    void open(int slot, EventsRequest events, int credit) {
        open(slot, events, credit, false);
    }

    void open(int slot, EventsRequest events, int credit, boolean closeEndsSlot) {
        send(SessionRequest.newBuilder().setSlot(slot).setOpen(SessionOpen.newBuilder().setEvents(events)
                .setCredit(credit).setCloseEndsSlot(closeEndsSlot)).build());
    }

    /** Opens {@code slot} creating a udp4 socket bound to 127.0.0.1 and a free port. */
    void openBound(int slot, int credit) {
        openBound(slot, credit, false);
    }

    /** As {@link #openBound(int, int)}, with SessionOpen.close_ends_slot. */
    void openBound(int slot, int credit, boolean closeEndsSlot) {
        open(slot, EventsRequest.newBuilder().setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4))
                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1")).build(), credit, closeEndsSlot);
    }

    void credit(int slot, int n) {
        send(SessionRequest.newBuilder().setSlot(slot).setCredit(n).build());
    }

    void closeSlot(int slot) {
        send(SessionRequest.newBuilder().setSlot(slot).setClose(SessionClose.getDefaultInstance()).build());
    }

    void detach(int slot) {
        send(SessionRequest.newBuilder().setSlot(slot).setDetach(SessionDetach.getDefaultInstance()).build());
    }

    SocketEvent next(int slot) throws Exception {
        SocketEvent e = events(slot).poll(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(e).as("an event on slot %d within %d s", slot, DaemonTestBase.TIMEOUT_SECONDS).isNotNull();
        return e;
    }

    String id(int slot) throws Exception {
        return announced(slot).get(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    SessionEnd awaitEnd(int slot) throws Exception {
        return end(slot).get(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void onNext(SessionResponse r) {
        int slot = r.getSlot();
        if (r.hasEnd()) {
            order.add(-slot);
            end(slot).complete(r.getEnd());
            return;
        }
        order.add(slot);
        EventsResponse batch = r.getEvents();
        if (!batch.getSocketId().isEmpty()) {
            announced(slot).complete(batch.getSocketId());
        }
        events(slot).addAll(batch.getEventsList());
    }

    @Override
    public void onError(Throwable t) {
        done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        done.complete(null);
    }

    @Override
    public void close() {
        if (!done.isDone()) {
            requests.onError(Status.CANCELLED.asRuntimeException());
        }
    }
}
