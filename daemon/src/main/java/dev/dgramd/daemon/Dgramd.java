package dev.dgramd.daemon;

import dev.dgramd.daemon.auth.Authentication;
import dev.dgramd.daemon.auth.UnixSocket;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.grpc.AdminAccess;
import dev.dgramd.daemon.grpc.AdminService;
import dev.dgramd.daemon.grpc.DgramService;
import dev.dgramd.daemon.grpc.DropCounters;
import dev.dgramd.daemon.grpc.MalformedMessages;
import dev.dgramd.daemon.grpc.MessageSizeLimit;
import dev.dgramd.daemon.metrics.MetricsEndpoint;
import dev.dgramd.daemon.policy.Enforcer;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.TrafficTotals;
import dev.dgramd.daemon.udp.Transport;
import dev.dgramd.daemon.warmup.WarmUp;
import dev.dgramd.daemon.handover.HandOverListener;
import dev.dgramd.daemon.handover.HandOverTaker;
import io.grpc.Server;
import io.netty.channel.unix.FileDescriptor;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running dgramd daemon: a gRPC server and the UDP sockets it hosts, on one Netty event loop group.
 * Besides {@code dgramd.v1.Dgram} it serves {@code dgramd.v1.Admin} (behind {@link AdminAccess}), the
 * standard health service ({@code grpc.health.v1}: SERVING while up, NOT_SERVING while stopping),
 * server reflection and, when {@link DgramdOptions#metrics} is set, Prometheus metrics over HTTP.
 * Who may call Dgram and Admin follows the options' TLS, client certificate and tokens settings
 * ({@link Authentication}); health and reflection answer everyone who can connect.
 * Embeddable: {@code try (Dgramd d = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) { ... d.port() ... }}.
 */
public final class Dgramd implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Dgramd.class);
    private static final long CLOSE_SOCKETS_SECONDS = 3;
    private static final String SERVICE_NAME = "dgramd.v1.Dgram";
    private static final String ADMIN_SERVICE_NAME = "dgramd.v1.Admin";
    /** How long each step of a hand-over may take. */
    private static final java.time.Duration HAND_OVER_STEP = java.time.Duration.ofSeconds(10);
    /** The most datagrams a warm-up sends ({@link DgramdOptions#warmUp}). */
    private static final long WARM_UP_DATAGRAMS = 300_000;
    /** How long a socket may take to write what it was given before it is handed over. */
    private static final long FLUSH_MILLIS = 2000;

    private final Transport transport;
    private final SocketRegistry registry;
    private final DgramService dgram;
    private final Server server;
    private final HealthStatusManager health;
    private final InetSocketAddress address;
    private final MetricsEndpoint metrics;
    private final Authentication auth;
    private final Path unixSocket;
    private boolean closed;
    private volatile HandOverListener handOver;
    /** The sockets went to a new process: closing stops this one without closing them. */
    private volatile boolean handedOver;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    private Dgramd(Transport transport, SocketRegistry registry, DgramService dgram, Server server, HealthStatusManager health,
                   InetSocketAddress address, MetricsEndpoint metrics, Authentication auth, Path unixSocket) {
        this.transport = transport;
        this.registry = registry;
        this.dgram = dgram;
        this.server = server;
        this.health = health;
        this.address = address;
        this.metrics = metrics;
        this.auth = auth;
        this.unixSocket = unixSocket;
    }

    /**
     * Starts a daemon.
     *
     * @throws IOException when the listen or metrics address cannot be bound (in use, not local, ...);
     *     when a non-loopback listen address has no TLS, no tokens file and no {@code insecure}
     *     ({@link Authentication#refusal}); when a TLS or tokens file cannot be read or parsed (the
     *     message names it); when a unix socket is asked of the NIO transport, or its path is taken
     */
    public static Dgramd start(DgramdOptions options) throws IOException {
        Instant started = Instant.now();
        Path unix = UnixSocket.path(options.listen());
        DgramdOptions.HostPort listen = unix == null ? DgramdOptions.HostPort.parse(options.listen(), "listen") : null;
        Authentication auth = Authentication.start(options.authConfig());
        Transport transport = Transport.start(options.eventLoopThreads(), options.nativeTransport());
        SocketRegistry registry = new SocketRegistry(transport);
        HealthStatusManager health = new HealthStatusManager();
        DropCounters drops = new DropCounters();
        Enforcer enforcer = new Enforcer(options.policy());
        EventBudget budget = new EventBudget(options.maxBufferedEventBytes() == 0 ? EventBudget.defaultLimit()
                : options.maxBufferedEventBytes(), options.maxQueuedEventBytes());
        DgramService dgram = new DgramService(registry, enforcer, transport.group(), budget, drops,
                options.orphanGrace());
        auth.onPrincipalsRemoved(dgram::revoke);
        if (!options.warmUp().isZero()) {
            try {
                WarmUp.run(transport, options.warmUp(), WARM_UP_DATAGRAMS);
            } catch (IOException | RuntimeException e) {
                log.warn("dgramd could not warm up ({}); it starts anyway", e.toString());
            }
        }
        HandOverTaker taker = null;
        if (options.takeOver() != null) {
            taker = takeOver(options.takeOver(), transport, dgram);
        }
        AdminService admin = new AdminService(registry, enforcer, drops, budget, version(), transport.name(), started);
        // Without authentication every caller is anonymous and may use Admin, as it may use Dgram;
        // with it, only the policy's admins may.
        AdminAccess adminAccess = auth.authenticates() ? new AdminAccess(enforcer::isAdmin) : new AdminAccess();
        MalformedMessages malformed = new MalformedMessages();
        MetricsEndpoint metrics = null;
        Server server;
        try {
            SocketAddress bindTo;
            if (unix == null) {
                bindTo = new InetSocketAddress(InetAddress.getByName(listen.host()), listen.port());
            } else if (!transport.name().equals("epoll")) {
                throw new IOException("listen " + options.listen() + ": a unix socket needs the epoll transport, "
                        + "and this daemon runs on " + transport.name());
            } else {
                whileOldProcessLetsGo(taker != null, () -> {
                    UnixSocket.prepare(unix);
                    return null;
                });
                bindTo = new DomainSocketAddress(unix.toString());
            }
            if (options.metrics() != null) {
                DgramdOptions.HostPort at = DgramdOptions.HostPort.parse(options.metrics(), "metrics");
                metrics = MetricsEndpoint.start(new InetSocketAddress(InetAddress.getByName(at.host()), at.port()),
                        registry, drops, budget, version(), transport.name());
            }
            NettyServerBuilder builder = NettyServerBuilder
                    .forAddress(bindTo)
                    .bossEventLoopGroup(transport.group())
                    .workerEventLoopGroup(transport.group())
                    .channelType(unix == null ? transport.serverChannelType() : EpollServerDomainSocketChannel.class)
                    .directExecutor()
                    .maxInboundMessageSize(MessageSizeLimit.transportLimit(options.maxMessageBytes()))
                    .intercept(new MessageSizeLimit(options.maxMessageBytes()))
                    .keepAliveTime(options.keepAliveTime().isZero() ? Long.MAX_VALUE
                            : options.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS) // MAX_VALUE: no pings
                    .keepAliveTimeout(options.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
                    .permitKeepAliveTime(options.permitKeepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .addService(auth.intercept(malformed.guard(dgram.definition())))
                    .addService(auth.intercept(ServerInterceptors.intercept(malformed.guard(admin.bindService()),
                            adminAccess)))
                    .addService(health.getHealthService())
                    .addService(ProtoReflectionServiceV1.newInstance());
            if (metrics != null) {
                builder.intercept(metrics.rpcTimer());
            }
            if (auth.sslContext() != null) {
                builder.sslContext(auth.sslContext());
            }
            server = whileOldProcessLetsGo(taker != null, () -> builder.build().start());
            if (unix != null) {
                try {
                    UnixSocket.restrict(unix);
                } catch (IOException | RuntimeException e) {
                    server.shutdownNow();
                    throw new IOException("unix socket " + unix + ": cannot make it mode 0660: " + e.getMessage());
                }
            }
        } catch (IOException | RuntimeException e) {
            if (taker != null) {
                taker.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            registry.close();
            transport.close();
            auth.close();
            throw e instanceof IOException io ? io : new IOException("cannot start dgramd on " + options.listen(), e);
        }
        InetSocketAddress bound = null;
        if (unix == null) {
            bound = (InetSocketAddress) server.getListenSockets().get(0);
            log.info("dgramd listening on {}:{} (transport {})", bound.getAddress().getHostAddress(), bound.getPort(),
                    transport.name());
        } else {
            log.info("dgramd listening on unix:{} (transport {})", unix, transport.name());
        }
        log.info("dgramd access: {}; policy: {}", auth.describe(), options.policy().source());
        log.info("dgramd event buffers: {} bytes daemon-wide ({}), {} per socket", budget.limit(),
                options.maxBufferedEventBytes() == 0 ? "a quarter of the heap" : "--max-buffered-event-bytes",
                budget.perSocket());
        serving(health, ServingStatus.SERVING);
        Dgramd daemon = new Dgramd(transport, registry, dgram, server, health, bound, metrics, auth, unix);
        if (taker != null) {
            taker.done(); // the old process exits
            taker.close();
        }
        if (options.handOverSocket() != null) {
            try {
                daemon.handOver = HandOverListener.start(options.handOverSocket(), transport.group(), daemon.giver());
            } catch (IOException | RuntimeException e) {
                daemon.close();
                throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
            }
        }
        return daemon;
    }

    private static void serving(HealthStatusManager health, ServingStatus status) {
        health.setStatus("", status);
        health.setStatus(SERVICE_NAME, status);
        health.setStatus(ADMIN_SERVICE_NAME, status);
    }

    /**
     * Takes the sockets of the daemon whose hand-over socket is {@code path}: each one adopted
     * (reading from now on), then the old process is told to stop listening.
     */
    private static HandOverTaker takeOver(Path path, Transport transport, DgramService dgram) throws IOException {
        if (!transport.name().equals("epoll")) {
            throw new IOException("--take-over needs the epoll transport, and this daemon runs on " + transport.name());
        }
        HandOverTaker taker = HandOverTaker.connect(path, transport.group(), HAND_OVER_STEP);
        int adopted = 0;
        for (DgramService.HandedSocket h : taker.sockets()) {
            try {
                dgram.adopt(h).get(HAND_OVER_STEP.toMillis(), TimeUnit.MILLISECONDS);
                adopted++;
            } catch (Exception e) {
                log.warn("taking over socket {} failed; it is lost", h.socket().id(), e);
                closeDescriptor(h.socket().fd());
            }
        }
        log.info("dgramd took over {} of {} socket(s) from unix:{}", adopted, taker.sockets().size(), path);
        taker.taken(); // the old process stops listening
        return taker;
    }

    private static void closeDescriptor(int fd) {
        try {
            new FileDescriptor(fd).close();
        } catch (IOException e) {
            log.debug("closing descriptor {} failed", fd, e);
        }
    }

    /** A step that may fail with an IOException. */
    private interface IoStep<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code step}; after a take-over, tries again for a few seconds while the old process
     * still holds what it needs (it has stopped listening, but its listening socket, TCP or unix,
     * may not be closed yet).
     */
    private static <T> T whileOldProcessLetsGo(boolean tookOver, IoStep<T> step) throws IOException {
        long deadline = System.nanoTime() + HAND_OVER_STEP.toNanos();
        while (true) {
            try {
                return step.run();
            } catch (IOException e) {
                if (!tookOver || System.nanoTime() - deadline > 0) {
                    throw e;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // retry: not waiting for an event
            }
        }
    }

    /** What this daemon does when a new process takes its sockets over. */
    private HandOverListener.Giver giver() {
        return new HandOverListener.Giver() {
            @Override
            public CompletableFuture<List<DgramService.HandedSocket>> stop() {
                serving(health, ServingStatus.NOT_SERVING);
                long began = System.nanoTime();
                return dgram.handOver(FLUSH_MILLIS).whenComplete((sockets, e) -> {
                    if (sockets != null) {
                        log.info("hand-over: {} socket(s) stopped in {} ms", sockets.size(),
                                (System.nanoTime() - began) / 1_000_000);
                    }
                });
            }

            @Override
            public void resume(List<DgramService.HandedSocket> sockets) {
                dgram.resume(sockets);
                serving(health, ServingStatus.SERVING);
            }

            @Override
            public void taken(List<DgramService.HandedSocket> sockets) {
                handedOver = true;
                dgram.handedOver(sockets);
            }

            @Override
            public CompletableFuture<Void> releaseAddresses() {
                server.shutdown(); // closes the listening socket; the calls still running end by themselves
                if (metrics != null) {
                    metrics.close();
                }
                HandOverListener l = handOver;
                if (l != null) {
                    l.close();
                }
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void handedOver() {
                Thread t = new Thread(Dgramd.this::close, "dgramd-handed-over");
                t.start();
            }
        };
    }

    /** The gRPC port, useful after listening on port 0; -1 on a unix socket. */
    public int port() {
        return address == null ? -1 : address.getPort();
    }

    /** The gRPC listen address; null on a unix socket. */
    public InetSocketAddress address() {
        return address;
    }

    /** The path of the unix socket the daemon listens on, or null when it listens on HOST:PORT. */
    public Path unixSocket() {
        return unixSocket;
    }

    /**
     * What to hand a gRPC client: {@code HOST:PORT}, e.g. {@code "127.0.0.1:50051"}, or
     * {@code unix:///PATH} on a unix socket (grpc-java dials it with
     * {@code Grpc.newChannelBuilder(target, credentials)} where epoll is available).
     */
    public String target() {
        if (unixSocket != null) {
            return UnixSocket.target(unixSocket);
        }
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** "epoll" or "nio". */
    public String transport() {
        return transport.name();
    }

    /** The address of the Prometheus metrics endpoint, or null when metrics are off. */
    public InetSocketAddress metricsAddress() {
        return metrics == null ? null : metrics.address();
    }

    /** How many sockets are open now. */
    public int openSockets() {
        return registry.size();
    }

    /** The traffic counters summed over every socket this daemon has had. */
    public TrafficTotals totals() {
        return registry.totals();
    }

    /**
     * Stops gracefully: closes every socket (each Events stream ends with 'close', ahead of the
     * 'message' events still queued for a reader that is behind: those are dropped and counted), then stops the
     * gRPC server and the event loops. Bounded to a few seconds; idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        HandOverListener l = handOver;
        if (l != null && !handedOver) {
            l.close();
        }
        health.enterTerminalState();
        if (handedOver) {
            log.info("dgramd stopping: its sockets went to the new process");
        } else {
            log.info("dgramd stopping: closing {} socket(s)", registry.size());
            dgram.stopping(); // each 'close' goes out ahead of the messages still queued
            try {
                registry.closeAll().get(CLOSE_SOCKETS_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                log.warn("sockets did not all close within {} s", CLOSE_SOCKETS_SECONDS);
            } catch (Exception e) {
                log.warn("closing sockets failed", e);
            }
        }
        server.shutdown();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        registry.close();
        transport.close();
        if (metrics != null) {
            metrics.close();
        }
        auth.close();
        if (unixSocket != null && !handedOver) {
            UnixSocket.remove(unixSocket); // after a hand-over the path is the new process's
        }
        log.info("dgramd stopped");
        stopped.complete(null);
    }

    /** The daemon's version, e.g. "0.1.0-SNAPSHOT", or "unknown" when the build did not record it. */
    public static String version() {
        try (java.io.InputStream in = Dgramd.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Blocks until the daemon has stopped: closed, or its sockets handed to a new process. */
    public void awaitTermination() throws InterruptedException {
        try {
            stopped.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True once the daemon's sockets went to a new process ({@link DgramdOptions#handOverSocket}). */
    public boolean handedOver() {
        return handedOver;
    }
}
