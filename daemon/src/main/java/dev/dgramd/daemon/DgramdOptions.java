package dev.dgramd.daemon;

import dev.dgramd.daemon.auth.AuthConfig;
import dev.dgramd.daemon.auth.UnixSocket;
import dev.dgramd.daemon.policy.Policy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/** How to start a {@link Dgramd}: fluent setters, defaults as the {@code dgramd} command's. */
public final class DgramdOptions {
    /** The default gRPC listen address. */
    public static final String DEFAULT_LISTEN = "127.0.0.1:50051";
    /** The default bound of queued event bytes per socket (4 MiB). */
    public static final long DEFAULT_MAX_QUEUED_EVENT_BYTES = 4L << 20;
    /** The default orphan grace (10 s). */
    public static final Duration DEFAULT_ORPHAN_GRACE = Duration.ofSeconds(10);
    /** The default idle time after which the daemon pings a client connection (10 s). */
    public static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(10);
    /** The default wait for a ping's answer before the connection is dropped (10 s). */
    public static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(10);
    /** The default shortest interval between a client's pings that the daemon accepts (5 s). */
    public static final Duration DEFAULT_PERMIT_KEEPALIVE_TIME = Duration.ofSeconds(5);

    private String listen = DEFAULT_LISTEN;
    private int eventLoopThreads;
    private boolean nativeTransport = true;
    private long maxQueuedEventBytes = DEFAULT_MAX_QUEUED_EVENT_BYTES;
    private long maxBufferedEventBytes;
    private int maxMessageBytes = 8 << 20;
    private String metrics;
    private Duration orphanGrace = DEFAULT_ORPHAN_GRACE;
    private Path handOverSocket;
    private Path takeOver;
    private Duration warmUp = DEFAULT_WARM_UP;

    /** Default of {@link #warmUp(Duration)}: none (the {@code dgramd} command warms up for 2 s). */
    public static final Duration DEFAULT_WARM_UP = Duration.ZERO;
    private Duration keepAliveTime = DEFAULT_KEEPALIVE_TIME;
    private Duration keepAliveTimeout = DEFAULT_KEEPALIVE_TIMEOUT;
    private Duration permitKeepAliveTime = DEFAULT_PERMIT_KEEPALIVE_TIME;
    private Policy policy = Policy.defaults();
    private Path tlsCert;
    private Path tlsKey;
    private Path tlsClientCa;
    private Path tokensFile;
    private boolean insecure;

    /**
     * {@code HOST:PORT} for the gRPC server; port 0 picks a free port. IPv6 hosts in brackets:
     * {@code [::1]:50051}. Or {@code unix:/PATH}, a Unix domain socket (epoll transport only) whose
     * file the daemon makes mode 0660. A host other than loopback needs TLS, a tokens file or
     * {@link #insecure}.
     *
     * @throws IllegalArgumentException when the address is neither HOST:PORT nor unix:PATH
     */
    public DgramdOptions listen(String hostPort) {
        if (dev.dgramd.daemon.auth.UnixSocket.path(hostPort) == null) {
            HostPort.parse(hostPort, "listen"); // fail early on a malformed address
        }
        this.listen = hostPort;
        return this;
    }

    public String listen() {
        return listen;
    }

