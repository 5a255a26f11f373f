package dev.dgramd.client.internal;

import dev.dgramd.client.AddressInfo;
import dev.dgramd.client.DgramException;
import dev.dgramd.client.RemoteInfo;
import dev.dgramd.client.SendCallback;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.SocketEvent;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One daemon socket seen from the client: its event stream, its serial listener executor, and
 * the ordering of its operations.
 *
 * <p>Ordering. The daemon applies unary calls and SendStream batches as they arrive, on several
 * streams, so the client orders them per socket: operations other than sends ("barriers": bind,
 * connect, close, setTTL, ...) are issued one at a time, each only after the previous barrier
 * was answered and every earlier datagram was acknowledged; datagrams flow freely between
 * barriers. The daemon thus sees a socket's operations in call order, as Node's would apply.
 *
 * <p>Events. Every event runs {@link Events} on the socket's {@link SerialExecutor}: in order,
 * one at a time, never on a gRPC thread. The stream's inbound flow control is manual: batches
 * are asked for again once the listeners finished them, half of {@code eventBatchesInFlight} at a
 * time (a request wakes the transport thread), so at most {@code eventBatchesInFlight} batches
 * wait per socket. The stream's messages are read by hand ({@link EventDecoder}: the wire format
 * of EventsResponse, one array per payload and no protobuf object per 'message'). An 'error' event that arrives while a
 * barrier is in flight is held until that barrier's answer was applied (so that a bind's 'error'
 * listener sees the socket unbound again, as in Node).
 */
public final class RemoteSocket {
    private static final Logger log = LoggerFactory.getLogger(RemoteSocket.class);

    /** A socket's events, called in order on the socket's listener thread. */
    public interface Events {
        /** 'listening', with the bound address. */
        void onListening(AddressInfo address);

        /** 'connect', with the peer. */
        void onConnect(AddressInfo remote);

        /** 'message'. */
        void onMessage(byte[] data, RemoteInfo rinfo);

        /** 'error'. */
        void onError(DgramException error);

        /**
         * 'error' of the bind made with the socket in its creating call (EventsRequest.bind): the
         * socket is unbound again.
         */
        void onBindError(DgramException error);

        /** 'close': the last call. */
        void onClose();
    }

    /**
     * The answer of an asynchronous call, run on a gRPC thread before any later event is
     * dispatched. {@code error} is null on success; {@code reported} tells that the error reaches
     * the listeners without the caller's help (the daemon emitted it as 'error', or the event
     * stream fails too).
     */
    public interface Outcome<T> {
        void complete(T value, DgramException error, boolean reported);
    }

    /** One datagram on its way: what the pipeline writes as an OutboundDatagram, and its outcome. */
    static final class SendOp {
        final RemoteSocket socket;
        final byte[] data;
        final int port;
        /** The destination address, UTF-8; empty for the connected peer. */
        final byte[] address;
        final boolean emitError;
        final int bytes;
        final SendCallback callback;
        /** Runs first, on the listener thread, when the send failed. */
        final Runnable onFailure;
        /** Chosen by the pipeline when queued. */
        long id;
        /** The batch it went out in; set by the pipeline when written. */
        SendPipeline.Batch batch;
        /** The daemon's answer, set by the pipeline before {@link #sendsDone}. */
        DgramException error;
        int sent;

        SendOp(RemoteSocket socket, byte[] data, int port, byte[] address, boolean emitError,
                SendCallback callback, Runnable onFailure) {
            this.socket = socket;
            this.data = data;
            this.port = port;
            this.address = address;
            this.emitError = emitError;
            this.bytes = data.length;
            this.callback = callback;
            this.onFailure = onFailure;
        }

        /** Sets the outcome from a SendResult. */
        void result(dev.dgramd.proto.v1.Error e, int sentBytes) {
            error = e == null ? null : Errors.fromProto(e);
            sent = sentBytes;
        }

        /** Whether the outcome needs the listener thread: a callback, or a failure to report. */
        boolean needsDispatch(DgramException e) {
            return callback != null || (e != null && onFailure != null);
        }

        /** On the listener thread. */
        void report(DgramException e, int sentBytes) {
            if (e != null && onFailure != null) {
                onFailure.run();
            }
            if (callback != null) {
                callback.done(e, e == null ? sentBytes : 0);
            }
        }
    }

    /** The last destination address sent to, and its UTF-8 bytes (racy but immutable). */
    private record Utf8(String text, byte[] bytes) {}

    private static final byte[] NO_BYTES = {};

    /** Ignores the answer of a call made only for its effect. */
    private static final StreamObserver<dev.dgramd.proto.v1.CloseResponse> DISCARD = new StreamObserver<>() {
        @Override
        public void onNext(dev.dgramd.proto.v1.CloseResponse value) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    };

    /** An operation issued alone, in order. */
    private static final class Barrier {
        final String name;
        final boolean failFollowingSends;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable start;
        java.util.function.Consumer<DgramException> abort;
        volatile boolean cancelled;
        /** Until when it may be made again while the daemon restarts. */
        final StreamRestart.Deadline restart = new StreamRestart.Deadline();

        Barrier(String name, boolean failFollowingSends) {
            this.name = name;
            this.failFollowingSends = failFollowingSends;
        }
    }

