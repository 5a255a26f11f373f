package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket's operations in call order, from its creation to its close: the send path of one
 * socket. The daemon applies unary calls and SendStream batches as they arrive, on several
 * streams, so the order is kept here: a {@link Barrier} (any operation but a send) is issued
 * alone, once the barrier before it was answered and every earlier datagram acknowledged;
 * datagrams flow freely between barriers, to the {@link SendPipeline} on this socket's
 * {@link SendPipeline.Lane}. The daemon thus sees a socket's operations in call order, as Node's
 * would apply them.
 *
 * <p>It also counts what is not yet answered ({@link #queuedBytes}, {@link #queuedCount}) and
 * reports each send's outcome on the socket's listener executor when it needs to (a callback,
 * a failure). Thread-safe: one lock, its own; it calls the pipeline and barriers outside it.
 */
final class OperationQueue implements SendPipeline.Acks {
    private static final Logger log = LoggerFactory.getLogger(OperationQueue.class);

    /** What was left when the socket finished, and whether close() had been called. */
    record Leftovers(List<Object> ops, boolean closeRequested) {}

    private final SendPipeline pipeline;
    private final Executor listener;
    private final Supplier<String> name;

    private final ArrayDeque<Object> ops = new ArrayDeque<>(); // SendOp | Barrier; guarded by this
    private Barrier inFlight; // guarded by this
    private int unacked; // datagrams handed to the pipeline; guarded by this
    private long queuedBytes; // guarded by this
    private long queuedCount; // guarded by this
    private boolean closeRequested; // guarded by this
    private boolean closed; // no operation gets in; guarded by this
    /**
     * The error of the last call that failed the sends behind it (a bind), until the next call: a
     * send its caller made while the socket was binding fails with it, whether it reached this
     * queue before that answer (then it waited behind the call) or after. Guarded by this.
     */
    private DgramException failing;
    /** Creation queued (or made unnecessary by close); written under this, read without. */
    private volatile boolean started;
    /** Once the daemon announced the socket. */
    private volatile SendPipeline.Lane lane;

    /**
     * @param listener the socket's listener executor: send outcomes are reported there
     * @param name how the socket is named in logs
     */
    OperationQueue(SendPipeline pipeline, Executor listener, Supplier<String> name) {
        this.pipeline = pipeline;
        this.listener = listener;
        this.name = name;
    }

    /** Whether the creation was queued (or made unnecessary by close). No lock. */
    boolean started() {
        return started;
    }

    /**
     * Puts the socket's creation first in line, unless it was queued already (or close() made it
     * unnecessary). Until {@code creation} is answered, every later operation waits behind it.
     *
     * @return true when this call queued it
     */
    boolean create(Barrier creation) {
        synchronized (this) {
            if (started) {
                return false;
            }
            started = true;
            ops.addFirst(creation); // first: nothing was queued before creation was asked for
        }
        pump();
        return true;
    }

    /**
     * The daemon announced the socket as {@code idUtf8}: its datagrams go to the pipeline on a
     * lane of that id from now on.
     */
    void announced(byte[] idUtf8) {
        lane = pipeline.lane(idUtf8, this);
    }

    /**
     * close() was called. True when the socket was made in the daemon (or its creation is
     * queued), which must then be told; false when it never was: no operation gets in any more.
     */
    boolean requestClose() {
        synchronized (this) {
            closeRequested = true;
            boolean made = started;
            started = true;
            if (!made) {
                closed = true;
            }
            return made;
        }
    }

    /** Whether close() was called. */
    synchronized boolean closeRequested() {
        return closeRequested;
    }

    /**
     * The socket finished: no operation gets in from now on. Null when it had finished already;
     * else what was waiting, for the caller to fail.
     */
    Leftovers close() {
        synchronized (this) {
            if (closed) {
                return null;
            }
            closed = true;
            List<Object> left = new ArrayList<>(ops);
            ops.clear();
            return new Leftovers(left, closeRequested);
        }
    }

    /** The answer of the barrier in flight, null when none is: what an 'error' event waits for. */
    synchronized CompletableFuture<Void> gate() {
        return inFlight == null ? null : inFlight.done;
    }

    /** Queues {@code b} in order. False when the socket is gone. */
    boolean add(Barrier b) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            failing = null; // a later call (a new bind...): sends wait behind it as usual
            ops.add(b);
        }
        pump();
        return true;
    }

    /**
     * Queues one datagram in order, its window share taken by the caller. When the socket is
     * gone it fails at once with ERR_SOCKET_DGRAM_NOT_RUNNING (its share returned); made {@code
     * whileBinding} after that bind failed, with the bind's error.
     */
    void send(SendOp op, boolean whileBinding) {
        boolean gone;
        boolean direct = false;
        DgramException failed = null;
        SendPipeline.Lane to = lane;
        synchronized (this) {
            gone = closed;
            if (!gone && whileBinding && failing != null && ops.isEmpty() && inFlight == null) {
                failed = failing;
            } else if (!gone) {
                queuedBytes += op.bytes;
                queuedCount++;
                if (ops.isEmpty() && inFlight == null && to != null) {
                    unacked++; // nothing waits before it: straight to the pipeline
                    direct = true;
                } else {
                    ops.add(op);
                }
            }
        }
        if (gone || failed != null) {
            pipeline.release(op);
            report(op, gone ? Errors.notRunning() : failed);
            return;
        }
        if (direct) {
            pipeline.submit(to, op);
        } else {
            pump();
        }
    }

    /** Fails a datagram that never went out with {@code error}, on the listener executor. */
    void report(SendOp op, DgramException error) {
        op.outcome(error, 0);
        if (op.needsDispatch()) {
            listener.execute(op::report);
        }
    }

    /** Payload bytes of sends not yet answered by the daemon (queued or in flight). */
    synchronized long queuedBytes() {
        return queuedBytes;
    }

    /** Sends not yet answered by the daemon (queued or in flight). */
    synchronized long queuedCount() {
        return queuedCount;
    }

    /**
     * The daemon answered {@code ops[from, to)}, this socket's, their outcomes set: one update,
     * and one trip to the listener executor for those that need it. Any thread.
     */
    @Override
    public void answered(SendOp[] ops, int from, int to) {
        long bytes = 0;
        boolean dispatch = false;
        for (int i = from; i < to; i++) {
            bytes += ops[i].bytes;
            dispatch |= ops[i].needsDispatch();
        }
        synchronized (this) {
            unacked -= to - from;
            queuedBytes -= bytes;
            queuedCount -= to - from;
        }
        pump();
        if (dispatch) {
            listener.execute(() -> {
                for (int i = from; i < to; i++) {
                    try {
                        ops[i].report();
                    } catch (RuntimeException | Error e) {
                        log.warn("socket {}: send callback failed", name.get(), e);
                    }
                }
            });
        }
    }

    /** A datagram that never reached the pipeline is dropped with {@code error}. */
    void drop(SendOp op, DgramException error) {
        synchronized (this) {
            queuedBytes -= op.bytes;
            queuedCount--;
        }
        pipeline.release(op);
        report(op, error);
    }

    /**
     * {@code b} was answered (or given up): the operations behind it go. With {@code
     * failFollowing}, the datagrams queued right behind it fail with that error instead (a
     * failed bind drops the sends that waited for it).
     */
    void done(Barrier b, DgramException failFollowing) {
        List<SendOp> failed = null;
        synchronized (this) {
            if (inFlight == b) {
                inFlight = null;
            }
            if (failFollowing != null) {
                failing = failFollowing;
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
                drop(s, failFollowing);
            }
        }
        pump();
    }


    /** Issues what may go now: the datagrams up to the next barrier, or that barrier. */
    private void pump() {
        List<SendOp> toSend = null;
        Barrier toStart = null;
        SendPipeline.Lane to;
        synchronized (this) {
            if (ops.isEmpty()) {
                return;
            }
            to = lane;
            while (!ops.isEmpty()) {
                Object head = ops.peek();
                if (head instanceof SendOp s) {
                    if (inFlight != null || to == null) {
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
            pipeline.submit(to, toSend);
        }
        if (toStart != null) {
            try {
                toStart.start.run();
            } catch (RuntimeException e) {
                log.warn("socket {}: {} could not start", name.get(), toStart.name, e);
                if (toStart.abort != null) {
                    toStart.abort.accept(new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                            toStart.name + " could not start: " + e, 0, null, null, 0, e));
                }
                done(toStart, null);
            }
        }
    }
}