    /** Event loop threads shared by gRPC and UDP; 0 (the default) means twice the number of cores. */
    public DgramdOptions eventLoopThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("eventLoopThreads must be >= 0, got " + threads);
        }
        this.eventLoopThreads = threads;
        return this;
    }

    public int eventLoopThreads() {
        return eventLoopThreads;
    }

    /** False forces the NIO transport even where epoll is available (default true). */
    public DgramdOptions nativeTransport(boolean allowed) {
        this.nativeTransport = allowed;
        return this;
    }

    public boolean nativeTransport() {
        return nativeTransport;
    }

    /**
     * Per socket, how many bytes of events are kept for an Events reader that is behind (or absent);
     * 'message' events beyond it are dropped and counted. Default 4 MiB.
     */
    public DgramdOptions maxQueuedEventBytes(long bytes) {
        if (bytes < 65_536) {
            throw new IllegalArgumentException("maxQueuedEventBytes must be >= 65536, got " + bytes);
        }
        this.maxQueuedEventBytes = bytes;
        return this;
    }

    public long maxQueuedEventBytes() {
        return maxQueuedEventBytes;
    }

    /**
     * Daemon-wide, how many bytes of events all sockets together may hold for readers that are
     * absent or behind (queued, or written to gRPC and not yet sent); beyond it 'message' events are
     * dropped and counted. 0 (the default): a quarter of the JVM's maximum heap
     * ({@link dev.dgramd.daemon.budget.EventBudget#defaultLimit()}). A principal holds at most half of it.
     *
     * @throws IllegalArgumentException when {@code bytes} is neither 0 nor at least 1 MiB
     */
    public DgramdOptions maxBufferedEventBytes(long bytes) {
        if (bytes != 0 && bytes < dev.dgramd.daemon.budget.EventBudget.MIN_LIMIT) {
            throw new IllegalArgumentException("maxBufferedEventBytes must be 0 (a quarter of the heap) or >= "
                    + dev.dgramd.daemon.budget.EventBudget.MIN_LIMIT + ", got " + bytes);
        }
        this.maxBufferedEventBytes = bytes;
        return this;
    }

    /** The daemon-wide event budget set, or 0 for the default derived from the heap. */
    public long maxBufferedEventBytes() {
        return maxBufferedEventBytes;
    }

    /**
     * The largest request message the daemon accepts (a SendStreamRequest, say), default 8 MiB; a
     * larger one fails its call with RESOURCE_EXHAUSTED, reason ERR_DGRAMD_MESSAGE_TOO_LARGE.
     */
    public DgramdOptions maxMessageBytes(int bytes) {
        if (bytes < 128 * 1024) {
            throw new IllegalArgumentException("maxMessageBytes must be >= 131072, got " + bytes);
        }
        this.maxMessageBytes = bytes;
        return this;
    }

    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    /**
     * {@code HOST:PORT} for the Prometheus metrics endpoint ({@code GET /metrics}); null or empty
     * (the default) serves no metrics. Port 0 picks a free port.
     */
    public DgramdOptions metrics(String hostPort) {
        if (hostPort != null && !hostPort.isEmpty()) {
            HostPort.parse(hostPort, "metrics");
        }
        this.metrics = hostPort == null || hostPort.isEmpty() ? null : hostPort;
        return this;
    }

    /** The metrics address, or null when metrics are off. */
    public String metrics() {
        return metrics;
    }

    /**
     * How long a socket whose client went away (its Events stream was cancelled, or the connection
     * carrying it died) stays open, waiting for a client of its principal to attach a new Events stream; after it
     * the socket is closed. Zero disables reaping. A socket that never had an Events stream attached
     * is never reaped. A socket created with a keep-alive of its own (CreateSocketRequest.keep_alive,
     * within the policy's quotas.maxKeepAliveSeconds) waits that long instead. Default 10 s.
     *
     * @throws IllegalArgumentException when {@code grace} is null or negative
     */
    public DgramdOptions orphanGrace(Duration grace) {
        if (grace == null || grace.isNegative()) {
            throw new IllegalArgumentException("orphanGrace must be >= 0, got " + grace);
        }
        this.orphanGrace = grace;
        return this;
    }

    public Duration orphanGrace() {
        return orphanGrace;
    }

    /**
     * A unix socket path where this daemon waits for a new dgramd process to take its sockets over
     * (a restart without losing a socket: {@link #takeOver} on the new one); null (the default):
     * none. The socket is mode 0600 and only a process of the same user, or root, may use it.
     */
    public DgramdOptions handOverSocket(Path path) {
        this.handOverSocket = path;
        return this;
    }

    public Path handOverSocket() {
        return handOverSocket;
    }

    /**
     * The hand-over socket of a running dgramd whose sockets this one takes over when it starts:
     * the running one stops its sockets and passes them (descriptors and state), stops listening,
     * and exits; this one then listens on its own addresses (the same ones, usually). Null (the
     * default): start with no sockets. Needs the epoll transport.
     */
    public DgramdOptions takeOver(Path path) {
        this.takeOver = path;
        return this;
    }

    public Path takeOver() {
        return takeOver;
    }

    /**
     * How long the daemon runs its own datagram paths before it serves (and before it takes
     * sockets over), so that the JIT has compiled them for the first client
     * ({@link dev.dgramd.daemon.warmup.WarmUp}): at most this long, or 300,000 datagrams. Zero
     * (the default here; the {@code dgramd} command's is 2 s) does not warm up.
     *
     * @throws IllegalArgumentException when {@code warmUp} is null, negative or over a minute
     */
    public DgramdOptions warmUp(Duration warmUp) {
        if (warmUp == null || warmUp.isNegative() || warmUp.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException("warmUp must be between 0 and 1 minute, got " + warmUp);
        }
        this.warmUp = warmUp;
        return this;
    }

    public Duration warmUp() {
        return warmUp;
    }

    /**
     * After how long without reading anything from a client connection the daemon sends it an HTTP/2
     * PING; when no answer comes within {@link #keepAliveTimeout} the connection is closed, its calls
     * end and its sockets become orphans ({@link #orphanGrace}). This is how a client whose host
     * vanished (no FIN or RST ever arrives) is noticed: within about time + timeout. Zero sends no
     * pings (a dead peer is then noticed only when TCP gives up, after many minutes). Default 10 s.
     *
     * @throws IllegalArgumentException when {@code time} is null or negative
     */
    public DgramdOptions keepAliveTime(Duration time) {
        if (time == null || time.isNegative()) {
            throw new IllegalArgumentException("keepAliveTime must be >= 0, got " + time);
        }
        this.keepAliveTime = time;
        return this;
    }

    public Duration keepAliveTime() {
        return keepAliveTime;
    }

    /**
     * How long the daemon waits for the answer to its keepalive PING before it closes the
     * connection. Default 10 s.
     *
     * @throws IllegalArgumentException when {@code timeout} is null, zero or negative
     */
    public DgramdOptions keepAliveTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("keepAliveTimeout must be > 0, got " + timeout);
        }
        this.keepAliveTimeout = timeout;
        return this;
    }

    public Duration keepAliveTimeout() {
        return keepAliveTimeout;
    }

    /**
     * The shortest interval between keepalive PINGs of a client that the daemon accepts, with or
     * without calls in progress; a client that pings more often is sent GOAWAY
     * ({@code too_many_pings}) and its connection closed. The Java client pings every 10 s by
     * default. Default 5 s.
     *
     * @throws IllegalArgumentException when {@code time} is null or negative
     */
    public DgramdOptions permitKeepAliveTime(Duration time) {
        if (time == null || time.isNegative()) {
            throw new IllegalArgumentException("permitKeepAliveTime must be >= 0, got " + time);
        }
        this.permitKeepAliveTime = time;
        return this;
    }

    public Duration permitKeepAliveTime() {
        return permitKeepAliveTime;
    }

    /**
     * What each principal may do: bind addresses and ports, destinations, broadcast, multicast groups,
     * quotas and who is an admin. Default {@link Policy#defaults()}: Node's behaviour (any port,
     * broadcast, multicast) but no link-local destinations, 1,024 sockets per principal. Load a file
     * with {@link Policy#load}.
     *
     * @throws NullPointerException when {@code policy} is null
     */
    public DgramdOptions policy(Policy policy) {
        this.policy = Objects.requireNonNull(policy, "policy");
        return this;
    }

    public Policy policy() {
        return policy;
    }

    /**
     * PEM file with the server's certificate chain, its own certificate first: the gRPC server then
     * speaks TLS only. Needs {@link #tlsKey}; null (the default) serves plaintext. The files are read
     * when the daemon starts, which fails naming the file when one cannot be read or parsed.
     */
    public DgramdOptions tlsCert(Path file) {
        this.tlsCert = unlessEmpty(file);
        return this;
    }

    public Path tlsCert() {
        return tlsCert;
    }

    /** PEM file with the unencrypted private key of {@link #tlsCert}: PKCS#8, or PKCS#1 for RSA. */
    public DgramdOptions tlsKey(Path file) {
        this.tlsKey = unlessEmpty(file);
        return this;
    }

    public Path tlsKey() {
        return tlsKey;
    }

    /**
     * PEM file with CA certificates: Dgram and Admin calls must then come with a client certificate
     * that one of them signed (mutual TLS), and the caller's principal is its subject CN. Needs
     * {@link #tlsCert}; null (the default) asks for no client certificate.
     */
    public DgramdOptions tlsClientCa(Path file) {
        this.tlsClientCa = unlessEmpty(file);
        return this;
    }

    public Path tlsClientCa() {
        return tlsClientCa;
    }

    /**
     * Text file of bearer tokens, one {@code <token> <principal>} per line ({@code #} comments):
     * Dgram and Admin calls must then carry {@code authorization: Bearer <token>}, and the caller's
     * principal is the token's. Re-read when it changes: a principal that the new version no longer
     * names has its open Events and SendStream calls ended (UNAUTHENTICATED), and its sockets become
     * orphans ({@link #orphanGrace}). Null (the default) for none.
     */
    public DgramdOptions tokensFile(Path file) {
        this.tokensFile = unlessEmpty(file);
        return this;
    }

    public Path tokensFile() {
        return tokensFile;
    }

    /**
     * True lets the daemon listen on an address other than loopback without TLS or a tokens file:
     * unauthenticated plaintext, for whoever reaches it (logged as a warning). Default false: such a
     * start fails.
     */
    public DgramdOptions insecure(boolean allowed) {
        this.insecure = allowed;
        return this;
    }

    public boolean insecure() {
        return insecure;
    }

    private static Path unlessEmpty(Path file) {
        return file == null || file.toString().isEmpty() ? null : file;
    }

    @Override
    public String toString() {
        return "DgramdOptions{listen=" + listen + ", eventLoopThreads=" + eventLoopThreads + ", nativeTransport="
                + nativeTransport + ", maxQueuedEventBytes=" + maxQueuedEventBytes
                + ", maxBufferedEventBytes=" + maxBufferedEventBytes + ", maxMessageBytes="
                + maxMessageBytes + ", metrics=" + metrics + ", orphanGrace=" + orphanGrace
                + ", keepAliveTime=" + keepAliveTime + ", keepAliveTimeout=" + keepAliveTimeout
                + ", permitKeepAliveTime=" + permitKeepAliveTime
                + ", policy=" + policy.source() + ", tlsCert=" + tlsCert + ", tlsKey=" + tlsKey + ", tlsClientCa=" + tlsClientCa
                + ", tokensFile=" + tokensFile + ", insecure=" + insecure + "}";
    }

    /** What authentication needs of these options: the listen address, TLS files, tokens file, insecure. */
    public AuthConfig authConfig() {
        String host = UnixSocket.path(listen) == null ? HostPort.parse(listen, "listen").host() : null;
        return new AuthConfig(listen, host, tlsCert, tlsKey, tlsClientCa, tokensFile, insecure);
    }

    /** A parsed {@code HOST:PORT}; an IPv6 host is kept without its brackets. */
    public record HostPort(String host, int port) {
        /**
         * Parses {@code text}; {@code what} ("listen", "metrics") names the address in error messages.
         *
         * @throws IllegalArgumentException when {@code text} is not HOST:PORT with a port in 0..65535
         */
        public static HostPort parse(String text, String what) {
            Objects.requireNonNull(text, what);
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || colon == text.length() - 1) {
                throw new IllegalArgumentException(what + " address must be HOST:PORT, got '" + text + "'");
            }
            String host = text.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            } else if (host.contains(":")) {
                throw new IllegalArgumentException("write an IPv6 " + what + " address in brackets: [" + host
                        + "]:PORT");
            }
            int port;
            try {
                port = Integer.parseInt(text.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + " port must be a number, got '" + text + "'");
            }
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException(what + " port must be 0..65535, got " + port);
            }
            return new HostPort(host, port);
        }

        /** {@code host:port}, the host in brackets when it is an IPv6 address. */
        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }
}
