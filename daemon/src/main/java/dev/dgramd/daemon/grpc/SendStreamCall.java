package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.OutgoingDatagram;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.UdpSocket;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;

/**
 * One SendStream call: batches of datagrams in, results out.
 *
 * <p>Each batch is read straight from its bytes ({@link SendBatchView}), not parsed into protobuf's
 * objects, and its results are written from arrays ({@link SendResultBatch}).
 *
 * <p>Flow control: the next batch is requested only while fewer than {@link #MAX_UNANSWERED_BYTES}
 * of payload are unanswered and the client reads the results (the response stream is ready); so
 * at most that much plus one batch is in the daemon per stream. Results go out as datagrams
 * complete, gathered per event-loop turn, so a datagram waiting on a name lookup holds back
 * neither the other results of its batch nor other sockets' batches.
 */
final class SendStreamCall implements StreamObserver<SendBatchView> {
    static final long MAX_UNANSWERED_BYTES = 8L << 20;

    private final SocketRegistry registry;
    private final String principal;
    private final ServerCallStreamObserver<SendResultBatch> responses;
    private final Object lock = new Object();
    // Guarded by lock.
    private long unansweredBytes;
    private int unansweredDatagrams;
    private boolean requested;
    private boolean inputDone;
    private boolean finished;
    /** The daemon hands over: batches are neither asked for nor taken; the end comes once all taken are answered. */
    private io.grpc.StatusRuntimeException handingOver;
    /** Runs once, when the call has finished (any way). */
    private final Runnable whenFinished;
    /** Used by onNext only: gRPC calls it on one thread at a time. */
    private final SendBatchView.Datagrams datagrams = new SendBatchView.Datagrams();
    /** Reads {@link #datagrams} for the socket; used by onNext only. */
    private final Reading reading = new Reading();

    /**
     * @param principal the caller: batches naming another principal's socket fail as for no socket
     * @param whenFinished runs once when the call has finished (completed, failed, cancelled or ended)
     */
    SendStreamCall(SocketRegistry registry, String principal, ServerCallStreamObserver<SendResultBatch> responses,
                   Runnable whenFinished) {
        this.registry = registry;
        this.principal = principal;
        this.responses = responses;
        this.whenFinished = whenFinished;
        responses.disableAutoRequest();
        responses.setOnReadyHandler(() -> {
            synchronized (lock) {
                maybeRequest();
            }
        });
        responses.setOnCancelHandler(() -> {
            synchronized (lock) {
                finish();
            }
        });
        synchronized (lock) {
            maybeRequest();
        }
    }

