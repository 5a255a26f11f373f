package dev.dgramd.daemon.grpc;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the gRPC layer dropped rather than queue without bound, daemon-wide and monotonic: events no
 * Events reader took in time, and datagrams no Tap reader took in time; also the sockets closed
 * because their client went away (orphans). Readable from any thread.
 */
public final class DropCounters {
    final LongAdder messages = new LongAdder();
    final LongAdder messagesBudget = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder tapDatagrams = new LongAdder();
    final LongAdder orphansReaped = new LongAdder();

    /** 'message' events dropped because an Events reader was absent or behind. */
    public long messages() {
        return messages.sum();
    }

    /**
     * Of {@link #messages()}, those dropped because the daemon-wide event budget (or a principal's
     * share of it) was full, or the daemon was stopping; the rest were dropped because their
     * socket's own bound was full (its reader absent or behind).
     */
    public long messagesBudget() {
        return messagesBudget.sum();
    }

    /** 'error' events dropped for the same reason. */
    public long errors() {
        return errors.sum();
    }

    /** Datagrams not copied to a Tap stream because its reader was behind. */
    public long tapDatagrams() {
        return tapDatagrams.sum();
    }

    /** Sockets closed because their Events stream went away and no new one attached within the grace. */
    public long orphansReaped() {
        return orphansReaped.sum();
    }
}
