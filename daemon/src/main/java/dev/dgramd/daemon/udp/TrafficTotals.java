package dev.dgramd.daemon.udp;

import java.util.concurrent.atomic.LongAdder;

/**
 * Daemon-wide traffic counters, summed over every socket a {@link SocketRegistry} ever had. Monotonic;
 * updated from every event loop, readable from any thread.
 */
public final class TrafficTotals {
    final LongAdder socketsCreated = new LongAdder();
    final LongAdder socketsClosed = new LongAdder();
    final LongAdder datagramsReceived = new LongAdder();
    final LongAdder bytesReceived = new LongAdder();
    final LongAdder datagramsSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder sendFailures = new LongAdder();
    final LongAdder errorsEmitted = new LongAdder();
    final LongAdder kernelDropped = new LongAdder();
    final LongAdder datagramsSegmented = new LongAdder();

    TrafficTotals() {
    }

    /** Sockets created so far. */
    public long socketsCreated() {
        return socketsCreated.sum();
    }

    /** Sockets closed so far. */
    public long socketsClosed() {
        return socketsClosed.sum();
    }

    /** Datagrams received (each one a 'message' event). */
    public long datagramsReceived() {
        return datagramsReceived.sum();
    }

    /** Payload bytes received. */
    public long bytesReceived() {
        return bytesReceived.sum();
    }

    /** Datagrams the kernel accepted for sending. */
    public long datagramsSent() {
        return datagramsSent.sum();
    }

    /** Payload bytes the kernel accepted for sending. */
    public long bytesSent() {
        return bytesSent.sum();
    }

    /**
     * Of {@link #datagramsSent()}, those the kernel took several to a send (UDP_SEGMENT, "GSO"):
     * consecutive datagrams of one size to one destination.
     */
    public long datagramsSegmented() {
        return datagramsSegmented.sum();
    }

    /** Sends answered with an error (bad arguments, closed socket, EMSGSIZE, ENOBUFS, ...). */
    public long sendFailures() {
        return sendFailures.sum();
    }

    /** 'error' events emitted. */
    public long errorsEmitted() {
        return errorsEmitted.sum();
    }

    /** Datagrams the kernel dropped on the sockets before they were read ({@link SocketCounters#kernelDropped()}). */
    public long kernelDropped() {
        return kernelDropped.sum();
    }
}
