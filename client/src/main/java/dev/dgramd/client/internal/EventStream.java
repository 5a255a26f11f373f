package dev.dgramd.client.internal;

import dev.dgramd.client.AddressInfo;
import dev.dgramd.client.DgramException;
import dev.dgramd.client.RemoteInfo;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CloseResponse;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket's receive path: its event stream (a slot of the client's {@link SessionStream}, which
 * creates the socket; an Events call of its own when the daemon has no Session; then the
 * re-attaches of {@link StreamRestart}, on Events calls), the decoding of its batches
 * ({@link EventsDecoder}), and
 * their dispatch to the socket's {@link RemoteSocket.Events} on the listener executor, in order,
 * one run of events per task, never on the transport thread unless that executor is the
 * transport's event loop.
 *
 * <p>Flow control is manual: batches are asked for again once the listeners finished them, half
 * of {@code eventBatchesInFlight} at a time (a request wakes the transport thread), so at most
 * {@code eventBatchesInFlight} batches wait per socket. An 'error' event that arrives while an
 * operation is in flight waits for that operation's answer ({@link Socket#gate}): a bind's
 * 'error' listener then sees the socket unbound again, as in Node.
 *
 * <p>It never sends, but for its slot's close ({@link #closeOnSession}), which only ends the
 * stream it reads. What it learns for the rest of the socket (the id the daemon gave it, the
 * creation's outcome, the socket's end) it tells its {@link Socket}.
 */
final class EventStream {
    private static final Logger log = LoggerFactory.getLogger(EventStream.class);

    /** What the receive path tells the rest of its socket, and asks of it. */
    interface Socket {
        /** The daemon made the socket and named it {@code id}. On the transport thread. */
        void announced(String id);

        /**
         * The creation is answered: announced (without a bind), or its bind's outcome came
         * ({@code bindError} null: 'listening'). The operations behind it may go.
         */
        void creationSettled(DgramException bindError);

        /** The creation failed (or its bind never answered): the socket finishes with {@code error}. */
        void creationFailed(DgramException error);

        /** The answer an 'error' event must wait for (the operation in flight), or null. */
        CompletableFuture<Void> gate();

        /**
         * The socket is gone: 'close' came ({@code error} null), or the stream ended. On the
         * listener executor.
         */
        void finish(DgramException error);
    }

    /** Where a socket's batches come from: its flow control and its end. */
    interface Feed {
        /** Allows {@code n} more batches. */
        void request(int n);

        /** Lets go of the stream; its observer hears CANCELLED. */
        void cancel(String why);

        /** Closes the socket through this feed, when it can (a Session slot); false otherwise. */
        default boolean close() {
            return false;
        }
    }

    /** The feed of an Events call. */
    static final class CallFeed implements Feed {
        final ClientCallStreamObserver<EventsRequest> call;

        CallFeed(ClientCallStreamObserver<EventsRequest> call) {
            this.call = call;
        }

        @Override
        public void request(int n) {
            call.request(n);
        }

        @Override
        public void cancel(String why) {
            call.cancel(why, null);
        }
    }

    /** Ignores the answer of a call made only for its effect. */
    private static final StreamObserver<CloseResponse> DISCARD = new StreamObserver<>() {
        @Override
        public void onNext(CloseResponse value) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    };

    private final ClientCore core;
    private final SerialExecutor listener;
    private final RemoteSocket.Events events;
    private final Socket socket;
    private final int requestEvery;
    private final StreamRestart restart;

    private volatile String id; // set once, by the first batch of the call that creates the socket
    /** Where the socket's batches come from now: its Events call, or its Session slot. */
    private volatile Feed call;
    private volatile boolean ended;
    /** A batch with 'close' was handed to the listeners (on the transport thread): the stream's end needs no task. */
    private volatile boolean closeDelivered;
    private int unrequested; // batches consumed and not yet asked for again; listener executor only
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong droppedBudget = new AtomicLong();
    private final AtomicLong droppedKernel = new AtomicLong();

