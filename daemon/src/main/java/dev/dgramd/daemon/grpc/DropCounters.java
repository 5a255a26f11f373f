package dev.dgramd.daemon.grpc;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the gRPC layer dropped rather than queue without bound, daemon-wide and monotonic: events no
 * Events reader took in time, and datagrams no Tap reader took in time. Readable from any thread.
 */
public final class DropCounters {
    final LongAdder messages = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder tapDatagrams = new LongAdder();

    /** 'message' events dropped because an Events reader was absent or behind. */
    public long messages() {
        return messages.sum();
    }

    /** 'error' events dropped for the same reason. */
    public long errors() {
        return errors.sum();
    }

    /** Datagrams not copied to a Tap stream because its reader was behind. */
    public long tapDatagrams() {
        return tapDatagrams.sum();
    }
}
