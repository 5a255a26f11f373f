package dev.dgramd.daemon.udp;

import java.time.Instant;

/**
 * One socket's traffic counters. Written only on the socket's event loop (a single writer, so the
 * volatile increments do not race), readable from any thread; each update also goes to the
 * daemon-wide {@link TrafficTotals}.
 */
public final class SocketCounters {
    private final TrafficTotals totals;
    private final Instant created = Instant.now();
    private volatile long datagramsReceived;
    private volatile long bytesReceived;
    private volatile long datagramsSent;
    private volatile long bytesSent;
    private volatile long sendFailures;
    private volatile long errorsEmitted;
    private volatile long kernelDropped;

    SocketCounters(TrafficTotals totals) {
        this.totals = totals;
    }

    void received(int bytes) {
        datagramsReceived++;
        bytesReceived += bytes;
        totals.datagramsReceived.increment();
        totals.bytesReceived.add(bytes);
    }

    void sent(int bytes) {
        datagramsSent++;
        bytesSent += bytes;
        totals.datagramsSent.increment();
        totals.bytesSent.add(bytes);
    }

    void sendFailed() {
        sendFailures++;
        totals.sendFailures.increment();
    }

    void errorEmitted() {
        errorsEmitted++;
        totals.errorsEmitted.increment();
    }

    void kernelDropped(long datagrams) {
        kernelDropped += datagrams;
        totals.kernelDropped.add(datagrams);
    }

    /** When the socket was created. */
    public Instant created() {
        return created;
    }

    /** Datagrams received (each one a 'message' event). */
    public long datagramsReceived() {
        return datagramsReceived;
    }

    /** Payload bytes received. */
    public long bytesReceived() {
        return bytesReceived;
    }

    /** Datagrams the kernel accepted for sending. */
    public long datagramsSent() {
        return datagramsSent;
    }

    /** Payload bytes the kernel accepted for sending. */
    public long bytesSent() {
        return bytesSent;
    }

    /** Sends answered with an error. */
    public long sendFailures() {
        return sendFailures;
    }

    /** 'error' events emitted. */
    public long errorsEmitted() {
        return errorsEmitted;
    }

    /**
     * Datagrams the kernel dropped on the socket because its receive buffer was full, as last read
     * from the socket (at most about 100 ms after its last read burst, and at its close); 0 on NIO.
     */
    public long kernelDropped() {
        return kernelDropped;
    }
}
