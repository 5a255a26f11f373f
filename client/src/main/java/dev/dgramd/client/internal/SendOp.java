package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.client.SendCallback;

/**
 * One datagram on its way: what {@link SendBatch} writes as an OutboundDatagram, and its outcome.
 * Made by the socket's {@link OperationQueue}; from {@link SendPipeline#submit} on, its
 * {@link #id}, {@link #lane} and {@link #batch} belong to the pipeline.
 */
final class SendOp {
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
    /** The socket's lane it was queued on; set by the pipeline. */
    SendPipeline.Lane lane;
    /** The batch it went out in; set by the pipeline when written, null while not on the wire. */
    SendPipeline.Written batch;
    /** The daemon's answer, set before the lane's owner hears of it. */
    DgramException error;
    int sent;

    SendOp(byte[] data, int port, byte[] address, boolean emitError, SendCallback callback, Runnable onFailure) {
        this.data = data;
        this.port = port;
        this.address = address;
        this.emitError = emitError;
        this.bytes = data.length;
        this.callback = callback;
        this.onFailure = onFailure;
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
