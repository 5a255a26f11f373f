package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import io.grpc.ClientCall;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 *
 * <p>Wire format: the stream's messages are dgramd.v1.SendStreamRequest and SendStreamResponse, but they are
 * written and read here by hand ({@link Wire}), straight from and into the datagrams waiting
 * for them: no protobuf object per datagram either way. The proto contract is unchanged.
 */
final class SendPipeline {
    private static final Logger log = LoggerFactory.getLogger(SendPipeline.class);
    private static final int MAX_BATCH_DATAGRAMS = 256;
    private static final int MAX_BATCH_BYTES = 256 * 1024;
    private static final int MAX_BATCHES_IN_FLIGHT = 2;

    /** SendStream, with this class's marshallers for its messages. */
    private static final MethodDescriptor<OutBatch, Results> SEND_STREAM = DgramGrpc.getSendStreamMethod()
            .toBuilder(new OutBatchMarshaller(), new ResultsMarshaller()).build();

    /** A written batch: how many of its datagrams are unanswered. Guarded by streamLock. */
    static final class Batch {
        int unanswered;
    }

    private final ClientCore core;
    private final DgramGrpc.DgramStub stub;
    private final long maxBytes;
    private final int maxCount;

    private final ReentrantLock windowLock = new ReentrantLock();
    private final Condition notFull = windowLock.newCondition();
    private long pendingBytes; // guarded by windowLock
    private int pendingCount; // guarded by windowLock
    private volatile boolean closed;

