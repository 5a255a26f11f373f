package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.proto.v1.DgramGrpc;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one SendStream, the connection's send path: datagrams of all sockets, each
 * socket's queued on its {@link Lane}, batched per socket, written only while the stream
 * {@code isReady()} (the rest wait on their lane, resumed by onReady), and their answers handed
 * to the lane's {@link Acks}. It knows no socket: what comes before a datagram in its socket's
 * order is the socket's {@link OperationQueue}'s business.
 * The window ({@link #acquire}) bounds what is unacknowledged over all sockets: a caller of
 * send() waits for room; gRPC threads never wait. A datagram's window share is returned when
 * its SendResult arrives (or the stream fails), never later, so a blocked sender cannot starve
 * the acknowledgements it waits for.
 *
 * <p>Coalescing: at most {@link #MAX_BATCHES_IN_FLIGHT} batches are unanswered at a time. A send
 * made while they are goes out with the next batch, once an answer comes back (ack clocking, as
 * TCP's Nagle algorithm): a lone send leaves at once, a burst of sends shares few gRPC messages.
 *
 * <p>Payloads: {@link #acquire} copies a datagram's payload in as it takes its window share,
 * before send() returns; a small one into a shared chunk ({@link PayloadChunks}, under the window
 * lock), which takes at most the window's bytes. The copy is held until the datagram is answered or
 * failed ({@link #release}), for a datagram not answered when the daemon restarts goes again.
 *
 * <p>Wire format: the stream's messages are dgramd.v1.SendStreamRequest and SendStreamResponse,
 * written and read by hand ({@link SendBatch}, {@link SendResults}), straight from and into the
 * datagrams waiting for them: no protobuf object per datagram either way.
 */
final class SendPipeline {
    private static final Logger log = LoggerFactory.getLogger(SendPipeline.class);
    private static final int MAX_BATCH_DATAGRAMS = 256;
    private static final int MAX_BATCH_BYTES = 256 * 1024;
    private static final int MAX_BATCHES_IN_FLIGHT = 2;

    /** SendStream, with the hand-written codecs of its messages. */
    private static final MethodDescriptor<SendBatch, SendResults> SEND_STREAM = DgramGrpc.getSendStreamMethod()
            .toBuilder(new SendBatch.Marshaller(), new SendResults.Marshaller()).build();

    /** A written batch: how many of its datagrams are unanswered. Guarded by streamLock. */
    static final class Written {
        int unanswered;
    }

    /** Hears the answers of one lane's datagrams. */
    interface Acks {
        /**
         * The daemon answered {@code ops[from, to)} (or the pipeline gave up on them), their
         * outcomes set ({@link SendOp#error}, {@link SendOp#sent}), in the order they were
         * submitted. Any thread; called before their window share is released.
         */
        void answered(SendOp[] ops, int from, int to);
    }

    /**
     * One socket's place in the pipeline: its id on the wire, its datagrams waiting for the
     * stream, and who hears their answers. Made by {@link #lane}; its queue belongs to the
     * pipeline (guarded by its stream lock), nobody else reads it.
     */
    static final class Lane {
        final byte[] socketId;
        final Acks acks;
        private final ArrayDeque<SendOp> queue = new ArrayDeque<>();
        private boolean ready;

        private Lane(byte[] socketId, Acks acks) {
            this.socketId = socketId;
            this.acks = acks;
        }
    }

    private final ClientCore core;
    private final DgramGrpc.DgramStub stub;
    private final long maxBytes;
    private final int maxCount;

    private final ReentrantLock windowLock = new ReentrantLock();
    private final Condition notFull = windowLock.newCondition();
    private long pendingBytes; // guarded by windowLock
    private int pendingCount; // guarded by windowLock
    /** The payloads of the datagrams holding window room. Guarded by windowLock. */
    private final PayloadChunks chunks;
    private volatile boolean closed;

    private final Object streamLock = new Object();
    private ClientCallStreamObserver<SendBatch> stream; // guarded by streamLock
    /** Set while {@link #start} runs: gRPC may call the onReady handler, drain, from inside it. */
    private boolean starting; // guarded by streamLock
    private final ArrayDeque<Lane> ready = new ArrayDeque<>(); // guarded by streamLock
    private int batchesInFlight; // guarded by streamLock
    private final LongMap<SendOp> inflight; // guarded by streamLock
    private final AtomicLong ids = new AtomicLong();
    /**
     * While the daemon restarts by hand-over: when the wait for the new process ends (nanoTime);
     * the next stream waits for the channel to be ready. 0 otherwise. Guarded by streamLock.
     */
    private long restartDeadline;

    SendPipeline(ClientCore core, DgramGrpc.DgramStub stub, long maxBytes, int maxCount) {
        this.core = core;
        this.stub = stub;
        this.maxBytes = maxBytes;
        this.maxCount = maxCount;
        this.inflight = new LongMap<>(maxCount);
        // chunks hold at most the window's bytes (a payload finding them all held gets an array
        // of its own, within the window as ever): together at most twice the window
        this.chunks = new PayloadChunks((int) Math.min(Integer.MAX_VALUE, maxBytes / PayloadChunks.CHUNK_BYTES));
    }

    /** A lane for the socket {@code socketId} (UTF-8) whose answers go to {@code acks}. */
    Lane lane(byte[] socketId, Acks acks) {
        return new Lane(socketId, acks);
    }

    /**
     * Takes room for {@code op} unless the window is full, never waiting, and copies its payload
     * {@code src[offset, offset+op.bytes)} in ({@link SendOp#data}). A datagram larger than the
     * whole window gets through when nothing else is pending.
     *
     * @return false when the window is full (nothing copied)
     * @throws DgramException ERR_DGRAMD_CLIENT_CLOSED once the client is closed
     */
    boolean tryAcquire(SendOp op, byte[] src, int offset) {
        PayloadChunks.Chunk chunk;
        windowLock.lock();
        try {
            if (closed) {
                throw Errors.clientClosed();
            }
            if (full(op.bytes)) {
                return false;
            }
            chunk = take(op);
        } finally {
            windowLock.unlock();
        }
        copy(op, chunk, src, offset);
        return true;
    }

    /**
     * Takes room for {@code op}, waiting while the window is full, and copies its payload {@code
     * src[offset, offset+op.bytes)} in ({@link SendOp#data}). A datagram larger than the whole
     * window gets through when nothing else is pending.
     *
     * @throws DgramException ERR_DGRAMD_CLIENT_CLOSED once the client is closed
     */
    void acquire(SendOp op, byte[] src, int offset) {
        PayloadChunks.Chunk chunk;
        windowLock.lock();
        try {
            while (!closed && full(op.bytes)) {
                try {
                    notFull.await(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                            "interrupted while waiting for room to send");
                }
            }
            if (closed) {
                throw Errors.clientClosed();
            }
            chunk = take(op);
        } finally {
            windowLock.unlock();
        }
        copy(op, chunk, src, offset);
    }

    /**
     * Whether a datagram of {@code size} bytes finds no room (one larger than the whole window
     * gets it when nothing else is pending). Guarded by windowLock.
     */
    private boolean full(int size) {
        return pendingCount > 0 && (pendingCount >= maxCount || pendingBytes + size > maxBytes);
    }

    /**
     * Takes {@code op}'s room and a place in a chunk for its payload: the chunk, null for an array
     * of its own. Guarded by windowLock.
     */
    private PayloadChunks.Chunk take(SendOp op) {
        pendingCount++;
        pendingBytes += op.bytes;
        PayloadChunks.Chunk chunk = chunks.reserve(op.bytes);
        if (chunk != null) {
            op.payload(chunk, PayloadChunks.offset(chunk));
        }
        return chunk;
    }

    /** Copies the payload to where {@link #take} put it; outside the lock, the place is op's. */
    private static void copy(SendOp op, PayloadChunks.Chunk chunk, byte[] src, int offset) {
        if (chunk == null) {
            op.payload(java.util.Arrays.copyOfRange(src, offset, offset + op.bytes), 0);
        } else {
            System.arraycopy(src, offset, chunk.bytes, op.offset, op.bytes);
        }
    }

    /** Gives back the room of {@code op}, acquired, and its payload's place. */
    void release(SendOp op) {
        windowLock.lock();
        try {
            giveBack(op);
            notFull.signalAll();
        } finally {
            windowLock.unlock();
        }
    }

    /** Gives back the room of {@code ops[0, n)}, acquired, and their payloads' places. */
    private void release(SendOp[] ops, int n) {
        if (n == 0) {
            return;
        }
        windowLock.lock();
        try {
            for (int i = 0; i < n; i++) {
                giveBack(ops[i]);
            }
            notFull.signalAll();
        } finally {
            windowLock.unlock();
        }
    }

    /** What {@link #take} took. Guarded by windowLock. Once only: the place may be another's afterwards. */
    private void giveBack(SendOp op) {
        pendingCount--;
        pendingBytes -= op.bytes;
        PayloadChunks.Chunk chunk = op.letGo();
        if (chunk != null) {
            chunks.release(chunk);
        }
    }

    /**
     * Queues datagrams of one lane, in order, each holding its window share, and writes what the
     * stream takes now. Their answers go to the lane's {@link Acks}.
     */
    void submit(Lane lane, List<SendOp> ops) {
        if (closed) {
            for (SendOp op : ops) {
                op.lane = lane;
                complete(op, Errors.clientClosed());
            }
            return;
        }
        synchronized (streamLock) {
            for (int i = 0, n = ops.size(); i < n; i++) {
                enqueue(lane, ops.get(i));
            }
            drainLocked();
        }
    }

    /** Queues one datagram of {@code lane} and writes what the stream takes now; see above. */
    void submit(Lane lane, SendOp op) {
        if (closed) {
            op.lane = lane;
            complete(op, Errors.clientClosed());
            return;
        }
        synchronized (streamLock) {
            enqueue(lane, op); // and written in the same hold of the lock: one acquisition per send
            drainLocked();
        }
    }

    /** Guarded by streamLock. */
    private void enqueue(Lane lane, SendOp op) {
        long id = ids.incrementAndGet();
        op.id = id;
        op.lane = lane;
        inflight.put(id, op);
        lane.queue.add(op);
        if (!lane.ready) {
            lane.ready = true;
            ready.add(lane);
        }
    }

    private void drain() {
        synchronized (streamLock) {
            drainLocked();
        }
    }

    /** Writes what the stream takes now. Guarded by streamLock. */
    private void drainLocked() {
        if (closed) {
            return;
        }
        if (stream == null) {
            if (starting) {
                // onReady, run by start() itself (direct executor): the drain that is
                // starting the stream goes on once it has it
                return;
            }
            starting = true;
            try {
                start();
            } finally {
                starting = false;
            }
        }
        ClientCallStreamObserver<SendBatch> s = stream;
        // the window test first: isReady() costs more, and while batches are out it is not needed
        while (!ready.isEmpty() && batchesInFlight < MAX_BATCHES_IN_FLIGHT && s.isReady()) {
            Lane lane = ready.poll();
            ArrayDeque<SendOp> queue = lane.queue;
            int n = Math.min(queue.size(), MAX_BATCH_DATAGRAMS);
            SendOp[] ops = new SendOp[n];
            Written written = new Written();
            int count = 0;
            int bytes = 0;
            while (count < n && (count == 0 || bytes + queue.peek().bytes <= MAX_BATCH_BYTES)) {
                SendOp op = queue.poll();
                bytes += op.bytes;
                op.batch = written;
                ops[count++] = op;
            }
            written.unanswered = count;
            batchesInFlight++;
            s.onNext(new SendBatch(lane.socketId, ops, count));
            if (queue.isEmpty()) {
                lane.ready = false;
            } else {
                ready.add(lane);
            }
        }
    }

    private void start() {
        ClientResponseObserver<SendBatch, SendResults> observer =
                new ClientResponseObserver<>() {
                    ClientCallStreamObserver<SendBatch> self;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<SendBatch> requestStream) {
                        self = requestStream;
                        requestStream.setOnReadyHandler(() -> {
                            restarted(self);
                            drain();
                        });
                    }

                    @Override
                    public void onNext(SendResults results) {
                        answered(results);
                        drain(); // what queued while the batches were out goes now, coalesced
                    }

                    @Override
                    public void onError(Throwable t) {
                        failed(self, Errors.fromRpc(t, "SendStream").exception());
                    }

                    @Override
                    public void onCompleted() {
                        failed(self, Errors.unavailable("dgramd ended the send stream", null));
                    }
                };
        io.grpc.CallOptions options = restartDeadline == 0 ? stub.getCallOptions()
                : stub.getCallOptions().withWaitForReady();
        ClientCall<SendBatch, SendResults> call = stub.getChannel().newCall(SEND_STREAM, options);
        stream = (ClientCallStreamObserver<SendBatch>) ClientCalls.asyncBidiStreamingCall(call, observer);
        if (restartDeadline != 0) {
            ClientCallStreamObserver<SendBatch> waiting = stream;
            long left = Math.max(1, (restartDeadline - System.nanoTime()) / 1_000_000);
            try {
                core.schedule(() -> {
                    synchronized (streamLock) {
                        if (stream != waiting || restartDeadline == 0) {
                            return;
                        }
                    }
                    waiting.cancel("dgramd did not come back within the restart timeout", null);
                }, left);
            } catch (RuntimeException e) { // the client is shutting down
                waiting.cancel("client closed", null);
            }
        }
    }

    /** The stream {@code which} is ready: when the daemon was restarting, it is back. */
    private void restarted(ClientCallStreamObserver<SendBatch> which) {
        synchronized (streamLock) {
            if (restartDeadline == 0 || stream != which) {
                return;
            }
            restartDeadline = 0;
        }
        core.restartDone();
        log.debug("send stream: the restarted daemon takes datagrams again");
    }

    /** One SendStreamResponse: its datagrams are answered, in one go per socket. */
    private void answered(SendResults results) {
        int n = results.count;
        SendOp[] ops = new SendOp[n];
        int found = 0;
        synchronized (streamLock) {
            for (int i = 0; i < n; i++) {
                SendOp op = inflight.remove(results.ids[i]);
                if (op == null) {
                    log.debug("SendResult for unknown datagram id {}", results.ids[i]);
                    continue;
                }
                Written b = op.batch;
                if (b != null && --b.unanswered == 0) {
                    batchesInFlight--;
                }
                dev.dgramd.proto.v1.Error e = results.errors == null ? null : results.errors[i];
                op.outcome(e == null ? null : Errors.fromProto(e), results.bytes[i]);
                ops[found++] = op;
            }
        }
        completeAll(ops, found);
    }

    /**
     * The stream died: every datagram given to the pipeline fails; the next send starts anew.
     * Unless the daemon ended it because it restarts by hand-over: it answered every datagram it
     * took, so those without an answer were not sent, and go again, in order, on a new stream to
     * the new process (which waits for the channel to be ready, until the restart timeout).
     */
    private void failed(ClientCallStreamObserver<SendBatch> which, DgramException error) {
        if (Errors.RESTARTING.equals(error.code())) {
            if (requeue(which)) {
                return;
            }
        }
        boolean wasRestarting;
        List<SendOp> lost = new ArrayList<>();
        synchronized (streamLock) {
            if (stream != which) {
                return; // a stream already replaced (requeued) or ended
            }
            stream = null;
            wasRestarting = restartDeadline != 0;
            restartDeadline = 0;
            for (Lane lane : ready) {
                lane.queue.clear();
                lane.ready = false;
            }
            ready.clear();
            batchesInFlight = 0;
            inflight.drainTo(lost);
            for (SendOp op : lost) {
                op.batch = null;
            }
        }
        if (wasRestarting) {
            core.restartDone();
        }
        if (!lost.isEmpty()) {
            log.debug("send stream failed with {} datagram(s) pending: {}", lost.size(),
                    error.getMessage());
        }
        for (SendOp op : lost) {
            complete(op, error);
        }
    }

    /**
     * The daemon restarts: the datagrams written on {@code which} and not answered go back to the
     * front of their sockets' queues, in order, and a new stream takes them (after a pause, so
     * that a daemon still refusing is not asked in a loop). False when the restart timeout has
     * passed already, or the client is closing (the datagrams then fail).
     */
    private boolean requeue(ClientCallStreamObserver<SendBatch> which) {
        boolean first;
        synchronized (streamLock) {
            if (stream != which) {
                return true;
            }
            if (closed) {
                return false; // the client is closing: nothing goes again, all fails
            }
            long now = System.nanoTime();
            first = restartDeadline == 0;
            if (first) {
                restartDeadline = now + core.restartTimeoutMillis() * 1_000_000L;
            } else if (now - restartDeadline > 0) {
                return false;
            }
            stream = null;
            batchesInFlight = 0;
            List<SendOp> unanswered = new ArrayList<>();
            inflight.forEach(unanswered::add);
            unanswered.removeIf(op -> op.batch == null); // never written: still in their queue
            unanswered.sort((a, b) -> Long.compare(b.id, a.id)); // last first: each goes to the front
            for (SendOp op : unanswered) {
                op.batch = null;
                op.lane.queue.addFirst(op);
                if (!op.lane.ready) {
                    op.lane.ready = true;
                    ready.add(op.lane);
                }
            }
            log.debug("send stream: dgramd is restarting; {} datagram(s) go again to the new process",
                    unanswered.size());
        }
        if (first) {
            core.daemonRestarting();
        }
        try {
            core.schedule(this::drain, RESTART_RETRY_MILLIS);
        } catch (RuntimeException e) { // the client is shutting down
            log.debug("cannot resume sends", e);
        }
        return true;
    }

    /** The pause before a send stream is opened again while the daemon restarts. */
    private static final long RESTART_RETRY_MILLIS = 10;

    /** Gives up on one datagram with {@code error}. */
    private void complete(SendOp op, DgramException error) {
        op.outcome(error, 0);
        // the socket's queue count drops before the window frees, so a sender let through by the
        // window never sees its socket over the bound
        op.lane.acks.answered(new SendOp[] {op}, 0, 1);
        release(op);
    }

    /**
     * Completes answered datagrams (their outcome set), in order: one call per run of the same
     * socket (a SendStreamResponse is one socket's), then the window's room, once.
     */
    private void completeAll(SendOp[] ops, int n) {
        int from = 0;
        for (int i = 0; i < n; i++) {
            if (i + 1 == n || ops[i + 1].lane != ops[from].lane) {
                ops[from].lane.acks.answered(ops, from, i + 1);
                from = i + 1;
            }
        }
        release(ops, n);
    }

    /** Fails what is pending, wakes blocked senders and ends the stream. */
    void close() {
        closed = true;
        windowLock.lock();
        try {
            notFull.signalAll();
        } finally {
            windowLock.unlock();
        }
        ClientCallStreamObserver<SendBatch> s;
        synchronized (streamLock) {
            s = stream;
            if (s != null) {
                s.cancel("DgramClient closed", null); // its onError fails what it carried
            }
        }
        if (s == null) {
            // between two streams (the daemon restarting by hand-over): no stream's end fails what
            // is pending, the requeued datagrams among it, so it fails here
            failed(null, Errors.clientClosed());
        }
    }

    // ------------------------------------------------------------------------------ messages

    // ------------------------------------------------------------------------------ plumbing

}
