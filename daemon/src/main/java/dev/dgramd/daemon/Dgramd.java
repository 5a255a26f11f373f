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
import dev.dgramd.daemon.udp.Transport;
import io.grpc.Server;
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
                UnixSocket.prepare(unix);
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
                    .addService(auth.intercept(malformed.guard(dgram.bindService())))
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
            server = builder.build().start();
            if (unix != null) {
                try {
                    UnixSocket.restrict(unix);
                } catch (IOException | RuntimeException e) {
                    server.shutdownNow();
                    throw new IOException("unix socket " + unix + ": cannot make it mode 0660: " + e.getMessage());
                }
            }
        } catch (IOException | RuntimeException e) {
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
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
        health.setStatus(ADMIN_SERVICE_NAME, ServingStatus.SERVING);
        return new Dgramd(transport, registry, dgram, server, health, bound, metrics, auth, unix);
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
        log.info("dgramd stopping: closing {} socket(s)", registry.size());
        health.enterTerminalState();
        dgram.stopping(); // each 'close' goes out ahead of the messages still queued
        try {
            registry.closeAll().get(CLOSE_SOCKETS_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            log.warn("sockets did not all close within {} s", CLOSE_SOCKETS_SECONDS);
        } catch (Exception e) {
            log.warn("closing sockets failed", e);
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
        if (unixSocket != null) {
            UnixSocket.remove(unixSocket);
        }
        log.info("dgramd stopped");
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

    /** Blocks until the server has stopped. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }
}