    private final ClientCore core;
    private volatile String id; // set once, by the first batch of the call that creates the socket
    private volatile byte[] idUtf8; // id in UTF-8, as written on the wire
    private volatile Utf8 lastDestination = new Utf8("", NO_BYTES);
    private final SerialExecutor executor;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong droppedBudget = new AtomicLong();
    private final AtomicLong droppedKernel = new AtomicLong();
    private final Events events;

    private final ArrayDeque<Object> ops = new ArrayDeque<>(); // SendOp | Barrier; guarded by this
    private Barrier inFlight; // guarded by this
    private int unacked; // datagrams handed to the pipeline; guarded by this
    private long queuedBytes; // guarded by this
    private long queuedCount; // guarded by this
    private boolean closeRequested; // guarded by this
    private boolean finished; // guarded by this
    private volatile ClientCallStreamObserver<EventsRequest> eventsCall;
    private final int requestEvery;
    private int unrequested; // batches consumed and not yet asked for again; listener thread only
    private final EventDecoder decoder = new EventDecoder();

    // guarded by the pipeline's stream lock
    final ArrayDeque<SendOp> streamQueue = new ArrayDeque<>();
    boolean inReady;

    /** The event stream across daemon restarts. */
    private final StreamRestart restart;

    private final CreateSocketRequest createRequest;
    /** Creation asked for (or made unnecessary by close()); written under this, read without. */
    private volatile boolean started;

    RemoteSocket(ClientCore core, CreateSocketRequest request, Events events) {
        this.core = core;
        this.createRequest = request;
        this.events = events;
        this.requestEvery = Math.max(1, core.eventBatchesInFlight() / 2);
        this.executor = new SerialExecutor(core.listenerPool());
        this.restart = new StreamRestart(core, new RestartHost());
    }

    /** The daemon's name of the socket. */
    public String id() {
        return id;
    }

    /** {@link #id} in UTF-8, as written on the wire. */
    byte[] idUtf8() {
        return idUtf8;
    }

    /**
     * Creates the socket in the daemon, unless that was asked for already: the first of the
     * socket's operations, in one Events call that also opens its event stream
     * (EventsRequest.create), and binds it too when {@code bind} is not null (EventsRequest.bind:
     * 'listening' or the bind's 'error' then comes as an event). Until the daemon announced the
     * socket, later operations wait behind the creation, as behind any barrier. A creation that
     * fails (or is not announced within twice the call timeout) finishes the socket: 'error' with
     * the daemon's error (ERR_DGRAMD_UNAVAILABLE, ERR_DGRAMD_UNAUTHENTICATED, EMFILE, ...), then
     * 'close'.
     *
     * @return true when this call started the creation (with {@code bind}, if given)
     */
    public boolean start(BindRequest bind) {
        if (started) {
            return false; // every operation asks: no lock, no allocation once asked
        }
        Barrier b = new Barrier("CreateSocket", false);
        b.start = () -> open(b, bind, 0); // published by the lock below, with the barrier
        synchronized (this) {
            if (started) {
                return false;
            }
            started = true;
            // First in line: no operation was queued before creation was asked for.
            ops.addFirst(b);
        }
        pump();
        return true;
    }

    /** The Events method, with this socket's reader of its messages (made per call: one socket, few calls). */
    private MethodDescriptor<EventsRequest, Decoded> eventsMethod() {
        return DgramGrpc.getEventsMethod()
                .toBuilder(DgramGrpc.getEventsMethod().getRequestMarshaller(), new BatchMarshaller()).build();
    }