    EventStream(ClientCore core, SerialExecutor listener, RemoteSocket.Events events, Socket socket) {
        this.core = core;
        this.listener = listener;
        this.events = events;
        this.socket = socket;
        this.requestEvery = Math.max(1, core.eventBatchesInFlight() / 2);
        this.restart = new StreamRestart(core, new RestartHost());
    }

    /** The daemon's name of the socket; null until announced. */
    String id() {
        return id;
    }

    /** The Events method, reading its messages with a decoder of the call's own. */
    private static MethodDescriptor<EventsRequest, EventBatch> eventsMethod() {
        return DgramGrpc.getEventsMethod()
                .toBuilder(DgramGrpc.getEventsMethod().getRequestMarshaller(), new EventsDecoder.Marshaller()).build();
    }

    /**
     * Opens the stream with the call that creates the socket ({@code create}), binding it too when
     * {@code bind} is not null ('listening' or the bind's 'error' then comes as an event). The
     * outcome goes to {@link Socket#creationSettled} or {@link Socket#creationFailed}, once; a
     * creation not announced within twice the call timeout fails.
     *
     * @param restartDeadline when the daemon refused an earlier try because it is restarting: until
     *     when to try again (nanoTime), waiting for the channel to be ready; 0 on the first try
     */
    void open(CreateSocketRequest create, BindRequest bind, long restartDeadline) {
        int inFlight = core.eventBatchesInFlight();
        EventsRequest.Builder request = EventsRequest.newBuilder().setCreate(create);
        if (bind != null) {
            request.setBind(bind);
        }
        Creation creation = new Creation(create, bind, restartDeadline);
        try {
            creation.timeout = core.schedule(creation::timedOut, 2 * core.callTimeoutMillis());
        } catch (RuntimeException e) { // the client is shutting down
            creation.fail(Errors.clientClosed());
            return;
        }
        if (restartDeadline == 0 && core.session().open(request.build(), inFlight, creation)) {
            return;
        }
        DgramGrpc.DgramStub stub = core.stub();
        ClientCall<EventsRequest, EventBatch> newCall = stub.getChannel().newCall(eventsMethod(),
                restartDeadline == 0 ? stub.getCallOptions() : stub.getCallOptions().withWaitForReady());
        ClientCalls.asyncServerStreamingCall(newCall, request.build(), new ClientResponseObserver<EventsRequest, EventBatch>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<EventsRequest> c) {
                creation.started(new CallFeed(c));
                c.disableAutoRequestWithInitial(inFlight);
            }

            @Override
            public void onNext(EventBatch batch) {
                creation.onNext(batch);
            }

            @Override
            public void onError(Throwable t) {
                creation.onError(t);
            }

            @Override
            public void onCompleted() {
                creation.onCompleted();
            }
        });
    }

    /**
     * The call (or Session slot) that creates the socket, then streams its events: settles the
     * creation once, on the announcement (or the bind's outcome), a failure, or the timer.
     */
    private final class Creation implements SessionStream.Listener {
        private final CreateSocketRequest create;
        private final BindRequest bind;
        private final long restartDeadline;
        private final CompletableFuture<Void> announced = new CompletableFuture<>();
        // The creation is settled once the socket is announced or, with a bind, once the bind's
        // outcome came ('listening' or its 'error'). Either that or the timer settles it, once.
        private final AtomicBoolean settled = new AtomicBoolean();
        volatile ScheduledFuture<?> timeout;
        volatile Feed feed;

        Creation(CreateSocketRequest create, BindRequest bind, long restartDeadline) {
            this.create = create;
            this.bind = bind;
            this.restartDeadline = restartDeadline;
        }

        @Override
        public void started(Feed slot) {
            feed = slot;
            call = slot;
        }

        void timedOut() {
            Feed f = feed;
            if (fail(Errors.timeout("CreateSocket"))) {
                if (f != null) {
                    f.cancel("createSocket timed out"); // a socket made meanwhile is closed when announced
                }
            } else if (settled.compareAndSet(false, true)) {
                // Announced, but the bind never answered (a daemon that ignores EventsRequest.bind?)
                socket.creationFailed(Errors.timeout("Bind"));
                if (f != null) {
                    f.cancel("bind timed out"); // the daemon closes the orphan after its grace
                }
            }
        }

        /** Creation failed with {@code error}, unless it was announced or failed already (then false). */
        boolean fail(DgramException error) {
            if (!announced.complete(null)) {
                return false;
            }
            socket.creationFailed(error);
            return true;
        }

        @Override
        public void onNext(EventBatch batch) {
            if (id == null) {
                if (batch.socketId == null) {
                    timeout.cancel(false);
                    feed.cancel("no socket id in the first batch");
                    fail(new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                            "dgramd did not announce the created socket (a daemon too old?)"));
                    return;
                }
                if (!announced.complete(null)) {
                    // Given up already (timed out): close what the daemon made meanwhile.
                    core.stub().close(CloseRequest.newBuilder().setSocketId(batch.socketId).build(), DISCARD);
                    return;
                }
                id = batch.socketId;
                socket.announced(batch.socketId);
                if (bind == null && settled.compareAndSet(false, true)) {
                    timeout.cancel(false);
                    socket.creationSettled(null); // the operations behind it go out now
                }
            }
            if (bind != null && !settled.get()) {
                int outcome = bindOutcome(batch);
                if (outcome >= 0 && settled.compareAndSet(false, true)) {
                    timeout.cancel(false);
                    SocketEvent e = batch.other(outcome);
                    DgramException bindError = null;
                    if (e.getEventCase() == SocketEvent.EventCase.ERROR) {
                        bindError = Errors.fromProto(e.getError().getError());
                        batch.bindError = outcome;
                    }
                    // The batch first, gated on the creation: its 'error' comes before the
                    // callbacks of the sends the failed bind drops, as for a Bind call.
                    onBatch(batch);
                    socket.creationSettled(bindError);
                    return;
                }
            }
            onBatch(batch);
        }

        @Override
        public void onError(Throwable t) {
            Errors.RpcFailure f = Errors.fromRpc(t, id == null ? "CreateSocket" : "Events");
            if (id == null) {
                timeout.cancel(false);
                if (io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.UNIMPLEMENTED
                        && !(feed instanceof CallFeed) && !announced.isDone()) {
                    open(create, bind, restartDeadline); // a daemon without Session: an Events call
                    return;
                }
                long now = System.nanoTime();
                long until = restartDeadline != 0 ? restartDeadline
                        : now + core.restartTimeoutMillis() * 1_000_000L;
                if (Errors.restarting(f) && now - until < 0 && !announced.isDone()) {
                    // the daemon hands over: create the socket on the new process
                    try {
                        core.schedule(() -> open(create, bind, until), StreamRestart.RETRY_MILLIS);
                        return;
                    } catch (RuntimeException e) { // the client is shutting down
                        fail(Errors.clientClosed());
                        return;
                    }
                }
                fail(f.exception());
                return;
            }
            streamFailed(f);
        }

        @Override
        public void onCompleted() {
            if (id == null) {
                timeout.cancel(false);
                fail(new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED, "CreateSocket answered nothing"));
                return;
            }
            streamEnded();
        }
    }

    /** The index of the batch's 'listening' or 'error' event (a bind's outcome), or -1. */
    private static int bindOutcome(EventBatch batch) {
        for (int i = 0; i < batch.count; i++) {
            SocketEvent e = batch.other(i);
            if (e != null && (e.getEventCase() == SocketEvent.EventCase.LISTENING
                    || e.getEventCase() == SocketEvent.EventCase.ERROR)) {
                return i;
            }
        }
        return -1;
    }

    /** The event stream ended without 'close' (after 'close' the socket has finished already). */
    private void streamEnded() {
        restart.streamEnded(null);
        if (closeDelivered) {
            return; // the usual end: 'close' is on its way to the listeners, and the socket finishes with it
        }
        listener.execute(() -> {
            if (!ended) {
                socket.finish(Errors.unavailable("dgramd ended the socket's event stream without 'close'", null));
            }
        });
    }

    /**
     * The event stream failed: the socket finishes ('error', 'close'), unless the daemon ended it
     * because it hands its sockets to a new process: then the stream re-attaches to the new one.
     */
    private void streamFailed(Errors.RpcFailure f) {
        if (restart.streamEnded(f)) {
            return;
        }
        DgramException e = f.exception();
        // Revoked credentials say so; any other end of the stream is a lost connection.
        listener.execute(() -> socket.finish(DgramException.ERR_DGRAMD_UNAUTHENTICATED.equals(e.code()) ? e
                : Errors.unavailable("lost the connection to dgramd: " + e.getMessage(), e.getCause())));
    }

    /**
     * A call of the socket failed with {@code f}: when the daemon refused it because it is
     * restarting (or the connection failed while it restarts), {@code again} runs once this
     * stream re-attached ({@link StreamRestart#retry}). True when it will.
     */
    boolean retryAfterRestart(Errors.RpcFailure f, Barrier b, Runnable abandon) {
        return restart.retry(f, b.restart, () -> b.start.run(), abandon);
    }

    /** The socket finished: no more batches are asked for. */
    void ended() {
        ended = true;
    }

    /** Cancels the stream: the socket finishes ('close') at once. */
    void cancel(String why) {
        Feed c = call;
        if (c != null) {
            c.cancel(why);
        }
    }

    /**
     * Closes the socket through its Session slot (its 'close' comes on the slot); false when it has
     * none (an Events call, or a Session that ended): close it with a Close call.
     */
    boolean closeOnSession() {
        Feed c = call;
        return c != null && c.close();
    }

    /** 'message' events the daemon dropped, for whatever reason (its budget, or this socket's bound). */
    long droppedMessages() {
        return dropped.get();
    }

    /** Of {@link #droppedMessages()}, those dropped because the daemon's event budget was full (or it was stopping). */
    long droppedMessagesBudget() {
        return droppedBudget.get();
    }

    /** Datagrams the daemon host's kernel dropped on this socket before the daemon read them. */
    long droppedMessagesKernel() {
        return droppedKernel.get();
    }

    /** What {@link StreamRestart} needs of this stream. */
    private final class RestartHost implements StreamRestart.Host {
        @Override
        public String id() {
            return id;
        }

        @Override
        public ClientCall<EventsRequest, EventBatch> newEventsCall() {
            DgramGrpc.DgramStub stub = core.stub();
            return stub.getChannel().newCall(eventsMethod(), stub.getCallOptions().withWaitForReady());
        }

        @Override
        public boolean isEventsCall(ClientCallStreamObserver<EventsRequest> c) {
            return call instanceof CallFeed f && f.call == c;
        }

        @Override
        public void attached(ClientCallStreamObserver<EventsRequest> c) {
            call = new CallFeed(c);
        }

        @Override
        public void onBatch(EventBatch batch) {
            EventStream.this.onBatch(batch);
        }

        @Override
        public void streamFailed(Errors.RpcFailure f) {
            EventStream.this.streamFailed(f);
        }

        @Override
        public void streamEnded() {
            EventStream.this.streamEnded();
        }

        @Override
        public void gaveUp(DgramException error) {
            listener.execute(() -> socket.finish(error));
        }

        @Override
        public boolean finished() {
            return ended;
        }
    }

    // ---------------------------------------------------------------- dispatch

    private void onBatch(EventBatch batch) {
        if (batch.endsWithClose()) {
            closeDelivered = true;
        }
        if (batch.droppedMessages > 0) {
            dropped.addAndGet(batch.droppedMessages);
            droppedBudget.addAndGet(batch.droppedMessagesBudget);
            log.debug("socket {}: daemon dropped {} message(s), {} for its budget", id, batch.droppedMessages,
                    batch.droppedMessagesBudget);
        }
        if (batch.kernelDroppedMessages > 0) {
            droppedKernel.addAndGet(batch.kernelDroppedMessages);
            log.debug("socket {}: the daemon's kernel dropped {} datagram(s)", id, batch.kernelDroppedMessages);
        }
        Feed c = call;
        if (batch.count == 0 && c != null) {
            c.request(1); // no event (the creating call's first batch): no trip to the listener thread
            return;
        }
        // One listener task per run of events (not one per event); an 'error' starts a new run,
        // behind the gate of the call in flight. The last run also asks for more batches.
        CompletableFuture<Void> gate = null;
        boolean gateRead = false;
        int from = 0;
        for (int i = 0; i < batch.count; i++) {
            SocketEvent other = batch.other(i);
            if (other != null && other.getEventCase() == SocketEvent.EventCase.ERROR) {
                if (i > from) {
                    listener.execute(new Run(batch, from, i, false));
                }
                if (!gateRead) { // asked once, and only for a batch that has an 'error'
                    gate = socket.gate();
                    gateRead = true;
                }
                if (gate != null) {
                    listener.gate(gate);
                }
                from = i;
            }
        }
        listener.execute(new Run(batch, from, batch.count, true));
    }

    /** Events {@code [from, to)} of a batch, delivered in order on the listener executor. */
    private final class Run implements Runnable {
        private final EventBatch batch;
        private final int from;
        private final int to;
        private final boolean last;

        Run(EventBatch batch, int from, int to, boolean last) {
            this.batch = batch;
            this.from = from;
            this.to = to;
            this.last = last;
        }

        @Override
        public void run() {
            for (int i = from; i < to; i++) {
                try {
                    deliver(batch, i);
                } catch (RuntimeException | Error e) {
                    log.warn("socket {}: event listener failed", id, e);
                }
            }
            if (last) {
                consumed();
            }
        }
    }

    private void deliver(EventBatch batch, int i) {
        byte[] data = batch.data[i];
        if (data != null) {
            events.onMessage(data, batch.rinfo[i]);
            return;
        }
        SocketEvent ev = batch.other(i);
        switch (ev.getEventCase()) {
            case LISTENING -> {
                var a = ev.getListening().getAddress();
                events.onListening(new AddressInfo(a.getAddress(), a.getFamily(), a.getPort()));
            }
            case CONNECT -> {
                var a = ev.getConnect().getRemote();
                events.onConnect(new AddressInfo(a.getAddress(), a.getFamily(), a.getPort()));
            }
            case MESSAGE -> {
                var m = ev.getMessage();
                var r = m.getRinfo();
                byte[] bytes = m.getData().toByteArray();
                events.onMessage(bytes, new RemoteInfo(r.getAddress(), r.getFamily(), r.getPort(),
                        r.getSize() == 0 ? bytes.length : r.getSize()));
            }
            case ERROR -> {
                DgramException e = Errors.fromProto(ev.getError().getError());
                if (i == batch.bindError) {
                    events.onBindError(e);
                } else {
                    events.onError(e);
                }
            }
            case CLOSE -> socket.finish(null);
            default -> log.debug("socket {}: unknown event {}", id, ev.getEventCase());
        }
    }

    /**
     * On the listener executor, after each batch's listeners: asks for more batches, a few at a
     * time (each request wakes the transport thread), keeping at least half of
     * {@code eventBatchesInFlight} asked for.
     */
    private void consumed() {
        if (++unrequested < requestEvery) {
            return;
        }
        Feed c = call;
        if (c != null && !ended) {
            c.request(unrequested);
        }
        unrequested = 0;
    }
}