    @Override
    public void onNext(SendBatchView batch) {
        String socketId = batch.socketId();
        UdpSocket socket = registry.get(socketId, principal);
        int n = batch.count();
        long bytes = batch.payloadBytes();
        synchronized (lock) {
            requested = false;
            if (handingOver != null || finished) {
                return; // not taken, never answered: the client sends it again to the new process
            }
            unansweredBytes += bytes;
            unansweredDatagrams += n;
            maybeRequest(); // pipeline: ask for the next batch while this one is sent
        }
        SendBatchView.Datagrams d = datagrams;
        d.start(batch);
        if (socket == null) {
            var error = ErrorMapping.toProto(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running"));
            SendResultBatch out = new SendResultBatch(socketId, n);
            while (d.next()) {
                out.add(d.id(), 0, error);
            }
            answer(out, bytes);
            return;
        }
        reading.alloc = socket.alloc();
        reading.following = n;
        try {
            socket.send(reading, new Results(socketId, socket.eventLoop(), n));
        } finally {
            reading.alloc = null;
        }
    }

    /**
     * The datagrams of the batch in {@link #datagrams}, as the socket reads them: a payload is
     * copied out of the request only when the socket asks for it, into a buffer of its own
     * ({@link #data()}) or appended to one that gathers several ({@link #moveTo}).
     */
    private final class Reading implements OutgoingDatagram.Batch {
        ByteBufAllocator alloc;
        /** Datagrams after the current one. */
        int following;
        private ByteBuf data; // the current payload's copy, once asked for

        @Override
        public boolean next() {
            data = null;
            if (!datagrams.next()) {
                return false;
            }
            following--;
            return true;
        }

        @Override
        public long id() {
            return datagrams.id();
        }

        @Override
        public ByteBuf data() {
            if (data == null) {
                data = directCopy(alloc, datagrams.dataArray(), datagrams.dataOffset(), datagrams.dataLength());
            }
            return data;
        }

        @Override
        public int size() {
            return datagrams.dataLength();
        }

        @Override
        public void moveTo(ByteBuf dst) {
            if (data != null) {
                dst.writeBytes(data, data.readerIndex(), data.readableBytes());
                data.release();
                data = null;
            } else {
                dst.writeBytes(datagrams.dataArray(), datagrams.dataOffset(), datagrams.dataLength());
            }
        }

        @Override
        public void discard() {
            if (data != null) {
                data.release();
                data = null;
            }
        }

        @Override
        public int following() {
            return following;
        }

        @Override
        public int port() {
            return datagrams.port();
        }

        @Override
        public String address() {
            return datagrams.address();
        }

        @Override
        public boolean emitError() {
            return datagrams.emitError();
        }
    }

    /**
     * The payload copied once into a pooled direct buffer, which the socket writes as is (a heap
     * buffer would be copied into a direct one by the channel at write time, and wrapping it costs
     * three objects more).
     */
    private static ByteBuf directCopy(ByteBufAllocator alloc, byte[] data, int offset, int size) {
        if (size == 0) {
            return Unpooled.EMPTY_BUFFER;
        }
        return alloc.directBuffer(size, size).writeBytes(data, offset, size);
    }

    /** Gathers one socket's results on its event loop and sends them at the end of the loop's turn. */
    private final class Results implements UdpSocket.SendCompletion {
        private final String socketId;
        private final EventLoop loop;
        /** Datagrams of the batch not answered yet. */
        private int unanswered;
        /** The results of this turn, or null when none; sized for the batch's unanswered datagrams. */
        private SendResultBatch pending;
        private long pendingBytes;

        Results(String socketId, EventLoop loop, int datagrams) {
            this.socketId = socketId;
            this.loop = loop;
            this.unanswered = datagrams;
        }

        @Override
        public void done(long id, int bytes, DgramError error, int size) {
            if (pending == null) {
                pending = new SendResultBatch(socketId, unanswered);
                loop.execute(this::flush);
            }
            unanswered--;
            pending.add(id, bytes, error == null ? null : ErrorMapping.toProto(error));
            pendingBytes += size;
        }

        private void flush() {
            SendResultBatch out = pending;
            long bytes = pendingBytes;
            pending = null;
            pendingBytes = 0;
            answer(out, bytes);
        }
    }

    private void answer(SendResultBatch results, long bytes) {
        synchronized (lock) {
            unansweredBytes -= bytes;
            unansweredDatagrams -= results.count();
            if (finished) {
                return;
            }
            responses.onNext(results);
            maybeRequest();
            maybeComplete();
        }
    }

    /** Guarded by lock. */
    private void maybeRequest() {
        if (!requested && handingOver == null && !inputDone && !finished && unansweredBytes < MAX_UNANSWERED_BYTES && responses.isReady()) {
            requested = true;
            responses.request(1);
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (lock) {
            finish();
        }
    }

    /** The caller's principal. */
    String principal() {
        return principal;
    }

    /** Ends the call with {@code status} (from any thread), unless it has finished already. */
    void end(io.grpc.StatusRuntimeException status) {
        synchronized (lock) {
            if (!finished) {
                finish();
                responses.onError(status);
            }
        }
    }

    /**
     * The daemon hands its sockets over (from any thread): no batch is taken from now on, and once
     * each one taken is answered the call ends with {@code status}, so the client knows that every
     * datagram without a result was not sent and can send it again. Must run before the sockets stop.
     */
    void handOver(io.grpc.StatusRuntimeException status) {
        synchronized (lock) {
            if (!finished && handingOver == null) {
                handingOver = status;
                maybeComplete();
            }
        }
    }

    /** Guarded by lock. */
    private void finish() {
        if (!finished) {
            finished = true;
            whenFinished.run();
        }
    }

    @Override
    public void onCompleted() {
        synchronized (lock) {
            inputDone = true;
            maybeComplete();
        }
    }

    /** Guarded by lock. */
    private void maybeComplete() {
        if (handingOver != null && unansweredDatagrams == 0 && !finished) {
            finish();
            responses.onError(handingOver);
            return;
        }
        if (inputDone && unansweredDatagrams == 0 && !finished) {
            finish();
            responses.onCompleted();
        }
    }
}
