package dev.dgramd.daemon.udp;

import java.time.Instant;

/**
 * One socket's traffic counters. Written only on the socket's event loop (a single writer, so the
 * volatile increments do not race), readable from any thread; each update also goes to the
 * daemon-wide {@link TrafficTotals}.
 */
public final class SocketCounters {
    private final TrafficTotals totals;
    private final Instant created;
    private volatile long datagramsReceived;
    private volatile long bytesReceived;
    private volatile long datagramsSent;
    private volatile long bytesSent;
    private volatile long sendFailures;
    private volatile long errorsEmitted;
    private volatile long kernelDropped;

    SocketCounters(TrafficTotals totals) {
        this.totals = totals;
        this.created = Instant.now();
    }

    /**
     * A socket's counts as another daemon kept them: a socket handed over goes on counting from
     * there (the daemon-wide totals count only what this daemon saw).
     */
    SocketCounters(TrafficTotals totals, Counts from) {
        this.totals = totals;
        this.created = from.created();
        this.datagramsReceived = from.datagramsReceived();
        this.bytesReceived = from.bytesReceived();
        this.datagramsSent = from.datagramsSent();
        this.bytesSent = from.bytesSent();
        this.sendFailures = from.sendFailures();
        this.errorsEmitted = from.errorsEmitted();
        this.kernelDropped = from.kernelDropped();
    }

    /** The counts at one moment, as handed to another daemon. */
    public record Counts(Instant created, long datagramsReceived, long bytesReceived, long datagramsSent,
                         long bytesSent, long sendFailures, long errorsEmitted, long kernelDropped) {}

    /** The counts now. */
    public Counts counts() {
        return new Counts(created, datagramsReceived, bytesReceived, datagramsSent, bytesSent, sendFailures,
                errorsEmitted, kernelDropped);
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

    /** {@code datagrams} taken in one segmented send, {@code bytes} of payload in all. */
    void sentSegmented(int datagrams, long bytes) {
        datagramsSent += datagrams;
        bytesSent += bytes;
        totals.datagramsSent.add(datagrams);
        totals.bytesSent.add(bytes);
        totals.datagramsSegmented.add(datagrams);
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