    /**
     * @param restartDeadline when the daemon refused an earlier try because it is restarting: until
     *     when to try again (nanoTime), waiting for the channel to be ready; 0 on the first try
     */
    private void open(Barrier creation, BindRequest bind, long restartDeadline) {
        int inFlight = core.eventBatchesInFlight();
        DgramGrpc.DgramStub stub = core.stub();
        ClientCall<EventsRequest, Decoded> call = stub.getChannel().newCall(eventsMethod(),
                restartDeadline == 0 ? stub.getCallOptions() : stub.getCallOptions().withWaitForReady());
        EventsRequest.Builder request = EventsRequest.newBuilder().setCreate(createRequest);
        if (bind != null) {
            request.setBind(bind);
        }
        CompletableFuture<Void> announced = new CompletableFuture<>();
        // The creation barrier is done once the socket is announced or, with a bind, once the
        // bind's outcome came ('listening' or its 'error'): sends queued behind it then fail with
        // the bind's error, as behind a Bind call. Either that or the timer settles it, once.
        AtomicBoolean settled = new AtomicBoolean();
        ScheduledFuture<?> timeout;
        try {
            timeout = core.schedule(() -> {
                if (failCreation(creation, announced, Errors.timeout("CreateSocket"))) {
                    call.cancel("createSocket timed out", null); // a socket made meanwhile is closed when announced
                } else if (settled.compareAndSet(false, true)) {
                    // Announced, but the bind never answered (a daemon that ignores EventsRequest.bind?)
                    executor.execute(() -> {
                        finish(Errors.timeout("Bind"));
                        creation.done.complete(null);
                    });
                    call.cancel("bind timed out", null); // the daemon closes the orphan after its grace
                }
            }, 2 * core.callTimeoutMillis());
        } catch (RuntimeException e) { // the client is shutting down
            failCreation(creation, announced, Errors.clientClosed());
            return;
        }
        ClientCalls.asyncServerStreamingCall(call, request.build(),
                new ClientResponseObserver<EventsRequest, Decoded>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<EventsRequest> call) {
                        eventsCall = call;
                        call.disableAutoRequestWithInitial(inFlight);
                    }

                    @Override
                    public void onNext(Decoded batch) {
                        if (id == null) {
                            if (batch.socketId == null) {
                                timeout.cancel(false);
                                eventsCall.cancel("no socket id in the first batch", null);
                                failCreation(creation, announced, new DgramException(
                                        DgramException.ERR_DGRAMD_CALL_FAILED,
                                        "dgramd did not announce the created socket (a daemon too old?)"));
                                return;
                            }
                            if (!announced.complete(null)) {
                                // Given up already (timed out): close what the daemon made meanwhile.
                                core.stub().close(CloseRequest.newBuilder().setSocketId(batch.socketId).build(),
                                        DISCARD);
                                return;
                            }
                            idUtf8 = SendPipeline.Wire.utf8(batch.socketId);
                            id = batch.socketId;
                            if (bind == null && settled.compareAndSet(false, true)) {
                                timeout.cancel(false);
                                barrierDone(creation, null); // the operations behind it go out now
                            }
                        }
                        if (bind != null && !settled.get()) {
                            int outcome = -1;
                            for (int i = 0; i < batch.count && outcome < 0; i++) {
                                SocketEvent e = batch.other[i];
                                if (e != null && (e.getEventCase() == SocketEvent.EventCase.LISTENING
                                        || e.getEventCase() == SocketEvent.EventCase.ERROR)) {
                                    outcome = i;
                                }
                            }
                            if (outcome >= 0 && settled.compareAndSet(false, true)) {
                                timeout.cancel(false);
                                SocketEvent e = batch.other[outcome];
                                DgramException bindError = null;
                                if (e.getEventCase() == SocketEvent.EventCase.ERROR) {
                                    bindError = Errors.fromProto(e.getError().getError());
                                    batch.bindError = outcome;
                                }
                                // The batch first, gated on the creation: its 'error' comes before the
                                // callbacks of the sends the failed bind drops, as for a Bind call.
                                onBatch(batch);
                                barrierDone(creation, bindError);
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
                            long now = System.nanoTime();
                            long until = restartDeadline != 0 ? restartDeadline
                                    : now + core.restartTimeoutMillis() * 1_000_000L;
                            if (Errors.restarting(f) && now - until < 0 && !announced.isDone()) {
                                // the daemon hands over: create the socket on the new process
                                try {
                                    core.schedule(() -> open(creation, bind, until), StreamRestart.RETRY_MILLIS);
                                    return;
                                } catch (RuntimeException e) { // the client is shutting down
                                    failCreation(creation, announced, Errors.clientClosed());
                                    return;
                                }
                            }
                            failCreation(creation, announced, f.exception());
                            return;
                        }
                        streamFailed(f);
                    }

                    @Override
                    public void onCompleted() {
                        if (id == null) {
                            timeout.cancel(false);
                            failCreation(creation, announced, new DgramException(
                                    DgramException.ERR_DGRAMD_CALL_FAILED, "CreateSocket answered nothing"));
                            return;
                        }
                        streamEnded();
                    }
                });
    }

    /** The event stream ended without 'close' (after 'close' the socket has finished already). */
    private void streamEnded() {
        restart.streamEnded(null);
        executor.execute(() -> finish(Errors.unavailable(
                "dgramd ended the socket's event stream without 'close'", null)));
    }

    /**
     * The event stream failed: the socket finishes ('error', 'close'), unless the daemon ended it
     * because it hands its sockets to a new process: then the socket re-attaches to the new one
     * ({@link StreamRestart}).
     */
    private void streamFailed(Errors.RpcFailure f) {
        if (restart.streamEnded(f)) {
            return;
        }
        DgramException e = f.exception();
        // Revoked credentials say so; any other end of the stream is a lost connection.
        executor.execute(() -> finish(DgramException.ERR_DGRAMD_UNAUTHENTICATED.equals(e.code()) ? e
                : Errors.unavailable("lost the connection to dgramd: " + e.getMessage(), e.getCause())));
    }

    /** What {@link StreamRestart} needs of this socket. */
    private final class RestartHost implements StreamRestart.Host {
        @Override
        public String id() {
            return id;
        }

        @Override
        public ClientCall<EventsRequest, Decoded> newEventsCall() {
            DgramGrpc.DgramStub stub = core.stub();
            return stub.getChannel().newCall(eventsMethod(), stub.getCallOptions().withWaitForReady());
        }

        @Override
        public boolean isEventsCall(ClientCallStreamObserver<EventsRequest> call) {
            return eventsCall == call;
        }

        @Override
        public void attached(ClientCallStreamObserver<EventsRequest> call) {
            eventsCall = call;
        }

        @Override
        public void onBatch(Decoded batch) {
            RemoteSocket.this.onBatch(batch);
        }

        @Override
        public void streamFailed(Errors.RpcFailure f) {
            RemoteSocket.this.streamFailed(f);
        }

        @Override
        public void streamEnded() {
            RemoteSocket.this.streamEnded();
        }

        @Override
        public void gaveUp(DgramException error) {
            executor.execute(() -> finish(error));
        }

        @Override
        public boolean finished() {
            synchronized (RemoteSocket.this) {
                return finished;
            }
        }
    }

    /**
     * A call failed with {@code f}: when the daemon refused it because it is restarting (or the
     * connection failed while it restarts), makes it again once the event stream re-attached to
     * the new process ({@link StreamRestart#retry}). True when it will be made again.
     */
    private boolean retryAfterRestart(Barrier b, Errors.RpcFailure f) {
        return restart.retry(f, b.restart, () -> b.start.run(), () -> {
            if (b.abort != null) {
                b.abort.accept(Errors.clientClosed());
            }
            barrierDone(b, null);
        });
    }

    /**
     * Creation failed with {@code error}: the socket finishes ('error', then 'close'). False when
     * the socket was announced or failed already.
     */
    private boolean failCreation(Barrier creation, CompletableFuture<Void> announced, DgramException error) {
        if (!announced.complete(null)) {
            return false;
        }
        executor.execute(() -> {
            finish(error);
            creation.done.complete(null);
        });
        return true;
    }

    /** Runs {@code task} on the socket's listener thread, after everything dispatched before. */
    public void dispatch(Runnable task) {
        executor.execute(task);
    }

    /** True when the caller runs on this socket's listener thread. */
    public boolean onListenerThread() {
        return executor.inThisExecutor();
    }

    /** 'message' events the daemon dropped, for whatever reason (its budget, or this socket's bound). */
    public long droppedMessages() {
        return dropped.get();
    }

    /** Of {@link #droppedMessages()}, those dropped because the daemon's event budget was full (or it was stopping). */
    public long droppedMessagesBudget() {
        return droppedBudget.get();
    }

    /** Datagrams the daemon host's kernel dropped on this socket before the daemon read them. */
    public long droppedMessagesKernel() {
        return droppedKernel.get();
    }

    /** Payload bytes of sends not yet answered by the daemon (queued or in flight). */
    public synchronized long queuedBytes() {
        return queuedBytes;
    }

    /** Sends not yet answered by the daemon (queued or in flight). */
    public synchronized long queuedCount() {
        return queuedCount;
    }

    // ---------------------------------------------------------------- events

    private void onBatch(Decoded batch) {
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
        Barrier gate;
        synchronized (this) {
            gate = inFlight;
        }
        // One listener task per run of events (not one per event); an 'error' starts a new run,
        // behind the gate of the call in flight. The last run also asks for more batches.
        int from = 0;
        for (int i = 0; i < batch.count; i++) {
            SocketEvent other = batch.other[i];
            if (other != null && other.getEventCase() == SocketEvent.EventCase.ERROR) {
                if (i > from) {
                    executor.execute(new Run(batch, from, i, false));
                }
                if (gate != null) {
                    executor.gate(gate.done);
                }
                from = i;
            }
        }
        ClientCallStreamObserver<EventsRequest> call = eventsCall;
        if (batch.count == 0 && call != null) {
            call.request(1); // no event (the creating call's first batch): no trip to the listener thread
            return;
        }
        executor.execute(new Run(batch, from, batch.count, true));
    }

    /** Events {@code [from, to)} of a batch, delivered in order on the listener thread. */
    private final class Run implements Runnable {
        private final Decoded batch;
        private final int from;
        private final int to;
        private final boolean last;

        Run(Decoded batch, int from, int to, boolean last) {
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

    private void deliver(Decoded batch, int i) {
        byte[] data = batch.data[i];
        if (data != null) {
            events.onMessage(data, batch.rinfo[i]);
            return;
        }
        SocketEvent ev = batch.other[i];
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
            case CLOSE -> finish(null);
            default -> log.debug("socket {}: unknown event {}", id, ev.getEventCase());
        }
    }

    /**
     * On the listener thread, after each batch's listeners: asks for more batches, a few at a
     * time (each request wakes the transport thread), keeping at least half of
     * {@code eventBatchesInFlight} asked for.
     */
    private void consumed() {
        if (++unrequested < requestEvery) {
            return;
        }
        ClientCallStreamObserver<EventsRequest> call = eventsCall;
        boolean done;
        synchronized (this) {
            done = finished;
        }
        if (call != null && !done) {
            call.request(unrequested);
        }
        unrequested = 0;
    }

    /**
     * The socket is gone: after 'close' from the daemon ({@code error == null}) or when the event
     * stream failed. Runs on the listener thread, once. Unless close() was called, the listeners
     * first get 'error' (ERR_DGRAMD_UNAVAILABLE): the daemon closed the socket on its own.
     */
    private void finish(DgramException error) {
        List<Object> leftovers;
        boolean requested;
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            requested = closeRequested;
            leftovers = new ArrayList<>(ops);
            ops.clear();
        }
        DgramException cause = error != null || requested ? error // used only when close() was not called
                : Errors.unavailable("dgramd closed the socket (daemon shutting down?)", null);
        for (Object op : leftovers) {
            if (op instanceof SendOp s) {
                dropQueued(s, requested ? Errors.notRunning() : cause);
            } else {
                Barrier b = (Barrier) op;
                if (b.abort != null) {
                    b.abort.accept(requested ? Errors.notRunning() : cause);
                }
                b.done.complete(null);
            }
        }
        if (!requested) {
            events.onError(cause);
        }
        events.onClose();
    }

    /** Cancels the event stream: the socket finishes ('close') at once. */
    public void abandon(String why) {
        ClientCallStreamObserver<EventsRequest> call = eventsCall;
        if (call != null) {
            call.cancel(why, null);
        }
    }

    // ---------------------------------------------------------------- sends

    /**
     * Sends one datagram, after every earlier operation of the socket. Blocks while the client's
     * send window is full.
     *
     * @param data the payload, owned by the socket from now on (the caller passes a copy)
     * @param emitError whether the daemon also emits a failure as 'error' (Node: no callback given)
     * @param callback runs on the listener thread with the result; null: none (a success then
     *     costs no trip to the listener thread)
     * @param onFailure runs on the listener thread, before {@code callback}, when the send failed;
     *     may be null
     */
    public void send(byte[] data, int port, String address, boolean emitError, SendCallback callback,
            Runnable onFailure) {
        start(null);
        int size = data.length;
        core.pipeline().acquire(size);
        SendOp op = new SendOp(this, data, port, utf8(address), emitError, callback, onFailure);
        boolean gone;
        boolean direct = false;
        synchronized (this) {
            gone = finished;
            if (!gone) {
                queuedBytes += size;
                queuedCount++;
                if (ops.isEmpty() && inFlight == null && idUtf8 != null) {
                    unacked++; // nothing waits before it: straight to the pipeline
                    direct = true;
                } else {
                    ops.add(op);
                }
            }
        }
        if (gone) {
            core.pipeline().release(size);
            DgramException e = Errors.notRunning();
            if (op.needsDispatch(e)) {
                executor.execute(() -> op.report(e, 0));
            }
            return;
        }
        if (direct) {
            core.pipeline().submit(this, op);
        } else {
            pump();
        }
    }

    /** {@code address} in UTF-8; the last one is kept, as most sockets send to one peer. */
    private byte[] utf8(String address) {
        if (address == null || address.isEmpty()) {
            return NO_BYTES;
        }
        Utf8 last = lastDestination;
        if (last.text() == address || last.text().equals(address)) {
            return last.bytes();
        }
        byte[] bytes = SendPipeline.Wire.utf8(address);
        lastDestination = new Utf8(address, bytes);
        return bytes;
    }

    /** The daemon answered a datagram (or the pipeline gave up on it). Any thread. */
    void sendDone(SendOp op, DgramException error, int bytes) {
        synchronized (this) {
            unacked--;
            queuedBytes -= op.bytes;
            queuedCount--;
        }
        pump();
        if (op.needsDispatch(error)) {
            executor.execute(() -> op.report(error, bytes));
        }
    }

    /**
     * The daemon answered {@code ops[from, to)}, this socket's, their outcomes set: one update,
     * and one trip to the listener thread for those that need it. Any thread.
     */
    void sendsDone(SendOp[] ops, int from, int to) {
        long bytes = 0;
        boolean dispatch = false;
        for (int i = from; i < to; i++) {
            bytes += ops[i].bytes;
            dispatch |= ops[i].needsDispatch(ops[i].error);
        }
        synchronized (this) {
            unacked -= to - from;
            queuedBytes -= bytes;
            queuedCount -= to - from;
        }
        pump();
        if (dispatch) {
            executor.execute(() -> {
                for (int i = from; i < to; i++) {
                    SendOp op = ops[i];
                    try {
                        op.report(op.error, op.sent);
                    } catch (RuntimeException | Error e) {
                        log.warn("socket {}: send callback failed", id, e);
                    }
                }
            });
        }
    }

    /** A datagram that never reached the pipeline is dropped with {@code error}. */
    private void dropQueued(SendOp op, DgramException error) {
        synchronized (this) {
            queuedBytes -= op.bytes;
            queuedCount--;
        }
        core.pipeline().release(op.bytes);
        if (op.needsDispatch(error)) {
            executor.execute(() -> op.report(error, 0));
        }
    }

    // ---------------------------------------------------------------- ordering

    private void pump() {
        List<SendOp> toSend = null;
        Barrier toStart = null;
        synchronized (this) {
            if (ops.isEmpty()) {
                return;
            }
            while (!ops.isEmpty()) {
                Object head = ops.peek();
                if (head instanceof SendOp s) {
                    if (inFlight != null) {
                        break;
                    }
                    ops.poll();
                    unacked++;
                    if (toSend == null) {
                        toSend = new ArrayList<>();
                    }
                    toSend.add(s);
                } else {
                    Barrier b = (Barrier) head;
                    if (b.cancelled) {
                        ops.poll();
                        b.done.complete(null);
                        continue;
                    }
                    if (inFlight != null || unacked > 0) {
                        break;
                    }
                    ops.poll();
                    inFlight = b;
                    toStart = b;
                    break;
                }
            }
        }
        if (toSend != null) {
            core.pipeline().submit(this, toSend);
        }
        if (toStart != null) {
            try {
                toStart.start.run();
            } catch (RuntimeException e) {
                log.warn("socket {}: {} could not start", id, toStart.name, e);
                if (toStart.abort != null) {
                    toStart.abort.accept(new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                            toStart.name + " could not start: " + e, 0, null, null, 0, e));
                }
                barrierDone(toStart, null);
            }
        }
    }

    private void barrierDone(Barrier b, DgramException failFollowing) {
        List<SendOp> failed = null;
        synchronized (this) {
            if (inFlight == b) {
                inFlight = null;
            }
            if (failFollowing != null) {
                while (ops.peek() instanceof SendOp s) {
                    ops.poll();
                    if (failed == null) {
                        failed = new ArrayList<>();
                    }
                    failed.add(s);
                }
            }
        }
        b.done.complete(null);
        if (failed != null) {
            for (SendOp s : failed) {
                dropQueued(s, failFollowing);
            }
        }
        pump();
    }

    private boolean enqueue(Barrier b) {
        start(null);
        synchronized (this) {
            if (finished) {
                return false;
            }
            ops.add(b);
        }
        pump();
        return true;
    }

    /**
     * Issues an asynchronous call in order. {@code outcome} runs on a gRPC thread (or at once
     * with ERR_SOCKET_DGRAM_NOT_RUNNING if the socket is gone), before later events dispatch.
     *
     * @param failFollowingSends when the call fails, datagrams queued right behind it fail with
     *     its error instead of going out (a failed bind drops the sends that waited for it)
     */
    public <T> void callAsync(String name,
            BiConsumer<DgramGrpc.DgramStub, StreamObserver<T>> rpc, boolean failFollowingSends,
            Outcome<T> outcome) {
        Barrier b = new Barrier(name, failFollowingSends);
        b.abort = e -> outcome.complete(null, e, true);
        b.start = () -> rpc.accept(core.stubWithDeadline(), new StreamObserver<T>() {
            T value;

            @Override
            public void onNext(T v) {
                value = v;
            }

            @Override
            public void onError(Throwable t) {
                DgramException error = null;
                Errors.RpcFailure f = Errors.fromRpc(t, name);
                if (retryAfterRestart(b, f)) {
                    return; // made again on the restarted daemon
                }
                try {
                    error = f.exception();
                    boolean reported = f.transport() || (f.fromDaemon() && isSystemError(error));
                    outcome.complete(null, error, reported);
                } catch (RuntimeException e) {
                    log.warn("socket {}: handling the failure of {} failed", id, name, e);
                } finally {
                    barrierDone(b, failFollowingSends && error != null ? error : null);
                }
            }

            @Override
            public void onCompleted() {
                try {
                    outcome.complete(value, null, false);
                } finally {
                    barrierDone(b, null);
                }
            }
        });
        if (!enqueue(b)) {
            outcome.complete(null, Errors.notRunning(), true);
        }
    }

    /**
     * Issues a call in order and waits for its answer (at most about twice the call timeout).
     *
     * @throws DgramException the daemon's error, ERR_SOCKET_DGRAM_NOT_RUNNING when the socket is
     *     gone, ERR_DGRAMD_TIMEOUT, ERR_DGRAMD_UNAVAILABLE
     */
    public <T> T call(String name, BiConsumer<DgramGrpc.DgramStub, StreamObserver<T>> rpc) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Barrier b = new Barrier(name, false);
        b.abort = result::completeExceptionally;
        b.start = () -> rpc.accept(core.stubWithDeadline(), new StreamObserver<T>() {
            T value;

            @Override
            public void onNext(T v) {
                value = v;
            }

            @Override
            public void onError(Throwable t) {
                Errors.RpcFailure f = Errors.fromRpc(t, name);
                if (retryAfterRestart(b, f)) {
                    return; // made again on the restarted daemon
                }
                try {
                    result.completeExceptionally(f.exception());
                } finally {
                    result.completeExceptionally(t); // no-op unless the line above threw
                    barrierDone(b, null);
                }
            }

            @Override
            public void onCompleted() {
                result.complete(value);
                barrierDone(b, null);
            }
        });
        if (!enqueue(b)) {
            throw Errors.notRunning();
        }
        try {
            try {
                return result.get(2 * core.callTimeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                long deadline = b.restart.nanos();
                if (deadline <= 0) {
                    throw e;
                }
                // made again while the daemon restarts: wait for that too
                long left = Math.max(1, deadline - System.nanoTime()) + core.callTimeoutMillis() * 1_000_000L;
                return result.get(left, TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof DgramException d) {
                // a fresh exception, so the stack shows the caller
                throw new DgramException(d.code(), d.getMessage(), d.errno(), d.syscall(), d.address(),
                        d.port(), d);
            }
            throw new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED, name + " failed: "
                    + e.getCause(), 0, null, null, 0, e.getCause());
        } catch (TimeoutException e) {
            b.cancelled = true;
            throw Errors.timeout(name);
        } catch (InterruptedException e) {
            b.cancelled = true;
            Thread.currentThread().interrupt();
            throw new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                    "interrupted while waiting for " + name);
        }
    }

    /**
     * Closes the socket in the daemon, after every earlier operation; 'close' arrives on the event
     * stream. If the daemon cannot be told, the event stream is cancelled so that 'close' follows
     * anyway.
     */
    public void close() {
        boolean made;
        synchronized (this) {
            closeRequested = true;
            made = started;
            started = true;
            if (!made) {
                finished = true; // no operation gets in after this
            }
        }
        if (!made) {
            // Never created in the daemon (no operation ever queued): nothing to tell it; 'close'
            // follows on the listener thread, as in Node on the next tick.
            executor.execute(events::onClose);
            return;
        }
        this.<dev.dgramd.proto.v1.CloseResponse>callAsync("Close",
                (stub, obs) -> stub.close(CloseRequest.newBuilder().setSocketId(id).build(), obs),
                false, (resp, error, reported) -> {
                    if (error != null) {
                        log.debug("socket {}: Close failed ({}); abandoning its event stream", id,
                                error.getMessage());
                        abandon("Close failed: " + error.getMessage());
                    }
                });
    }

    /** Whether close() was called. */
    public synchronized boolean closeRequested() {
        return closeRequested;
    }

    /** A Node system error (EADDRINUSE, ENOTFOUND...) as opposed to an ERR_* argument error. */
    static boolean isSystemError(DgramException e) {
        return !e.code().startsWith("ERR_");
    }
    // ---------------------------------------------------------------- EventsResponse, read by hand

    /**
     * An EventsResponse as read: for each event, either a 'message' (its payload and rinfo) or the
     * event as protobuf parsed it (the rare ones, and any 'message' encoded unusually). Public for
     * the benchmarks only.
     */
    public static final class Decoded {
        String socketId; // EventsResponse.socket_id: the first batch of a call that created its socket
        int bindError = -1; // the event that is the 'error' of the bind made with the socket, if any
        long droppedMessages;
        long droppedMessagesBudget; // EventsResponse.dropped_messages_budget: of droppedMessages
        long kernelDroppedMessages; // EventsResponse.kernel_dropped_messages
        long droppedErrors;
        int count;
        byte[][] data;
        RemoteInfo[] rinfo;
        SocketEvent[] other;

        Decoded(int expected) {
            data = new byte[expected][];
            rinfo = new RemoteInfo[expected];
            other = new SocketEvent[expected];
        }

        /** Events in the batch. */
        public int count() {
            return count;
        }

        /** The payload of event {@code i} when it is a 'message' read by hand, else null. */
        public byte[] data(int i) {
            return data[i];
        }

        /** The rinfo of event {@code i} when {@link #data} is not null. */
        public RemoteInfo rinfo(int i) {
            return rinfo[i];
        }

        private int add() {
            if (count == data.length) {
                data = Arrays.copyOf(data, Math.max(4, count * 2));
                rinfo = Arrays.copyOf(rinfo, data.length);
                other = Arrays.copyOf(other, data.length);
            }
            return count++;
        }
    }

    /** Reads the Events stream's messages with {@link #decode}. */
    private final class BatchMarshaller implements MethodDescriptor.Marshaller<Decoded> {
        @Override
        public InputStream stream(Decoded value) {
            throw new UnsupportedOperationException("the client does not write EventsResponse messages");
        }

        @Override
        public Decoded parse(InputStream stream) {
            try {
                SendPipeline.Wire.Input in = SendPipeline.Wire.Input.readFully(stream);
                return decoder.decode(in.buf, 0, in.length);
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("invalid EventsResponse").withCause(e).asRuntimeException();
            }
        }
    }

    /**
     * Reads EventsResponse messages, keeping the last sender's RemoteInfo (and its address and family
     * as they came) so that a busy peer's is decoded once. One batch at a time. Public for the
     * benchmarks only.
     */
    public static final class EventDecoder {
        private static final int EVENT_MESSAGE = 3;
        private RemoteInfo lastRinfo;
        private byte[] lastAddress = NO_BYTES;
        private byte[] lastFamily = NO_BYTES;

        /**
         * Decodes an EventsResponse (the wire format of dgramd.v1.EventsResponse; unknown fields skipped).
         * Payloads are copied out, one array each; the RemoteInfo of the same sender, port and size as
         * the previous 'message' is that one again. On the transport thread, one batch at a time.
         */
        public Decoded decode(byte[] buf, int pos, int end) throws IOException {
            // sized for small datagrams (an event costs about 30 bytes more than its payload)
            Decoded batch = new Decoded(Math.max(4, Math.min(1024, (end - pos) / 64)));
            SendPipeline.Wire.Reader in = new SendPipeline.Wire.Reader(buf, pos, end);
            while (in.more()) {
                int tag = in.tag();
                if (tag == SendPipeline.Wire.tag(1, SendPipeline.Wire.LENGTH_DELIMITED)) {
                    int len = in.length();
                    decodeEvent(batch, buf, in.pos, in.pos + len);
                    in.pos += len;
                } else if (tag == SendPipeline.Wire.tag(2, SendPipeline.Wire.VARINT)) {
                    batch.droppedMessages = in.varint64();
                } else if (tag == SendPipeline.Wire.tag(3, SendPipeline.Wire.VARINT)) {
                    batch.droppedErrors = in.varint64();
                } else if (tag == SendPipeline.Wire.tag(4, SendPipeline.Wire.LENGTH_DELIMITED)) {
                    int len = in.length();
                    batch.socketId = new String(buf, in.pos, len, StandardCharsets.UTF_8);
                    in.pos += len;
                } else if (tag == SendPipeline.Wire.tag(6, SendPipeline.Wire.VARINT)) {
                    batch.droppedMessagesBudget = in.varint64();
                } else if (tag == SendPipeline.Wire.tag(7, SendPipeline.Wire.VARINT)) {
                    batch.kernelDroppedMessages = in.varint64();
                } else {
                    in.skip(tag);
                }
            }
            return batch;
        }

        /** One SocketEvent in {@code buf[start, end)}. */
        private void decodeEvent(Decoded batch, byte[] buf, int start, int end) throws IOException {
            // The usual event is exactly one 'message' field: read it here. Anything else (another
            // event, a oneof field seen twice, ...) goes to protobuf's parser, which knows the rules.
            SendPipeline.Wire.Reader in = new SendPipeline.Wire.Reader(buf, start, end);
            int messageStart = -1;
            int messageEnd = -1;
            boolean plain = true;
            while (in.more() && plain) {
                int tag = in.tag();
                int field = tag >>> 3;
                if (field == EVENT_MESSAGE && (tag & 7) == SendPipeline.Wire.LENGTH_DELIMITED && messageStart < 0) {
                    int len = in.length();
                    messageStart = in.pos;
                    messageEnd = in.pos + len;
                    in.pos += len;
                } else if (field >= 1 && field <= 5) {
                    plain = false;
                } else {
                    in.skip(tag);
                }
            }
            int i = batch.add();
            if (plain && messageStart >= 0) {
                decodeMessage(batch, i, buf, messageStart, messageEnd);
            } else {
                batch.other[i] = SocketEvent.parseFrom(java.nio.ByteBuffer.wrap(buf, start, end - start));
            }
        }

        private void decodeMessage(Decoded batch, int i, byte[] buf, int start, int end) throws IOException {
            SendPipeline.Wire.Reader in = new SendPipeline.Wire.Reader(buf, start, end);
            int dataStart = 0;
            int dataLen = 0;
            int addressStart = 0;
            int addressLen = 0;
            int familyStart = 0;
            int familyLen = 0;
            int port = 0;
            int size = 0;
            while (in.more()) {
                int tag = in.tag();
                if (tag == SendPipeline.Wire.tag(1, SendPipeline.Wire.LENGTH_DELIMITED)) {
                    dataLen = in.length();
                    dataStart = in.pos;
                    in.pos += dataLen;
                } else if (tag == SendPipeline.Wire.tag(2, SendPipeline.Wire.LENGTH_DELIMITED)) {
                    // rinfo; seen twice, the second merges into the first (its fields win)
                    int rinfoEnd = in.lengthDelimitedEnd();
                    while (in.pos < rinfoEnd) {
                        int t = in.tag();
                        if (t == SendPipeline.Wire.tag(1, SendPipeline.Wire.LENGTH_DELIMITED)) {
                            addressLen = in.length();
                            addressStart = in.pos;
                            in.pos += addressLen;
                        } else if (t == SendPipeline.Wire.tag(2, SendPipeline.Wire.LENGTH_DELIMITED)) {
                            familyLen = in.length();
                            familyStart = in.pos;
                            in.pos += familyLen;
                        } else if (t == SendPipeline.Wire.tag(3, SendPipeline.Wire.VARINT)) {
                            port = (int) in.varint64();
                        } else if (t == SendPipeline.Wire.tag(4, SendPipeline.Wire.VARINT)) {
                            size = (int) in.varint64();
                        } else {
                            in.skip(t);
                        }
                    }
                    in.expectAt(rinfoEnd);
                } else {
                    in.skip(tag);
                }
            }
            byte[] data = dataLen == 0 ? NO_BYTES : Arrays.copyOfRange(buf, dataStart, dataStart + dataLen);
            if (size == 0) {
                size = data.length;
            }
            RemoteInfo last = lastRinfo;
            boolean sameSender = last != null
                    && Arrays.equals(buf, addressStart, addressStart + addressLen, lastAddress, 0, lastAddress.length)
                    && Arrays.equals(buf, familyStart, familyStart + familyLen, lastFamily, 0, lastFamily.length);
            RemoteInfo rinfo;
            if (sameSender && last.port() == port && last.size() == size) {
                rinfo = last; // immutable: the listeners may share it
            } else if (sameSender) {
                rinfo = new RemoteInfo(last.address(), last.family(), port, size);
            } else {
                rinfo = new RemoteInfo(new String(buf, addressStart, addressLen, StandardCharsets.UTF_8),
                        family(buf, familyStart, familyLen), port, size);
                lastAddress = Arrays.copyOfRange(buf, addressStart, addressStart + addressLen);
                lastFamily = Arrays.copyOfRange(buf, familyStart, familyStart + familyLen);
            }
            lastRinfo = rinfo;
            batch.data[i] = data;
            batch.rinfo[i] = rinfo;
        }
    }

    private static final byte[] IPV4 = {'I', 'P', 'v', '4'};
    private static final byte[] IPV6 = {'I', 'P', 'v', '6'};

    private static String family(byte[] buf, int start, int len) {
        if (Arrays.equals(buf, start, start + len, IPV4, 0, 4)) {
            return "IPv4";
        }
        if (Arrays.equals(buf, start, start + len, IPV6, 0, 4)) {
            return "IPv6";
        }
        return new String(buf, start, len, StandardCharsets.UTF_8);
    }
}
