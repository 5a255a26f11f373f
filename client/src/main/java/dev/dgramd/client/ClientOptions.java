package dev.dgramd.client;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link DgramClient} reaches its daemon, and the bounds on what it buffers. Fluent:
 * {@code new ClientOptions().target("127.0.0.1:50051").maxPendingSendBytes(1 << 20)}.
 */
public final class ClientOptions {
    /** The daemon's default address. */
    public static final String DEFAULT_TARGET = "127.0.0.1:50051";

    private String target = DEFAULT_TARGET;
    private long maxPendingSendBytes = 4L << 20;
    private int maxPendingSendDatagrams = 8192;
    private Duration callTimeout = Duration.ofSeconds(10);
    private int eventBatchesInFlight = 16;

    /** The defaults: {@value #DEFAULT_TARGET}, 4 MiB / 8192 datagrams, 10 s, 4 batches. */
    public ClientOptions() {}

    /** The daemon's gRPC address, {@code "host:port"} or any gRPC target string. */
    public ClientOptions target(String target) {
        this.target = Objects.requireNonNull(target, "target");
        return this;
    }

    /**
     * Payload bytes sent but not yet acknowledged by the daemon, over all sockets of the client
     * (default 4 MiB). When full, {@link Socket#send} blocks until the daemon answers earlier sends.
     * A single datagram larger than this is still let through when nothing else is pending.
     */
    public ClientOptions maxPendingSendBytes(long maxPendingSendBytes) {
        if (maxPendingSendBytes <= 0) {
            throw new IllegalArgumentException("maxPendingSendBytes must be > 0");
        }
        this.maxPendingSendBytes = maxPendingSendBytes;
        return this;
    }

    /** Datagrams sent but not yet acknowledged, over all sockets (default 8192); see above. */
    public ClientOptions maxPendingSendDatagrams(int maxPendingSendDatagrams) {
        if (maxPendingSendDatagrams <= 0) {
            throw new IllegalArgumentException("maxPendingSendDatagrams must be > 0");
        }
        this.maxPendingSendDatagrams = maxPendingSendDatagrams;
        return this;
    }

    /**
     * The deadline of each call to the daemon (default 10 s). Blocking methods ({@code
     * setTTL}, {@code addMembership}, ...) throw ERR_DGRAMD_TIMEOUT when it passes.
     */
    public ClientOptions callTimeout(Duration callTimeout) {
        Objects.requireNonNull(callTimeout, "callTimeout");
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new IllegalArgumentException("callTimeout must be > 0");
        }
        this.callTimeout = callTimeout;
        return this;
    }

    /**
     * Event batches a socket accepts from the daemon ahead of its listeners (default 16): the
     * bound of each socket's dispatch queue. When listeners fall further behind, the daemon drops
     * 'message' events and counts them ({@link Socket#droppedMessages()}).
     */
    public ClientOptions eventBatchesInFlight(int eventBatchesInFlight) {
        if (eventBatchesInFlight <= 0) {
            throw new IllegalArgumentException("eventBatchesInFlight must be > 0");
        }
        this.eventBatchesInFlight = eventBatchesInFlight;
        return this;
    }

    /** The daemon's address. */
    public String target() {
        return target;
    }

    /** The bound on unacknowledged send bytes. */
    public long maxPendingSendBytes() {
        return maxPendingSendBytes;
    }

    /** The bound on unacknowledged sent datagrams. */
    public int maxPendingSendDatagrams() {
        return maxPendingSendDatagrams;
    }

    /** The deadline of each call. */
    public Duration callTimeout() {
        return callTimeout;
    }

    /** The per-socket bound on undispatched event batches. */
    public int eventBatchesInFlight() {
        return eventBatchesInFlight;
    }
}
