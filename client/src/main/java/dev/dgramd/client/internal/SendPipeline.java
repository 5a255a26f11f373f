package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SendBatch;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendResultBatch;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one SendStream: datagrams of all sockets, batched per socket, written only while
 * the stream {@code isReady()} (the rest wait in their socket's queue, resumed by onReady).
 * The window ({@link #acquire}) bounds what is unacknowledged over all sockets: a caller of
 * send() waits for room; gRPC threads never wait. A datagram's window share is returned when
 * its SendResult arrives (or the stream fails), never later, so a blocked sender cannot starve
 * the acknowledgements it waits for.
 *
 * <p>Coalescing: at most {@link #MAX_BATCHES_IN_FLIGHT} batches are unanswered at a time. A send
 * made while they are goes out with the next batch, once an answer comes back (ack clocking, as
 * TCP's Nagle algorithm): a lone send leaves at once, a burst of sends shares few gRPC messages.
 */
final class SendPipeline {
    private static final Logger log = LoggerFactory.getLogger(SendPipeline.class);
    private static final int MAX_BATCH_DATAGRAMS = 64;
    private static final int MAX_BATCH_BYTES = 256 * 1024;
    private static final int MAX_BATCHES_IN_FLIGHT = 2;

    /** A written batch: how many of its datagrams are unanswered. Guarded by streamLock. */
    static final class Batch {
        int unanswered;
    }

    private final DgramGrpc.DgramStub stub;
    private final long maxBytes;
    private final int maxCount;

    private final ReentrantLock windowLock = new ReentrantLock();
    private final Condition notFull = windowLock.newCondition();
    private long pendingBytes; // guarded by windowLock
    private int pendingCount; // guarded by windowLock
    private volatile boolean closed;

    private final Object streamLock = new Object();
    private ClientCallStreamObserver<SendBatch> stream; // guarded by streamLock
    private final ArrayDeque<RemoteSocket> ready = new ArrayDeque<>(); // guarded by streamLock
    private int batchesInFlight; // guarded by streamLock
    private final Map<Long, RemoteSocket.SendOp> inflight = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    SendPipeline(DgramGrpc.DgramStub stub, long maxBytes, int maxCount) {
        this.stub = stub;
        this.maxBytes = maxBytes;
        this.maxCount = maxCount;
    }

    /**
     * Takes room for one datagram of {@code size} bytes, waiting while the window is full. A
     * datagram larger than the whole window gets through when nothing else is pending.
     *
     * @throws DgramException ERR_DGRAMD_CLIENT_CLOSED once the client is closed
     */
    void acquire(int size) {
        windowLock.lock();
        try {
            while (!closed && pendingCount > 0
                    && (pendingCount >= maxCount || pendingBytes + size > maxBytes)) {
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
            pendingCount++;
            pendingBytes += size;
        } finally {
            windowLock.unlock();
        }
    }

    /** Gives back the room of one datagram. */
    void release(int size) {
        windowLock.lock();
        try {
            pendingCount--;
            pendingBytes -= size;
            notFull.signalAll();
        } finally {
            windowLock.unlock();
        }
    }

    /** Queues datagrams of one socket, in order, and writes what the stream takes now. */
    void submit(RemoteSocket socket, List<RemoteSocket.SendOp> ops) {
        if (closed) {
            for (RemoteSocket.SendOp op : ops) {
                complete(op, Errors.clientClosed(), 0);
            }
            return;
        }
        synchronized (streamLock) {
            for (RemoteSocket.SendOp op : ops) {
                long id = ids.incrementAndGet();
                op.datagram.setId(id);
                inflight.put(id, op);
                socket.streamQueue.add(op);
            }
            if (!socket.inReady) {
                socket.inReady = true;
                ready.add(socket);
            }
        }
        drain();
    }

    private void drain() {
        synchronized (streamLock) {
            if (closed) {
                return;
            }
            if (stream == null) {
                start();
            }
            ClientCallStreamObserver<SendBatch> s = stream;
            while (!ready.isEmpty() && s.isReady() && batchesInFlight < MAX_BATCHES_IN_FLIGHT) {
                RemoteSocket socket = ready.poll();
                SendBatch.Builder batch = SendBatch.newBuilder().setSocketId(socket.id());
                Batch written = new Batch();
                int bytes = 0;
                while (!socket.streamQueue.isEmpty() && batch.getDatagramsCount() < MAX_BATCH_DATAGRAMS
                        && (batch.getDatagramsCount() == 0 || bytes + socket.streamQueue.peek().bytes
                                <= MAX_BATCH_BYTES)) {
                    RemoteSocket.SendOp op = socket.streamQueue.poll();
                    bytes += op.bytes;
                    op.batch = written;
                    batch.addDatagrams(op.datagram);
                }
                written.unanswered = batch.getDatagramsCount();
                batchesInFlight++;
                s.onNext(batch.build());
                if (socket.streamQueue.isEmpty()) {
                    socket.inReady = false;
                } else {
                    ready.add(socket);
                }
            }
        }
    }

    private void start() {
        ClientResponseObserver<SendBatch, SendResultBatch> observer =
                new ClientResponseObserver<>() {
                    ClientCallStreamObserver<SendBatch> self;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<SendBatch> requestStream) {
                        self = requestStream;
                        requestStream.setOnReadyHandler(SendPipeline.this::drain);
                    }

                    @Override
                    public void onNext(SendResultBatch batch) {
                        for (SendResult r : batch.getResultsList()) {
                            RemoteSocket.SendOp op = inflight.remove(r.getId());
                            if (op == null) {
                                log.debug("SendResult for unknown datagram id {}", r.getId());
                                continue;
                            }
                            answered(op);
                            complete(op, r.hasError() ? Errors.fromProto(r.getError()) : null, r.getBytes());
                        }
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
        stream = (ClientCallStreamObserver<SendBatch>) stub.sendStream(observer);
    }

    private void answered(RemoteSocket.SendOp op) {
        synchronized (streamLock) {
            Batch b = op.batch;
            if (b != null && --b.unanswered == 0) {
                batchesInFlight--;
            }
        }
    }

    /** The stream died: every datagram given to the pipeline fails; the next send starts anew. */
    private void failed(ClientCallStreamObserver<SendBatch> which, DgramException error) {
        List<RemoteSocket.SendOp> lost = new ArrayList<>();
        synchronized (streamLock) {
            if (stream == which) {
                stream = null;
            }
            for (RemoteSocket socket : ready) {
                socket.streamQueue.clear();
                socket.inReady = false;
            }
            ready.clear();
            batchesInFlight = 0;
            lost.addAll(inflight.values());
            inflight.clear();
            for (RemoteSocket.SendOp op : lost) {
                op.batch = null;
            }
        }
        if (!lost.isEmpty()) {
            log.debug("send stream failed with {} datagram(s) pending: {}", lost.size(),
                    error.getMessage());
        }
        for (RemoteSocket.SendOp op : lost) {
            complete(op, error, 0);
        }
    }

    private void complete(RemoteSocket.SendOp op, DgramException error, int bytes) {
        // the socket's queue count drops before the window frees, so a sender let through by the
        // window never sees its socket over the bound
        op.socket.sendDone(op, error, bytes);
        release(op.bytes);
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
        synchronized (streamLock) {
            if (stream != null) {
                stream.cancel("DgramClient closed", null);
            }
        }
    }
}
