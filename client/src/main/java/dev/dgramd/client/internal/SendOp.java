package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.client.SendCallback;

/**
 * One datagram on its way: what {@link SendBatch} writes as an OutboundDatagram, and its outcome.
 * Made by the socket ({@link RemoteSocket#send}); its payload is copied in by the pipeline when
 * it takes the datagram's window share ({@link SendPipeline#acquire}), into a shared chunk or an
 * array of its own, and held until the datagram is answered. From {@link SendPipeline#submit} on,
 * its {@link #id}, {@link #lane} and {@link #batch} belong to the pipeline.
 */
final class SendOp {
    /**
     * Where the payload is, at {@link #offset}: the {@link PayloadChunks.Chunk} it holds a place
     * in, else an array (its own, or the chunk's once let go). Set by the pipeline. One field for
     * both keeps a SendOp at 64 bytes.
     */
    private Object payload;
    int offset;
    final int port;
    /** The destination address, UTF-8; empty for the connected peer. */
    final byte[] address;
    final int bytes;
    final SendCallback callback;
    /** Runs first, on the listener thread, when the send failed. */
    final Runnable onFailure;
    /** Chosen by the pipeline when queued. */
    long id;
    /** The socket's lane it was queued on; set by the pipeline. */
    SendPipeline.Lane lane;
    /** The batch it went out in; set by the pipeline when written, null while not on the wire. */
    SendPipeline.Written batch;
    /** The daemon's answer, set before the lane's owner hears of it. */
    DgramException error;
    int sent;

    /**
     * A datagram of {@code bytes} bytes, its payload not yet copied in. Without a callback, the
     * daemon also emits its failure as 'error' (Node's rule).
     */
    SendOp(int bytes, int port, byte[] address, SendCallback callback, Runnable onFailure) {
        this.port = port;
        this.address = address;
        this.bytes = bytes;
        this.callback = callback;
        this.onFailure = onFailure;
    }

    /** Whether the daemon also emits a failure as 'error': when there is no callback. */
    boolean emitError() {
        return callback == null;
    }

    /** The array holding the payload at {@link #offset}. */
    byte[] data() {
        Object p = payload;
        return p instanceof PayloadChunks.Chunk c ? c.bytes : (byte[]) p;
    }

    /** The payload is {@code array[offset, offset+bytes)}, an array of its own. */
    void payload(byte[] array, int offset) {
        this.payload = array;
        this.offset = offset;
    }

    /** The payload is at {@code offset} in {@code chunk}, holding its place there. */
    void payload(PayloadChunks.Chunk chunk, int offset) {
        this.payload = chunk;
        this.offset = offset;
    }

    /**
     * Lets go of the payload's place in its chunk: the chunk, for its owner to release, or null
     * when there is none (an array of its own, or let go already). The payload must not be read
     * afterwards: the place may be another's.
     */
    PayloadChunks.Chunk letGo() {
        if (payload instanceof PayloadChunks.Chunk c) {
            payload = c.bytes;
            return c;
        }
        return null;
    }

    /** Sets the outcome. */
    void outcome(DgramException e, int sentBytes) {
        error = e;
        sent = e == null ? sentBytes : 0;
    }

    /** Whether the outcome needs the listener thread: a callback, or a failure to report. */
    boolean needsDispatch() {
        return callback != null || (error != null && onFailure != null);
    }

    /** On the listener thread. */
    void report() {
        if (error != null && onFailure != null) {
            onFailure.run();
        }
        if (callback != null) {
            callback.done(error, sent);
        }
    }
}
