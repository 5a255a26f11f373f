package dev.dgramd.client.internal;

import dev.dgramd.client.AddressInfo;
import dev.dgramd.client.DgramException;
import dev.dgramd.client.RemoteInfo;
import dev.dgramd.client.SendCallback;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CloseResponse;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One daemon socket seen from the client, as the public {@code Socket} uses it: operations in,
 * events out. It puts together the socket's two paths and its listener executor:
 * <ul>
 *   <li>the send path, {@link OperationQueue}: every operation in call order (the datagrams on to
 *       the client's {@link SendPipeline}, the other calls one at a time);
 *   <li>the receive path, {@link EventStream}: the event stream, its decoding and its dispatch;
 *   <li>the listener executor, a {@link SerialExecutor}: events, send callbacks and call outcomes
 *       the caller dispatches run there one at a time, in order (on the shared listener pool, or on
 *       the transport's event loop: {@link ClientCore#listenersOnEventLoop}).
 * </ul>
 * The paths share no lock and no field; the creation's outcome and the socket's end are the only
 * news the receive path gives the send path, through this class.
 */
public final class RemoteSocket {
    private static final Logger log = LoggerFactory.getLogger(RemoteSocket.class);

    /** A socket's events, called in order on the socket's listener executor. */
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

    /** The last destination address sent to, and its UTF-8 bytes (racy but immutable). */
    private record Utf8(String text, byte[] bytes) {}

    private static final byte[] NO_BYTES = {};

    private final ClientCore core;
    private final CreateSocketRequest createRequest;
    private final Events events;
    private final SerialExecutor executor;
    private final OperationQueue queue;
    private final EventStream stream;
    /** The creation barrier that was queued; set when it starts. */
    private volatile Barrier creation;
    private volatile Utf8 lastDestination = new Utf8("", NO_BYTES);

    RemoteSocket(ClientCore core, CreateSocketRequest request, Events events) {
        this.core = core;
        this.createRequest = request;
        this.events = events;
        this.executor = new SerialExecutor(core.listenerExecutor());
        this.queue = new OperationQueue(core.pipeline(), executor, this::id);
        this.stream = new EventStream(core, executor, events, new StreamNews());
    }

    /** The daemon's name of the socket; null until the daemon announced it. */
    public String id() {
        return stream.id();
    }

    /**
     * Creates the socket in the daemon, unless that was asked for already: the first of the
     * socket's operations, in one message on the client's Session call (or one Events call, to a
     * daemon without Session) that also opens its event stream
     * (EventsRequest.create), and binds it too when {@code bind} is not null (EventsRequest.bind:
     * 'listening' or the bind's 'error' then comes as an event). Until the daemon announced the
     * socket, later operations wait behind the creation. A creation that fails (or is not
     * announced within twice the call timeout) finishes the socket: 'error' with the daemon's
     * error (ERR_DGRAMD_UNAVAILABLE, ERR_DGRAMD_UNAUTHENTICATED, EMFILE, ...), then 'close'.
     *
     * @return true when this call started the creation (with {@code bind}, if given)
     */
    public boolean start(BindRequest bind) {
        if (queue.started()) {
            return false; // every operation asks: no lock, no allocation once asked
        }
        Barrier b = new Barrier("CreateSocket");
        b.start = () -> {
            creation = b;
            stream.open(createRequest, bind, 0);
        };
        return queue.create(b);
    }

    /** What the receive path tells the send path, and asks of it. */
    private final class StreamNews implements EventStream.Socket {
        @Override
        public void announced(String id) {
            queue.announced(ProtoWire.utf8(id));
        }

        @Override
        public void creationSettled(DgramException bindError) {
            queue.done(creation, bindError);
        }

        @Override
        public void creationFailed(DgramException error) {
            Barrier b = creation;
            executor.execute(() -> {
                finish(error);
                b.done.complete(null);
            });
        }

        @Override
        public CompletableFuture<Void> gate() {
            return queue.gate();
        }

        @Override
        public void finish(DgramException error) {
            RemoteSocket.this.finish(error);
        }
    }

    /**
     * The socket is gone: after 'close' from the daemon ({@code error == null}) or when the event
     * stream failed. Runs on the listener executor, once. Unless close() was called, the listeners
     * first get 'error' (ERR_DGRAMD_UNAVAILABLE): the daemon closed the socket on its own.
     */
    private void finish(DgramException error) {
        OperationQueue.Leftovers left = queue.close();
        if (left == null) {
            return;
        }
        stream.ended();
        boolean requested = left.closeRequested();
        DgramException cause = error != null || requested ? error // used only when close() was not called
                : Errors.unavailable("dgramd closed the socket (daemon shutting down?)", null);
        // Built only for operations still waiting: an exception's stack trace costs microseconds.
        DgramException failure = left.ops().isEmpty() ? null : requested ? Errors.notRunning() : cause;
        for (Object op : left.ops()) {
            if (op instanceof SendOp s) {
                queue.drop(s, failure);
            } else {
                Barrier b = (Barrier) op;
                if (b.abort != null) {
                    b.abort.accept(failure);
                }
                b.done.complete(null);
            }
        }
        if (!requested) {
            events.onError(cause);
        }
        events.onClose();
    }

    /** Runs {@code task} on the socket's listener executor, after everything dispatched before. */
    public void dispatch(Runnable task) {
        executor.execute(task);
    }

    /** True when the caller runs on this socket's listener executor. */
    public boolean onListenerThread() {
        return executor.inThisExecutor();
    }

    /** 'message' events the daemon dropped, for whatever reason (its budget, or this socket's bound). */
    public long droppedMessages() {
        return stream.droppedMessages();
    }

    /** Of {@link #droppedMessages()}, those dropped because the daemon's event budget was full (or it was stopping). */
    public long droppedMessagesBudget() {
        return stream.droppedMessagesBudget();
    }

    /** Datagrams the daemon host's kernel dropped on this socket before the daemon read them. */
    public long droppedMessagesKernel() {
        return stream.droppedMessagesKernel();
    }

    /** Payload bytes of sends not yet answered by the daemon (queued or in flight). */
    public long queuedBytes() {
        return queue.queuedBytes();
    }

    /** Sends not yet answered by the daemon (queued or in flight). */
    public long queuedCount() {
        return queue.queuedCount();
    }

    /** Cancels the event stream: the socket finishes ('close') at once. */
    public void abandon(String why) {
        stream.cancel(why);
    }

    /** Whether close() was called. */
    public boolean closeRequested() {
        return queue.closeRequested();
    }

    /** A Node system error (EADDRINUSE, ENOTFOUND...) as opposed to an ERR_* argument error. */
    static boolean isSystemError(DgramException e) {
        return !e.code().startsWith("ERR_");
    }

    // ---------------------------------------------------------------- sends

    /**
     * Sends one datagram, after every earlier operation of the socket. Blocks while the client's
     * send window is full; on the transport's event loop (listeners there) it never blocks: a
     * datagram that finds the window full fails with ENOBUFS instead.
     *
     * @param data the payload is {@code data[offset, offset+length)}, copied before this returns
     *     (the caller may change its array afterwards)
     * @param callback runs on the listener executor with the result; null: none (a success then
     *     costs no trip to the listener executor, and the daemon also emits a failure as 'error',
     *     as Node does without a callback)
     * @param onFailure runs on the listener executor, before {@code callback}, when the send failed;
     *     may be null
     * @param whileBinding the caller saw the socket binding by bind() (its outcome not yet
     *     delivered): should that bind fail, the datagram fails with its error
     */
    public void send(byte[] data, int offset, int length, int port, String address, SendCallback callback,
            Runnable onFailure, boolean whileBinding) {
        start(null);
        SendOp op = new SendOp(length, port, utf8(address), callback, onFailure);
        if (!core.onEventLoop()) {
            core.pipeline().acquire(op, data, offset);
        } else if (!core.pipeline().tryAcquire(op, data, offset)) {
            DgramException e = Errors.enobufs(address, port);
            op.outcome(e, 0);
            executor.execute(() -> {
                op.report();
                if (callback == null) {
                    events.onError(e); // what the daemon would do for a failed send without a callback
                }
            });
            return;
        }
        queue.send(op, whileBinding);
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
        byte[] bytes = ProtoWire.utf8(address);
        lastDestination = new Utf8(address, bytes);
        return bytes;
    }

    // ---------------------------------------------------------------- calls

    /** A barrier's call failed with {@code f}: true when it will be made again on the restarted daemon. */
    private boolean retryAfterRestart(Barrier b, Errors.RpcFailure f) {
        return stream.retryAfterRestart(f, b, () -> {
            if (b.abort != null) {
                b.abort.accept(Errors.clientClosed());
            }
            queue.done(b, null);
        });
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
        Barrier b = new Barrier(name);
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
                    log.warn("socket {}: handling the failure of {} failed", id(), name, e);
                } finally {
                    queue.done(b, failFollowingSends && error != null ? error : null);
                }
            }

            @Override
            public void onCompleted() {
                try {
                    outcome.complete(value, null, false);
                } finally {
                    queue.done(b, null);
                }
            }
        });
        if (!enqueue(b)) {
            outcome.complete(null, Errors.notRunning(), true);
        }
    }

    private boolean enqueue(Barrier b) {
        start(null);
        return queue.add(b);
    }

    /**
     * Issues a call in order and waits for its answer (at most about twice the call timeout).
     *
     * <p>On the transport's event loop (listeners there) no answer can come while the caller
     * waits: a call given {@code unanswered} is then issued without waiting, in order, its
     * failure emitted as 'error', and {@code unanswered} returned at once; one without (a
     * getter) fails with ERR_DGRAMD_WOULD_BLOCK.
     *
     * @param unanswered what to return on the event loop, where the answer cannot be waited for;
     *     null: the caller needs the answer
     * @throws DgramException the daemon's error, ERR_SOCKET_DGRAM_NOT_RUNNING when the socket is
     *     gone, ERR_DGRAMD_TIMEOUT, ERR_DGRAMD_UNAVAILABLE, ERR_DGRAMD_WOULD_BLOCK
     */
    public <T> T call(String name, BiConsumer<DgramGrpc.DgramStub, StreamObserver<T>> rpc, T unanswered) {
        if (core.onEventLoop()) {
            if (unanswered == null) {
                throw Errors.wouldBlock(name);
            }
            this.<T>callAsync(name, rpc, false, (value, error, reported) -> {
                // a system error (EINVAL...) is the setter's own, which the daemon does not emit;
                // any other that is reported comes with the socket's end ('error', 'close')
                if (error != null && (!reported || isSystemError(error))
                        && !"ERR_SOCKET_DGRAM_NOT_RUNNING".equals(error.code())) {
                    executor.execute(() -> events.onError(error));
                }
            });
            return unanswered;
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Barrier b = new Barrier(name);
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
                    queue.done(b, null);
                }
            }

            @Override
            public void onCompleted() {
                result.complete(value);
                queue.done(b, null);
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
     * Closes the socket in the daemon, after every earlier operation: a message on its Session
     * slot, or a Close call when it has none; 'close' arrives on the event stream. If the daemon cannot be told, the event stream is cancelled so that 'close' follows
     * anyway.
     */
    public void close() {
        if (!queue.requestClose()) {
            // Never created in the daemon (no operation ever queued): nothing to tell it; 'close'
            // follows on the listener executor, as in Node on the next tick.
            executor.execute(events::onClose);
            return;
        }
        this.<CloseResponse>callAsync("Close", (stub, obs) -> {
                    if (stream.closeOnSession()) { // 'close' comes on the slot: nothing else answers
                        obs.onNext(CloseResponse.getDefaultInstance());
                        obs.onCompleted();
                    } else {
                        stub.close(CloseRequest.newBuilder().setSocketId(id()).build(), obs);
                    }
                },
                false, (resp, error, reported) -> {
                    if (error != null) {
                        log.debug("socket {}: Close failed ({}); abandoning its event stream", id(),
                                error.getMessage());
                        abandon("Close failed: " + error.getMessage());
                    }
                });
    }
}
