package dev.dgramd.daemon.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.grpc.DropCounters;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.TrafficTotals;
import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's metrics in Prometheus text format at {@code GET http://HOST:PORT/metrics}: a
 * Micrometer registry whose meters read the daemon's counters when scraped, served by the JDK's
 * HTTP server on one thread of its own. Totals only: per-socket counters are in Admin.ListSockets,
 * so the number of series stays bounded however many sockets come and go.
 */
public final class MetricsEndpoint implements AutoCloseable {
    /** The Prometheus text exposition format, version 0.0.4. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final Logger log = LoggerFactory.getLogger(MetricsEndpoint.class);
    /** Histogram buckets of {@code dgramd.rpc}, from 100 µs to 10 s. */
    private static final Duration[] RPC_BUCKETS = {
        Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
        Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
    };

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final HttpServer server;
    private final ExecutorService executor;
    private final RpcTimer rpcTimer;

    private MetricsEndpoint(PrometheusMeterRegistry registry, JvmGcMetrics gc, HttpServer server,
                            ExecutorService executor, RpcTimer rpcTimer) {
        this.registry = registry;
        this.gc = gc;
        this.server = server;
        this.executor = executor;
        this.rpcTimer = rpcTimer;
    }

    /**
     * Registers the meters and starts serving them on {@code address} (port 0 picks a free port).
     *
     * @param version the daemon's version and {@code transport} its Netty transport, as labels of {@code dgramd_info}
     * @throws IOException when {@code address} cannot be bound
     */
    public static MetricsEndpoint start(InetSocketAddress address, SocketRegistry sockets, DropCounters drops,
                                        EventBudget budget, String version, String transport) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        register(registry, sockets, drops, budget, version, transport);
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        RpcTimer rpcTimer = new RpcTimer(Timer.builder("dgramd.rpc")
                .description("gRPC calls by method and status code, from start to end")
                .serviceLevelObjectives(RPC_BUCKETS)
                .withRegistry(registry));

        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dgramd-metrics");
            t.setDaemon(true);
            return t;
        });
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (IOException e) {
            executor.shutdownNow();
            gc.close();
            registry.close();
            throw new IOException("cannot serve metrics on " + address + ": " + e.getMessage(), e);
        }
        server.setExecutor(executor);
        server.createContext("/metrics", exchange -> serve(exchange, registry));
        server.start();
        MetricsEndpoint endpoint = new MetricsEndpoint(registry, gc, server, executor, rpcTimer);
        log.info("metrics on http://{}/metrics", endpoint.hostPort());
        return endpoint;
    }

    private static <T> void droppedAt(PrometheusMeterRegistry registry, String where, T source,
                                      ToDoubleFunction<T> count) {
        FunctionCounter.builder("dgramd.datagrams.dropped", source, count).tag("where", where)
                .description("Inbound datagrams dropped, by where").register(registry);
    }

    private static void register(PrometheusMeterRegistry registry, SocketRegistry sockets, DropCounters drops,
                                 EventBudget budget, String version, String transport) {
        TrafficTotals totals = sockets.totals();
        Gauge.builder("dgramd.sockets.open", sockets, SocketRegistry::size)
                .description("Sockets open now").register(registry);
        counter(registry, "dgramd.sockets.opened", null, "Sockets created", totals, TrafficTotals::socketsCreated);
        counter(registry, "dgramd.sockets.closed", null, "Sockets closed", totals, TrafficTotals::socketsClosed);
        counter(registry, "dgramd.sockets.reaped", null, "Sockets closed because their client went away",
                drops, DropCounters::orphansReaped);
        counter(registry, "dgramd.datagrams.received", null, "Datagrams received ('message' events)",
                totals, TrafficTotals::datagramsReceived);
        counter(registry, "dgramd.datagrams.sent", null, "Datagrams the kernel accepted for sending",
                totals, TrafficTotals::datagramsSent);
        counter(registry, "dgramd.datagrams.sent.segmented", null,
                "Of the datagrams sent, those the kernel took several to a send (UDP GSO)",
                totals, TrafficTotals::datagramsSegmented);
        counter(registry, "dgramd.received", BaseUnits.BYTES, "Payload bytes received",
                totals, TrafficTotals::bytesReceived);
        counter(registry, "dgramd.sent", BaseUnits.BYTES, "Payload bytes sent", totals, TrafficTotals::bytesSent);
        counter(registry, "dgramd.send.failures", null, "Sends answered with an error",
                totals, TrafficTotals::sendFailures);
        counter(registry, "dgramd.errors.emitted", null, "'error' events emitted", totals, TrafficTotals::errorsEmitted);
        FunctionCounter.builder("dgramd.events.dropped", drops, DropCounters::messages)
                .tag("event", "message")
                .description("Events dropped because an Events reader was absent or behind").register(registry);
        FunctionCounter.builder("dgramd.events.dropped", drops, DropCounters::errors)
                .tag("event", "error")
                .description("Events dropped because an Events reader was absent or behind").register(registry);
        // Every datagram lost on the way in, by where: the kernel (a socket's receive buffer was full),
        // the daemon (its event budget was full, or it was stopping), the listener (the socket's
        // own bound was full: its reader was absent or behind).
        droppedAt(registry, "kernel", totals, TrafficTotals::kernelDropped);
        droppedAt(registry, "daemon", drops, DropCounters::messagesBudget);
        droppedAt(registry, "listener", drops, d -> d.messages() - d.messagesBudget());
        Gauge.builder("dgramd.buffered.event", budget, EventBudget::used).baseUnit(BaseUnits.BYTES)
                .description("Bytes of events held for Events readers now, all sockets").register(registry);
        Gauge.builder("dgramd.buffered.event.limit", budget, EventBudget::limit).baseUnit(BaseUnits.BYTES)
                .description("The daemon-wide ceiling on those bytes (--max-buffered-event-bytes)").register(registry);
        counter(registry, "dgramd.tap.dropped", null, "Datagrams not copied to a Tap stream whose reader was behind",
                drops, DropCounters::tapDatagrams);
        Gauge.builder("dgramd.info", () -> 1)
                .tag("version", version).tag("transport", transport)
                .description("The daemon's version and transport (always 1)").register(registry);
    }

    private static <T> void counter(PrometheusMeterRegistry registry, String name, String unit, String description,
                                    T source, ToDoubleFunction<T> value) {
        FunctionCounter.builder(name, source, value).baseUnit(unit).description(description).register(registry);
    }

    private static void serve(HttpExchange exchange, PrometheusMeterRegistry registry) throws IOException {
        try {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                exchange.sendResponseHeaders(404, -1);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
            } else {
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
                if (method.equals("HEAD")) {
                    exchange.sendResponseHeaders(200, -1);
                } else {
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                }
            }
        } finally {
            exchange.close();
        }
    }

    /** The interceptor that times every gRPC call into {@code dgramd.rpc}. */
    public ServerInterceptor rpcTimer() {
        return rpcTimer;
    }

    /** The address metrics are served on (useful after port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private String hostPort() {
        String host = address().getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address().getPort();
    }

    /** Stops serving and releases the meters. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        gc.close();
        registry.close();
    }
}
