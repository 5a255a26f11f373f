package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SessionRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * One Session call: the event streams of many sockets, one per slot, each an {@link EventSink} of
 * the socket's {@link EventStream}, written as SessionResponse messages ({@link SlotResponse}) on this one call.
 *
 * <p>Flow control, two levels. Each slot has its credit (batches the client allows), as an Events
 * call has gRPC's request(n): a slot without credit is not ready, and others go on. Under that,
 * the call's own readiness: while the client does not read, no slot is ready, and the slots that
 * found it so are told when it is ready again. Requests are read one at a time, by hand, only
 * while the call is ready and fewer than {@link #MAX_OPENING} opens are being done, so a client
 * that does not read cannot make the daemon hold its answers.
 *
 * <p>Thread-safe: the sockets of the slots may live on any event loop; every write to the call,
 * and every slot's state, is guarded by one lock. The handlers an event stream gives its slot
 * only hand work to its loop, so they are run under the lock.
 */
final class SessionCall implements StreamObserver<SessionRequest> {
    /** Opens being done at once, at most: beyond this the next request waits. */
    static final int MAX_OPENING = 64;

    private final ServerCallStreamObserver<SlotResponse> call;
    private final String principal;
    private final BiConsumer<EventsRequest, EventSink> opener;
    private final BiConsumer<String, String> closer;
    private final Runnable whenFinished;
    private final Object lock = new Object();
    // Guarded by lock.
    private final Map<Integer, Slot> slots = new HashMap<>();
    /** Slots that found the call not ready, to tell when it is. */
    private final LinkedHashSet<Slot> waiting = new LinkedHashSet<>();
    private int opening;
    private boolean requested;
    private boolean halfClosed;
    private boolean finished;
    /** Set when the daemon ends the call: opens from now on end with it at once. */
    private StatusRuntimeException ending;

    /**
     * @param principal the caller, owner of every socket its slots create
     * @param opener does what an Events call does with a request, writing to a sink
     * @param closer closes the socket of id (first argument) for the principal (second)
     * @param whenFinished runs once when the call has finished, any way
     */
    SessionCall(ServerCallStreamObserver<SlotResponse> call, String principal,
                BiConsumer<EventsRequest, EventSink> opener, BiConsumer<String, String> closer, Runnable whenFinished) {
        this.call = call;
        this.principal = principal;
        this.opener = opener;
        this.closer = closer;
        this.whenFinished = whenFinished;
        call.disableAutoRequest();
        call.setOnReadyHandler(this::ready);
        call.setOnCancelHandler(this::cancelled);
        synchronized (lock) {
            maybeRequest();
        }
    }

    /** The caller's principal. */
    String principal() {
        return principal;
    }

    @Override
    public void onNext(SessionRequest request) {
        int number = request.getSlot();
        Slot opened = null;
        String close = null;
        synchronized (lock) {
            requested = false;
            if (finished) {
                return;
            }
            Slot slot = slots.get(number);
            switch (request.getOpCase()) {
                case OPEN -> {
                    if (number == 0 || slot != null) {
                        fail(ErrorMapping.toStatus(DgramError.of("ERR_INVALID_ARG_VALUE", number == 0
                                ? "Session slot 0 is not allowed" : "Session slot " + number + " is open already")));
                        return;
                    }
                    slot = new Slot(number, Math.max(1, request.getOpen().getCredit()),
                            request.getOpen().getCloseEndsSlot());
                    slots.put(number, slot);
                    if (ending != null) {
                        slot.end(ending);
                    } else {
                        opening++;
                        slot.opening = true;
                        String id = request.getOpen().getEvents().getSocketId();
                        slot.socketId = id.isEmpty() ? null : id;
                        opened = slot;
                    }
                }
                case CREDIT -> {
                    if (slot != null) {
                        slot.credit += request.getCredit();
                        slot.wakeIfReady();
                    }
                }
                case CLOSE -> {
                    if (slot != null && !slot.closing) {
                        slot.closing = true;
                        close = slot.socketId; // null until announced: closed when it is
                    }
                }
                case DETACH -> {
                    if (slot != null) {
                        slot.detach();
                    }
                }
                default -> { // an operation this daemon does not know: nothing to do
                }
            }
        }
        if (opened != null) {
            opener.accept(request.getOpen().getEvents(), opened);
        }
        if (close != null) {
            closer.accept(close, principal);
        }
        synchronized (lock) {
            maybeRequest();
        }
    }

    @Override
    public void onError(Throwable t) {
        cancelled(); // the client cancelled, or its connection died
    }

    @Override
    public void onCompleted() {
        synchronized (lock) {
            halfClosed = true;
            maybeComplete();
        }
    }

    /**
     * Ends the call with {@code status} (from any thread): every open slot gets its SessionEnd with
     * it first, and lets go of its socket (an orphan), then the call fails with it.
     */
    void end(StatusRuntimeException status) {
        synchronized (lock) {
            if (finished) {
                return;
            }
            ending = status;
            for (Slot slot : new ArrayList<>(slots.values())) {
                slot.runCancel();
                slot.end(status);
            }
            finish();
            call.onError(status);
        }
    }

    /**
     * The daemon hands its sockets over (from any thread): opens from now on end at once with
     * {@code status}. Must run before the sockets stop; {@link #end} follows once they stopped.
     */
    void handOver(StatusRuntimeException status) {
        synchronized (lock) {
            if (ending == null) {
                ending = status;
            }
        }
    }

    /** The call can take more: tells the slots that waited for it, and reads on. */
    private void ready() {
        synchronized (lock) {
            if (finished) {
                return;
            }
            if (!waiting.isEmpty()) {
                List<Slot> wake = new ArrayList<>(waiting);
                waiting.clear();
                for (Slot slot : wake) {
                    slot.wakeIfReady();
                }
            }
            maybeRequest();
        }
    }

    /** The client went away: every open slot's socket is let go of (an orphan); nothing more is written. */
    private void cancelled() {
        synchronized (lock) {
            if (finished) {
                return;
            }
            orphanAll();
        }
    }

    /** A request the contract refuses: the call fails with {@code status}; the slots' sockets are orphans. Guarded by lock. */
    private void fail(StatusRuntimeException status) {
        orphanAll();
        call.onError(status);
    }

    /** Lets go of every open slot's socket (an orphan), writing nothing, and finishes. Guarded by lock. */
    private void orphanAll() {
        for (Slot slot : slots.values()) {
            slot.ended = true;
            slot.runCancel();
        }
        slots.clear();
        waiting.clear();
        finish();
    }

    /** Guarded by lock. */
    private void maybeRequest() {
        if (!requested && !finished && !halfClosed && opening < MAX_OPENING && call.isReady()) {
            requested = true;
            call.request(1);
        }
    }

    /** Guarded by lock. */
    private void maybeComplete() {
        if (halfClosed && !finished && slots.isEmpty()) {
            finish();
            call.onCompleted();
        }
    }

    /** Guarded by lock. */
    private void finish() {
        if (!finished) {
            finished = true;
            whenFinished.run();
        }
    }

    /** The SessionEnd of {@code status}: its code, message and, when it has them, its details. */
    static SessionEnd sessionEnd(Throwable t) {
        Status status = Status.fromThrowable(t);
        SessionEnd.Builder end = SessionEnd.newBuilder().setCode(status.getCode().value());
        if (status.getDescription() != null) {
            end.setMessage(status.getDescription());
        }
        com.google.rpc.Status details = StatusProto.fromThrowable(t);
        if (details != null && details.getDetailsCount() > 0) {
            end.setDetails(details.toByteString());
        }
        return end.build();
    }

    /** One slot: one socket's event stream on the call. Every method is guarded by the call's lock. */
    private final class Slot implements EventSink {
        final int number;
        /** SessionOpen.close_ends_slot: the batch with 'close' is the slot's end, no SessionEnd follows. */
        final boolean closeEnds;
        int credit;
        /** The socket's id: from the open (an attach by id) or the first batch (a creation). */
        String socketId;
        boolean opening;
        boolean closing;
        boolean ended;
        boolean cancelled;
        private Runnable onReady;
        private Runnable onCancel;
        /** The stream asked isReady and was told no: it waits for {@link #onReady}. */
        private boolean wantsReady;

        Slot(int number, int credit, boolean closeEnds) {
            this.number = number;
            this.credit = credit;
            this.closeEnds = closeEnds;
        }

        @Override
        public boolean isReady() {
            synchronized (lock) {
                if (ended) {
                    return false;
                }
                if (credit > 0 && call.isReady()) {
                    return true;
                }
                wantsReady = true;
                if (credit > 0) {
                    waiting.add(this);
                }
                return false;
            }
        }

        @Override
        public boolean isCancelled() {
            synchronized (lock) {
                return cancelled;
            }
        }

        @Override
        public void setHandlers(Runnable onReady, Runnable onCancel) {
            synchronized (lock) {
                this.onReady = onReady;
                this.onCancel = onCancel;
            }
        }

        @Override
        public void onNext(EventBatch batch) {
            String close = null;
            synchronized (lock) {
                if (ended) {
                    return;
                }
                credit--;
                settled();
                if (socketId == null && !batch.socketId().isEmpty()) {
                    socketId = batch.socketId();
                    close = closing ? socketId : null;
                }
                call.onNext(SlotResponse.events(number, batch));
                if (closeEnds && batch.endsWithClose()) {
                    free(); // this batch was the end: the stream's onCompleted, next, writes nothing
                    maybeComplete();
                }
            }
            if (close != null) {
                closer.accept(close, principal);
            }
        }

        @Override
        public void onError(Throwable status) {
            synchronized (lock) {
                end(status);
            }
        }

        @Override
        public void onCompleted() {
            synchronized (lock) {
                end(null);
            }
        }

        /** Writes the slot's end ({@code status}, or OK when null) and frees its number. */
        void end(Throwable status) {
            if (ended) {
                return;
            }
            free();
            if (!finished) {
                SessionEnd end = status == null ? SessionEnd.getDefaultInstance() : sessionEnd(status);
                call.onNext(SlotResponse.end(number, end));
                maybeComplete();
            }
        }

        /** The slot has ended: nothing more is written for it, and its number is free. */
        private void free() {
            ended = true;
            settled();
            waiting.remove(this);
            slots.remove(number, this);
        }

        /** The client let go of the slot: its socket becomes an orphan. */
        void detach() {
            runCancel();
            end(Status.CANCELLED.withDescription("detached").asRuntimeException());
        }

        void runCancel() {
            cancelled = true;
            Runnable r = onCancel;
            if (r != null) {
                r.run();
            }
        }

        /** Its open is done (first message or end): the next request may be read. */
        private void settled() {
            if (opening) {
                opening = false;
                SessionCall.this.opening--;
                maybeRequest();
            }
        }

        /** Tells the stream it may write again, when it waited and now may. */
        void wakeIfReady() {
            if (wantsReady && !ended && credit > 0 && call.isReady()) {
                wantsReady = false;
                Runnable r = onReady;
                if (r != null) {
                    r.run();
                }
            } else if (wantsReady && credit > 0) {
                waiting.add(this);
            }
        }
    }
}