    private final Object streamLock = new Object();
    private ClientCallStreamObserver<OutBatch> stream; // guarded by streamLock
    /** Set while {@link #start} runs: gRPC may call the onReady handler, drain, from inside it. */
    private boolean starting; // guarded by streamLock
    private final ArrayDeque<RemoteSocket> ready = new ArrayDeque<>(); // guarded by streamLock
    private int batchesInFlight; // guarded by streamLock
    private final LongMap<RemoteSocket.SendOp> inflight; // guarded by streamLock
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
        release(1, size);
    }

    /** Gives back the room of {@code count} datagrams of {@code bytes} in all. */
    private void release(int count, long bytes) {
        if (count == 0) {
            return;
        }
        windowLock.lock();
        try {
            pendingCount -= count;
            pendingBytes -= bytes;
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
            for (int i = 0, n = ops.size(); i < n; i++) {
                enqueue(socket, ops.get(i));
            }
        }
        drain();
    }

    /** Queues one datagram of {@code socket} and writes what the stream takes now. */
    void submit(RemoteSocket socket, RemoteSocket.SendOp op) {
        if (closed) {
            complete(op, Errors.clientClosed(), 0);
            return;
        }
        synchronized (streamLock) {
            enqueue(socket, op);
        }
        drain();
    }

    /** Guarded by streamLock. */
    private void enqueue(RemoteSocket socket, RemoteSocket.SendOp op) {
        long id = ids.incrementAndGet();
        op.id = id;
        inflight.put(id, op);
        socket.streamQueue.add(op);
        if (!socket.inReady) {
            socket.inReady = true;
            ready.add(socket);
        }
    }

    private void drain() {
        synchronized (streamLock) {
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
            ClientCallStreamObserver<OutBatch> s = stream;
            // the window test first: isReady() costs more, and while batches are out it is not needed
            while (!ready.isEmpty() && batchesInFlight < MAX_BATCHES_IN_FLIGHT && s.isReady()) {
                RemoteSocket socket = ready.poll();
                ArrayDeque<RemoteSocket.SendOp> queue = socket.streamQueue;
                int n = Math.min(queue.size(), MAX_BATCH_DATAGRAMS);
                RemoteSocket.SendOp[] ops = new RemoteSocket.SendOp[n];
                Batch written = new Batch();
                int count = 0;
                int bytes = 0;
                while (count < n && (count == 0 || bytes + queue.peek().bytes <= MAX_BATCH_BYTES)) {
                    RemoteSocket.SendOp op = queue.poll();
                    bytes += op.bytes;
                    op.batch = written;
                    ops[count++] = op;
                }
                written.unanswered = count;
                batchesInFlight++;
                s.onNext(new OutBatch(socket.idUtf8(), ops, count));
                if (queue.isEmpty()) {
                    socket.inReady = false;
                } else {
                    ready.add(socket);
                }
            }
        }
    }

    private void start() {
        ClientResponseObserver<OutBatch, Results> observer =
                new ClientResponseObserver<>() {
                    ClientCallStreamObserver<OutBatch> self;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<OutBatch> requestStream) {
                        self = requestStream;
                        requestStream.setOnReadyHandler(() -> {
                            restarted(self);
                            drain();
                        });
                    }

                    @Override
                    public void onNext(Results results) {
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
        ClientCall<OutBatch, Results> call = stub.getChannel().newCall(SEND_STREAM, options);
        stream = (ClientCallStreamObserver<OutBatch>) ClientCalls.asyncBidiStreamingCall(call, observer);
        if (restartDeadline != 0) {
            ClientCallStreamObserver<OutBatch> waiting = stream;
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
    private void restarted(ClientCallStreamObserver<OutBatch> which) {
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
    private void answered(Results results) {
        int n = results.count;
        RemoteSocket.SendOp[] ops = new RemoteSocket.SendOp[n];
        int found = 0;
        synchronized (streamLock) {
            for (int i = 0; i < n; i++) {
                RemoteSocket.SendOp op = inflight.remove(results.ids[i]);
                if (op == null) {
                    log.debug("SendResult for unknown datagram id {}", results.ids[i]);
                    continue;
                }
                Batch b = op.batch;
                if (b != null && --b.unanswered == 0) {
                    batchesInFlight--;
                }
                op.result(results.errors == null ? null : results.errors[i], results.bytes[i]);
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
    private void failed(ClientCallStreamObserver<OutBatch> which, DgramException error) {
        if (Errors.RESTARTING.equals(error.code())) {
            if (requeue(which)) {
                return;
            }
        }
        boolean wasRestarting;
        List<RemoteSocket.SendOp> lost = new ArrayList<>();
        synchronized (streamLock) {
            if (stream != which) {
                return; // a stream already replaced (requeued) or ended
            }
            stream = null;
            wasRestarting = restartDeadline != 0;
            restartDeadline = 0;
            for (RemoteSocket socket : ready) {
                socket.streamQueue.clear();
                socket.inReady = false;
            }
            ready.clear();
            batchesInFlight = 0;
            inflight.drainTo(lost);
            for (RemoteSocket.SendOp op : lost) {
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
        for (RemoteSocket.SendOp op : lost) {
            complete(op, error, 0);
        }
    }

    /**
     * The daemon restarts: the datagrams written on {@code which} and not answered go back to the
     * front of their sockets' queues, in order, and a new stream takes them (after a pause, so
     * that a daemon still refusing is not asked in a loop). False when the restart timeout has
     * passed already (the datagrams then fail).
     */
    private boolean requeue(ClientCallStreamObserver<OutBatch> which) {
        boolean first;
        synchronized (streamLock) {
            if (stream != which) {
                return true;
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
            List<RemoteSocket.SendOp> unanswered = new ArrayList<>();
            inflight.forEach(unanswered::add);
            unanswered.removeIf(op -> op.batch == null); // never written: still in their queue
            unanswered.sort((a, b) -> Long.compare(b.id, a.id)); // last first: each goes to the front
            for (RemoteSocket.SendOp op : unanswered) {
                op.batch = null;
                op.socket.streamQueue.addFirst(op);
                if (!op.socket.inReady) {
                    op.socket.inReady = true;
                    ready.add(op.socket);
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

    private void complete(RemoteSocket.SendOp op, DgramException error, int bytes) {
        // the socket's queue count drops before the window frees, so a sender let through by the
        // window never sees its socket over the bound
        op.socket.sendDone(op, error, bytes);
        release(op.bytes);
    }

    /**
     * Completes answered datagrams (their outcome set), in order: one call per run of the same
     * socket (a SendStreamResponse is one socket's), then the window's room, once.
     */
    private void completeAll(RemoteSocket.SendOp[] ops, int n) {
        long bytes = 0;
        int from = 0;
        for (int i = 0; i < n; i++) {
            bytes += ops[i].bytes;
            if (i + 1 == n || ops[i + 1].socket != ops[from].socket) {
                ops[from].socket.sendsDone(ops, from, i + 1);
                from = i + 1;
            }
        }
        release(n, bytes);
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

    // ------------------------------------------------------------------------------ messages

    /** A SendStreamRequest as written: one socket's datagrams, encoded from the ops themselves. */
    static final class OutBatch {
        final byte[] socketId;
        final RemoteSocket.SendOp[] ops;
        final int count;
        private int size = -1;

        OutBatch(byte[] socketId, RemoteSocket.SendOp[] ops, int count) {
            this.socketId = socketId;
            this.ops = ops;
            this.count = count;
        }

        /** The encoded size in bytes. */
        int size() {
            if (size < 0) {
                int total = socketId.length == 0 ? 0 : Wire.bytesFieldSize(socketId.length);
                for (int i = 0; i < count; i++) {
                    total += Wire.bytesFieldSize(datagramSize(ops[i]));
                }
                size = total;
            }
            return size;
        }

        /**
         * An OutboundDatagram's body. Fields in the order written: id, port, emit_error, address,
         * data (the payload last, so that it can go out without a copy into the scratch buffer).
         */
        private static int datagramSize(RemoteSocket.SendOp op) {
            int size = 0;
            if (op.id != 0) {
                size += 1 + Wire.varint64Size(op.id);
            }
            if (op.port != 0) {
                size += 1 + Wire.varint64Size(op.port); // int32: a negative one takes 10 bytes
            }
            if (op.emitError) {
                size += 2;
            }
            if (op.address.length > 0) {
                size += Wire.bytesFieldSize(op.address.length);
            }
            if (op.data.length > 0) {
                size += Wire.bytesFieldSize(op.data.length);
            }
            return size;
        }

        /** Writes the encoding to {@code out}; returns its size. */
        int writeTo(OutputStream out) throws IOException {
            Wire.Writer w = Wire.Writer.get(out);
            try {
                write(w);
                w.finish();
            } finally {
                w.release();
            }
            return size();
        }

        private void write(Wire.Writer w) throws IOException {
            if (socketId.length > 0) {
                w.bytesField(1, socketId);
            }
            for (int i = 0; i < count; i++) {
                RemoteSocket.SendOp op = ops[i];
                w.tag(2, Wire.LENGTH_DELIMITED);
                w.varint(datagramSize(op));
                if (op.id != 0) {
                    w.tag(1, Wire.VARINT);
                    w.varint(op.id);
                }
                if (op.port != 0) {
                    w.tag(3, Wire.VARINT);
                    w.varint(op.port); // sign-extended, as protobuf writes an int32
                }
                if (op.emitError) {
                    w.tag(5, Wire.VARINT);
                    w.varint(1);
                }
                if (op.address.length > 0) {
                    w.bytesField(4, op.address);
                }
                if (op.data.length > 0) {
                    w.bytesField(2, op.data);
                }
            }
        }
    }

    /** A SendStreamResponse as read: the results' ids, bytes and errors (null when none failed). */
    static final class Results {
        long[] ids;
        int[] bytes;
        dev.dgramd.proto.v1.Error[] errors;
        int count;

        Results(int expected) {
            ids = new long[expected];
            bytes = new int[expected];
        }

        private int add(long id) {
            if (count == ids.length) {
                ids = Arrays.copyOf(ids, Math.max(4, count * 2));
                bytes = Arrays.copyOf(bytes, ids.length);
                if (errors != null) {
                    errors = Arrays.copyOf(errors, ids.length);
                }
            }
            ids[count] = id;
            bytes[count] = 0;
            return count++;
        }

        private void error(int i, dev.dgramd.proto.v1.Error e) {
            if (errors == null) {
                errors = new dev.dgramd.proto.v1.Error[ids.length];
            }
            errors[i] = e;
        }

        /** Decodes a SendStreamResponse; unknown fields are skipped. */
        static Results decode(byte[] buf, int pos, int end) throws IOException {
            Results r = new Results(Math.max(4, Math.min(1024, (end - pos) / 8))); // a result: ~9 bytes
            Wire.Reader in = new Wire.Reader(buf, pos, end);
            while (in.more()) {
                int tag = in.tag();
                if (tag == Wire.tag(2, Wire.LENGTH_DELIMITED)) {
                    int resultEnd = in.lengthDelimitedEnd();
                    long id = 0;
                    int sent = 0;
                    dev.dgramd.proto.v1.Error error = null;
                    while (in.pos < resultEnd) {
                        int t = in.tag();
                        if (t == Wire.tag(1, Wire.VARINT)) {
                            id = in.varint64();
                        } else if (t == Wire.tag(2, Wire.VARINT)) {
                            sent = (int) in.varint64();
                        } else if (t == Wire.tag(3, Wire.LENGTH_DELIMITED)) {
                            int len = in.length();
                            // a message field seen twice merges, as protobuf's parser does
                            error = error == null ? dev.dgramd.proto.v1.Error.parseFrom(in.slice(len))
                                    : error.toBuilder().mergeFrom(in.slice(len)).build();
                            in.pos += len;
                        } else {
                            in.skip(t);
                        }
                    }
                    in.expectAt(resultEnd);
                    int i = r.add(id);
                    r.bytes[i] = sent;
                    if (error != null) {
                        r.error(i, error);
                    }
                } else {
                    in.skip(tag);
                }
            }
            return r;
        }
    }

    private static final class OutBatchMarshaller implements MethodDescriptor.Marshaller<OutBatch> {
        @Override
        public InputStream stream(OutBatch value) {
            return new OutBatchStream(value);
        }

        @Override
        public OutBatch parse(InputStream stream) {
            throw new UnsupportedOperationException("the client does not read SendStreamRequest messages");
        }
    }

    private static final class ResultsMarshaller implements MethodDescriptor.Marshaller<Results> {
        @Override
        public InputStream stream(Results value) {
            throw new UnsupportedOperationException("the client does not write SendStreamResponse messages");
        }

        @Override
        public Results parse(InputStream stream) {
            try {
                Wire.Input in = Wire.Input.readFully(stream);
                return Results.decode(in.buf, 0, in.length);
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("invalid SendStreamResponse").withCause(e)
                        .asRuntimeException();
            }
        }
    }

    /** A SendStreamRequest's bytes for gRPC: drained straight into the transport's buffers. */
    private static final class OutBatchStream extends InputStream implements Drainable, KnownLength {
        private final OutBatch batch;
        private byte[] bytes; // only when read as a plain stream (gRPC drains it)
        private int pos;
        private boolean drained;

        OutBatchStream(OutBatch batch) {
            this.batch = batch;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (drained || bytes != null) {
                throw new IllegalStateException("already read");
            }
            drained = true;
            return batch.writeTo(target);
        }

        @Override
        public int available() {
            if (bytes != null) {
                return bytes.length - pos;
            }
            return drained ? 0 : batch.size();
        }

        private byte[] bytes() throws IOException {
            if (bytes == null) {
                if (drained) {
                    throw new IllegalStateException("already drained");
                }
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(batch.size());
                batch.writeTo(out);
                bytes = out.toByteArray();
            }
            return bytes;
        }

        @Override
        public int read() throws IOException {
            byte[] b = bytes();
            return pos < b.length ? b[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) throws IOException {
            byte[] b = bytes();
            if (pos >= b.length) {
                return -1;
            }
            int n = Math.min(len, b.length - pos);
            System.arraycopy(b, pos, dst, off, n);
            pos += n;
            return n;
        }
    }

    // ------------------------------------------------------------------------------ plumbing

    /** Protobuf wire-format reading and writing, for the hand-coded messages of the hot paths. */
    static final class Wire {
        static final int VARINT = 0;
        static final int FIXED64 = 1;
        static final int LENGTH_DELIMITED = 2;
        static final int START_GROUP = 3;
        static final int END_GROUP = 4;
        static final int FIXED32 = 5;

        private Wire() {
        }

        static int tag(int field, int wireType) {
            return field << 3 | wireType;
        }

        static int varint64Size(long v) {
            return v == 0 ? 1 : (64 - Long.numberOfLeadingZeros(v) + 6) / 7;
        }

        /** A length-delimited field of {@code length} bytes, tag (field number below 16) included. */
        static int bytesFieldSize(int length) {
            return 1 + varint64Size(length) + length;
        }

        static byte[] utf8(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }

        /** A message's bytes, read whole out of gRPC's stream into this thread's scratch array. */
        static final class Input {
            private static final int KEEP_MAX = 1 << 20;
            private static final ThreadLocal<Input> SCRATCH = ThreadLocal.withInitial(Input::new);

            byte[] buf = new byte[4096];
            int length;

            /** Valid until the thread's next call. */
            static Input readFully(InputStream stream) throws IOException {
                int known = stream instanceof KnownLength ? stream.available() : -1;
                if (known < 0) {
                    Input one = new Input();
                    one.buf = stream.readAllBytes();
                    one.length = one.buf.length;
                    return one;
                }
                Input in = known <= KEEP_MAX ? SCRATCH.get() : new Input();
                if (in.buf.length < known) {
                    in.buf = new byte[Math.max(known, Math.min(KEEP_MAX, in.buf.length * 2))];
                }
                int n = 0;
                while (n < known) {
                    int r = stream.read(in.buf, n, known - n);
                    if (r < 0) {
                        break;
                    }
                    n += r;
                }
                if (stream.read() >= 0) {
                    throw new IOException("message longer than announced");
                }
                in.length = n;
                return in;
            }
        }

        /** Reads fields out of an array. Throws IOException on malformed input. */
        static final class Reader {
            final byte[] buf;
            int pos;
            final int end;

            Reader(byte[] buf, int pos, int end) {
                this.buf = buf;
                this.pos = pos;
                this.end = end;
            }

            boolean more() {
                return pos < end;
            }

            int tag() throws IOException {
                long t = varint64();
                if (t >>> 3 == 0 || t > 0xffff_ffffL) {
                    throw new IOException("invalid tag " + t);
                }
                return (int) t;
            }

            long varint64() throws IOException {
                long v = 0;
                for (int shift = 0; shift < 64; shift += 7) {
                    if (pos >= end) {
                        throw new IOException("truncated varint");
                    }
                    byte b = buf[pos++];
                    v |= (long) (b & 0x7f) << shift;
                    if (b >= 0) {
                        return v;
                    }
                }
                throw new IOException("malformed varint");
            }

            /** The length of a length-delimited field, checked against the end. */
            int length() throws IOException {
                long len = varint64();
                if (len < 0 || len > end - pos) {
                    throw new IOException("truncated field");
                }
                return (int) len;
            }

            /** Reads a length and answers where the field ends. */
            int lengthDelimitedEnd() throws IOException {
                int len = length();
                return pos + len;
            }

            void expectAt(int at) throws IOException {
                if (pos != at) {
                    throw new IOException("field overruns its message");
                }
            }

            /** The next {@code len} bytes as a stream for a protobuf parser (rare fields). */
            java.io.ByteArrayInputStream slice(int len) {
                return new java.io.ByteArrayInputStream(buf, pos, len);
            }

            /** Skips the value of a field with tag {@code tag}. */
            void skip(int tag) throws IOException {
                switch (tag & 7) {
                    case VARINT -> varint64();
                    case FIXED64 -> advance(8);
                    case LENGTH_DELIMITED -> advance(length());
                    case FIXED32 -> advance(4);
                    case START_GROUP -> {
                        int field = tag >>> 3;
                        while (true) {
                            int t = tag();
                            if (t == Wire.tag(field, END_GROUP)) {
                                return;
                            }
                            skip(t);
                        }
                    }
                    default -> throw new IOException("unexpected wire type in tag " + tag);
                }
            }

            private void advance(int n) throws IOException {
                if (n > end - pos) {
                    throw new IOException("truncated field");
                }
                pos += n;
            }
        }

        /** Writes fields through this thread's scratch array, in chunks; large byte fields go out directly. */
        static final class Writer {
            private static final int SIZE = 8192;
            private static final ThreadLocal<Writer> SCRATCH = ThreadLocal.withInitial(Writer::new);

            private final byte[] buf = new byte[SIZE];
            private int pos;
            private OutputStream out;

            static Writer get(OutputStream out) {
                Writer w = SCRATCH.get();
                if (w.out != null) {
                    w = new Writer(); // re-entered (a stream writing through another): no sharing
                }
                w.out = out;
                w.pos = 0;
                return w;
            }

            private void room(int n) throws IOException {
                if (pos + n > SIZE) {
                    out.write(buf, 0, pos);
                    pos = 0;
                }
            }

            void tag(int field, int wireType) throws IOException {
                varint(Wire.tag(field, wireType));
            }

            void varint(long v) throws IOException {
                room(10);
                while ((v & ~0x7fL) != 0) {
                    buf[pos++] = (byte) ((v & 0x7f) | 0x80);
                    v >>>= 7;
                }
                buf[pos++] = (byte) v;
            }

            void bytesField(int field, byte[] value) throws IOException {
                tag(field, LENGTH_DELIMITED);
                varint(value.length);
                if (value.length > SIZE / 4) {
                    room(SIZE); // flushes
                    out.write(value);
                } else {
                    room(value.length);
                    System.arraycopy(value, 0, buf, pos, value.length);
                    pos += value.length;
                }
            }

            void finish() throws IOException {
                if (pos > 0) {
                    out.write(buf, 0, pos);
                    pos = 0;
                }
            }

            /** Done with this writer (written or not). */
            void release() {
                pos = 0;
                out = null;
            }
        }
    }

    /**
     * Datagrams in flight by id, without boxing: the ids are sequential and the window bounds how
     * many are out, so a ring indexed by the id's low bits nearly always has the slot free; an id
     * whose slot an older one still holds (one waiting long for a name lookup) goes to a map. Not
     * thread-safe.
     */
    static final class LongMap<V> {
        private final long[] keys;
        private final Object[] values;
        private final int mask;
        private final java.util.HashMap<Long, V> overflow = new java.util.HashMap<>();
        private int inRing;

        /** @param expected how many entries are expected at most, usually */
        LongMap(int expected) {
            int slots = Integer.highestOneBit(Math.max(64, Math.min(1 << 16, expected)) - 1) << 2;
            keys = new long[slots];
            values = new Object[slots];
            mask = slots - 1;
        }

        void put(long key, V value) {
            int i = (int) key & mask;
            if (values[i] == null) {
                keys[i] = key;
                values[i] = value;
                inRing++;
            } else if (keys[i] == key) {
                values[i] = value;
            } else {
                overflow.put(key, value);
            }
        }

        @SuppressWarnings("unchecked")
        V remove(long key) {
            int i = (int) key & mask;
            if (values[i] != null && keys[i] == key) {
                V v = (V) values[i];
                values[i] = null;
                inRing--;
                return v;
            }
            return overflow.isEmpty() ? null : overflow.remove(key);
        }

        int size() {
            return inRing + overflow.size();
        }

        /** Adds every value to {@code out} (in no particular order); the map keeps them. */
        @SuppressWarnings("unchecked")
        void forEach(java.util.function.Consumer<V> out) {
            for (int i = 0; i < values.length; i++) {
                if (values[i] != null) {
                    out.accept((V) values[i]);
                }
            }
            overflow.values().forEach(out);
        }

        /** Moves every value to {@code out} (in no particular order) and empties the map. */
        @SuppressWarnings("unchecked")
        void drainTo(List<V> out) {
            for (int i = 0; i < values.length && inRing > 0; i++) {
                if (values[i] != null) {
                    out.add((V) values[i]);
                    values[i] = null;
                    inRing--;
                }
            }
            out.addAll(overflow.values());
            overflow.clear();
        }
    }
}
