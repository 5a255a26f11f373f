package dev.dgramd.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link DgramClient} reaches its daemon, how it proves who it is, and the bounds on what it
 * buffers. Fluent: {@code new ClientOptions().target("127.0.0.1:50051").maxPendingSendBytes(1 <<
 * 20)}.
 *
 * <p>Security, matching the daemon's flags: {@link #token} ({@code --tokens-file}), {@link #tls}
 * ({@code --tls-cert/--tls-key}), {@link #tlsClientCert} ({@code --tls-client-ca}), and a {@code
 * unix:} {@link #target} ({@code --listen unix:/path}). The files are only read by {@link
 * DgramClient#connect(ClientOptions)}.
 */
public final class ClientOptions {
    /** The daemon's default address. */
    public static final String DEFAULT_TARGET = "127.0.0.1:50051";
    /**
     * The default interval of keepalive pings (10 s, gRPC's shortest): twice the daemon's default
     * {@code --permit-keepalive-time} (5 s), so the daemon accepts them.
     */
    public static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(10);

    private String target = DEFAULT_TARGET;
    private long maxPendingSendBytes = 4L << 20;
    private int maxPendingSendDatagrams = 8192;
    private Duration callTimeout = Duration.ofSeconds(10);
    private Duration restartTimeout = DEFAULT_RESTART_TIMEOUT;
    private int eventBatchesInFlight = 16;
    private Duration keepAliveTime = DEFAULT_KEEPALIVE_TIME;
    private Duration keepAliveTimeout = Duration.ofSeconds(10);
    private String token;
    private Path tlsTrustCerts;
    private Path tlsClientCert;
    private Path tlsClientKey;
    private String tlsAuthority;
    private boolean listenersOnEventLoop = DEFAULT_LISTENERS_ON_EVENT_LOOP;

    /** Default of {@link #listenersOnEventLoop(boolean)}: listeners run on the client's listener pool. */
    public static final boolean DEFAULT_LISTENERS_ON_EVENT_LOOP = false;

    /**
     * The defaults: {@value #DEFAULT_TARGET}, 4 MiB / 8192 datagrams, 10 s, 16 batches, keepalive
     * pings after 10 s idle with a 10 s timeout.
     */
    public ClientOptions() {}

    /** A copy of {@code other}: changing one leaves the other as it is. */
    public ClientOptions(ClientOptions other) {
        this.target = other.target;
        this.maxPendingSendBytes = other.maxPendingSendBytes;
        this.maxPendingSendDatagrams = other.maxPendingSendDatagrams;
        this.callTimeout = other.callTimeout;
        this.restartTimeout = other.restartTimeout;
        this.eventBatchesInFlight = other.eventBatchesInFlight;
        this.keepAliveTime = other.keepAliveTime;
        this.keepAliveTimeout = other.keepAliveTimeout;
        this.token = other.token;
        this.tlsTrustCerts = other.tlsTrustCerts;
        this.tlsClientCert = other.tlsClientCert;
        this.tlsClientKey = other.tlsClientKey;
        this.tlsAuthority = other.tlsAuthority;
        this.listenersOnEventLoop = other.listenersOnEventLoop;
    }

    /**
     * Where the sockets' listeners (events, send callbacks) run. By default ({@code false}) on the
     * client's listener pool: each socket's on one pool thread at a time, in order, so a slow or
     * blocking listener delays only its own socket, at the cost of a thread hop per batch of
     * events each way.
     *
     * <p>{@code true}: on the connection's transport event loop, the thread that reads the
     * daemon's answers, as Vert.x runs handlers on their context. The lowest latency (no hop), in
     * the same order, but every socket of the client shares that one thread, so a listener that
     * blocks stalls the whole connection: no events, send results or call answers arrive while it
     * runs. The client therefore never waits there: from a listener, a {@code send} that finds the
     * send window full fails with ENOBUFS (to its callback, else as 'error') instead of blocking;
     * the setters ({@code setTTL}, {@code addMembership}, {@code setBroadcast}, {@code
     * disconnect}, ...) go to the daemon in order without waiting, returning at once and emitting
     * a failure as 'error' rather than throwing it; the getters that need the daemon ({@code
     * getRecvBufferSize}, {@code getSendBufferSize}) throw {@value
     * DgramException#ERR_DGRAMD_WOULD_BLOCK}. Called from any other thread, every method behaves
     * as by default.
     */
    public ClientOptions listenersOnEventLoop(boolean onEventLoop) {
        this.listenersOnEventLoop = onEventLoop;
        return this;
    }

    /** See {@link #listenersOnEventLoop(boolean)}. */
    public boolean listenersOnEventLoop() {
        return listenersOnEventLoop;
    }

    /**
     * The daemon's gRPC address: {@code "host:port"}, a Unix domain socket {@code "unix:/path"}
     * (or {@code "unix:///path"}; needs netty's epoll transport, Linux), or any gRPC target string.
     */
    public ClientOptions target(String target) {
        this.target = Objects.requireNonNull(target, "target");
        return this;
    }

    /**
     * A bearer token for a daemon started with {@code --tokens-file}: every call carries the
     * metadata {@code authorization: Bearer <token>}. Without TLS the token crosses the connection
     * in clear text: fine on loopback or a Unix domain socket, visible to anyone on the path
     * otherwise (use {@link #tls} there). A missing or unknown token fails a socket's first call:
     * it emits 'error' {@value DgramException#ERR_DGRAMD_UNAUTHENTICATED}, then 'close'.
     *
     * @throws IllegalArgumentException when the token is empty or has characters other than
     *     visible ASCII (no spaces)
     */
    public ClientOptions token(String bearerToken) {
        Objects.requireNonNull(bearerToken, "bearerToken");
        if (bearerToken.isEmpty() || !bearerToken.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException(
                    "a bearer token must be non-empty visible ASCII, without spaces");
        }
        this.token = bearerToken;
        return this;
    }

    /**
     * Connect with TLS (the daemon's {@code --tls-cert/--tls-key}), trusting the CA certificates
     * in this PEM file. The daemon's certificate must name the host of the target (or {@link
     * #tlsAuthority}).
     */
    public ClientOptions tls(Path trustCertsPem) {
        this.tlsTrustCerts = Objects.requireNonNull(trustCertsPem, "trustCertsPem");
        return this;
    }

    /**
     * Mutual TLS (the daemon's {@code --tls-client-ca}): present this certificate chain (PEM) and
     * its private key (PEM, PKCS#8, unencrypted). Implies TLS; without {@link #tls(Path)} the
     * daemon's certificate is checked against the JVM's default trust store. Without a client
     * certificate such a daemon refuses calls with {@value DgramException#ERR_DGRAMD_UNAUTHENTICATED};
     * with one of a CA it does not trust the TLS handshake fails ({@value
     * DgramException#ERR_DGRAMD_UNAVAILABLE}).
     */
    public ClientOptions tlsClientCert(Path certPem, Path keyPem) {
        this.tlsClientCert = Objects.requireNonNull(certPem, "certPem");
        this.tlsClientKey = Objects.requireNonNull(keyPem, "keyPem");
        return this;
    }

    /**
     * The name the daemon's TLS certificate must carry (and the HTTP/2 {@code :authority}), when
     * it differs from the target's host: e.g. {@code "localhost"} for a {@code unix:} target or
     * a target given by an address the certificate does not list.
     */
    public ClientOptions tlsAuthority(String authority) {
        this.tlsAuthority = Objects.requireNonNull(authority, "authority");
        return this;
    }

    /**
     * Payload bytes sent but not yet acknowledged by the daemon, over all sockets of the client
     * (default 4 MiB). When full, {@link Socket#send} blocks until the daemon answers earlier sends.
     * A single datagram larger than this is still let through when nothing else is pending. The
     * client keeps a copy of each pending payload; small ones share chunks of 64 KiB, of which it
     * makes at most this many bytes' worth (at least one) and keeps them for reuse.
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

    /** Default of {@link #restartTimeout}. */
    public static final Duration DEFAULT_RESTART_TIMEOUT = Duration.ofSeconds(30);

    /**
     * How long a socket waits for a daemon that is restarting by hand-over (its streams ended with
     * "daemon restarting") to come back at the same target. Meanwhile the socket's event stream
     * re-attaches by itself, its calls and sends wait and then go to the new process, and nothing
     * already delivered is delivered again; past it the socket gets 'error' ERR_DGRAMD_UNAVAILABLE,
     * then 'close'. Default 30 s.
     *
     * @throws IllegalArgumentException when not positive
     */
    public ClientOptions restartTimeout(Duration restartTimeout) {
        Objects.requireNonNull(restartTimeout, "restartTimeout");
        if (restartTimeout.isNegative() || restartTimeout.isZero()) {
            throw new IllegalArgumentException("restartTimeout must be > 0");
        }
        this.restartTimeout = restartTimeout;
        return this;
    }

    /** See {@link #restartTimeout(Duration)}. */
    public Duration restartTimeout() {
        return restartTimeout;
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

    /**
     * While calls are open (a socket's event stream, say), ping the daemon after this long without
     * hearing from it (default {@link #DEFAULT_KEEPALIVE_TIME}; gRPC raises a value below 10 s to
     * 10 s). When no answer comes within {@link #keepAliveTimeout} the connection is dropped and
     * each socket emits 'error' ERR_DGRAMD_UNAVAILABLE, then 'close': a daemon whose host vanished is
     * noticed in about time + timeout. Zero sends no pings. A daemon refuses pings more frequent
     * than its {@code --permit-keepalive-time} (default 5 s) with GOAWAY, which closes the
     * connection: keep this at least that long.
     */
    public ClientOptions keepAliveTime(Duration keepAliveTime) {
        Objects.requireNonNull(keepAliveTime, "keepAliveTime");
        if (keepAliveTime.isNegative()) {
            throw new IllegalArgumentException("keepAliveTime must be >= 0");
        }
        this.keepAliveTime = keepAliveTime;
        return this;
    }

    /** How long a keepalive ping waits for its answer before the connection is dropped (default 10 s). */
    public ClientOptions keepAliveTimeout(Duration keepAliveTimeout) {
        Objects.requireNonNull(keepAliveTimeout, "keepAliveTimeout");
        if (keepAliveTimeout.isNegative() || keepAliveTimeout.isZero()) {
            throw new IllegalArgumentException("keepAliveTimeout must be > 0");
        }
        this.keepAliveTimeout = keepAliveTimeout;
        return this;
    }

    /** The keepalive ping interval; zero for none. */
    public Duration keepAliveTime() {
        return keepAliveTime;
    }

    /** The wait for a keepalive ping's answer. */
    public Duration keepAliveTimeout() {
        return keepAliveTimeout;
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

    /** The bearer token, or {@code null} for none. */
    public String token() {
        return token;
    }

    /** True when the client connects with TLS ({@link #tls} or {@link #tlsClientCert} given). */
    public boolean usesTls() {
        return tlsTrustCerts != null || tlsClientCert != null;
    }

    /** The PEM file of trusted CA certificates, or {@code null} for the JVM's defaults. */
    public Path tlsTrustCerts() {
        return tlsTrustCerts;
    }

    /** The client certificate chain (PEM) for mutual TLS, or {@code null}. */
    public Path tlsClientCert() {
        return tlsClientCert;
    }

    /** The client certificate's private key (PEM), or {@code null}. */
    public Path tlsClientKey() {
        return tlsClientKey;
    }

    /** The name checked in the daemon's certificate instead of the target's host, or {@code null}. */
    public String tlsAuthority() {
        return tlsAuthority;
    }
}
