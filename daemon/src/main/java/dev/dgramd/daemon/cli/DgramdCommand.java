package dev.dgramd.daemon.cli;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.auth.AuthConfig;
import dev.dgramd.daemon.auth.Authentication;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.daemon.policy.PolicyException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * The {@code dgramd} command: starts a daemon and runs until SIGTERM or SIGINT; {@code dgramd health}
 * checks a running one. Every option can also come from the environment or a config file
 * ({@link ConfigSources}). A malformed value, an unknown config key or a listen address beyond
 * loopback without TLS, tokens or {@code --insecure} exits with status 2 and one line on stderr.
 */
@Command(name = "dgramd", mixinStandardHelpOptions = true, versionProvider = DgramdCommand.Version.class,
        sortOptions = false, subcommands = HealthCommand.class,
        description = {
            "Hosts real UDP sockets and exposes every node:dgram Socket operation over",
            "gRPC (dgramd.v1), with an Admin service, grpc.health.v1 and reflection.",
            "Stops gracefully on SIGTERM or SIGINT: every socket is closed, every event",
            "stream ends with a 'close' event, and the process exits with status 0.",
            ""
        },
        footerHeading = "%nConfiguration:%n",
        footer = {
            "  Every option can also be set by the environment variable named in its",
            "  description, or by a line KEY=VALUE in the --config file (Java properties),",
            "  KEY being the option's name without its leading dashes:",
            "    listen=127.0.0.1:50051",
            "    max-message-bytes=8388608",
            "  Precedence: flag > environment variable > config file > default.",
            "  An unknown key in the file or a malformed value stops dgramd with exit",
            "  status 2 and a one-line message.",
            "",
            "Access:",
            "  A listen address other than loopback needs TLS (--tls-cert, --tls-key) or",
            "  bearer tokens (--tokens-file), or else --insecure. With --tokens-file or",
            "  --tls-client-ca every Dgram and Admin call is authenticated; health and",
            "  reflection answer whoever connects."
        })
public final class DgramdCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(DgramdCommand.class);

    /** Netty transport choices. */
    enum TransportChoice { AUTO, EPOLL, NIO }

    /** Log line formats. */
    enum LogFormat { TEXT, JSON }

    /** Root log levels. */
    enum LogLevel { TRACE, DEBUG, INFO, WARN, ERROR }

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file with option values (see Configuration below). "
                    + "Env: DGRAMD_CONFIG.")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT|unix:PATH", defaultValue = DgramdOptions.DEFAULT_LISTEN,
            description = "gRPC listen address. Port 0 picks a free port; IPv6 as [::1]:50051; unix:/run/dgramd.sock "
                    + "is a Unix domain socket (epoll only), mode 0660. A host other than loopback needs "
                    + "--tls-cert/--tls-key, --tokens-file or --insecure. "
                    + "Default: ${DEFAULT-VALUE}. Env: DGRAMD_LISTEN.")
    String listen;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Serve gRPC over TLS with this PEM certificate chain (the server's certificate first); "
                    + "needs --tls-key. Default: none (plaintext). Env: DGRAMD_TLS_CERT.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "The unencrypted PEM private key of --tls-cert (PKCS#8, or PKCS#1 for RSA). "
                    + "Default: none. Env: DGRAMD_TLS_KEY.")
    Path tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "FILE",
            description = "Mutual TLS: Dgram and Admin calls must come with a client certificate signed by one "
                    + "of this PEM file's CAs; the caller's principal is its subject CN. Needs --tls-cert. "
                    + "Default: none. Env: DGRAMD_TLS_CLIENT_CA.")
    Path tlsClientCa;

    @Option(names = "--tokens-file", paramLabel = "FILE",
            description = "Bearer tokens, one '<token> <principal>' per line ('#' comments; tokens of 16 "
                    + "characters or more): Dgram and Admin calls must carry 'authorization: Bearer <token>'. "
                    + "Re-read when it changes; a principal it no longer names loses its open event and send "
                    + "streams at once (UNAUTHENTICATED) and its sockets after --orphan-grace. "
                    + "Health and reflection need no token. "
                    + "Default: none. Env: DGRAMD_TOKENS_FILE.")
    Path tokensFile;

    @Option(names = "--insecure", paramLabel = "true|false", arity = "0..1", fallbackValue = "true",
            defaultValue = "false",
            description = "Allow unauthenticated plaintext on a listen address other than loopback: whoever "
                    + "reaches it may use every socket. Default: ${DEFAULT-VALUE}. Env: DGRAMD_INSECURE.")
    boolean insecure;

    @Option(names = "--event-loop-threads", paramLabel = "N", defaultValue = "0",
            description = "Netty event loop threads shared by gRPC and UDP; 0 means twice the cores. "
                    + "Default: ${DEFAULT-VALUE}. Env: DGRAMD_EVENT_LOOP_THREADS.")
    int eventLoopThreads;

    @Option(names = "--transport", paramLabel = "auto|epoll|nio", defaultValue = "auto",
            description = "Netty transport: auto (epoll where available, else nio), epoll (fail if it is "
                    + "not available), or nio. Default: auto. Env: DGRAMD_TRANSPORT.")
    TransportChoice transport;

    @Option(names = "--max-queued-event-bytes", paramLabel = "BYTES", defaultValue = "4194304",
            description = "Per socket, the bytes of events kept for a client that reads its event stream "
                    + "slowly (or has none); 'message' events beyond it are dropped and counted. "
                    + "At least 65536. "
                    + "Default: ${DEFAULT-VALUE}. Env: DGRAMD_MAX_QUEUED_EVENT_BYTES.")
    long maxQueuedEventBytes;

    @Option(names = "--max-buffered-event-bytes", paramLabel = "BYTES", defaultValue = "0",
            description = "Daemon-wide, the bytes of events all sockets together may hold for clients that "
                    + "read their event streams slowly or not at all; 'message' events beyond it are dropped "
                    + "and counted. A principal holds at most half of it; beyond its first 64 KiB a socket "
                    + "takes only from the first three quarters. 0 means a quarter of the maximum heap "
                    + "(-Xmx). At least 1048576 otherwise. "
                    + "Default: ${DEFAULT-VALUE}. Env: DGRAMD_MAX_BUFFERED_EVENT_BYTES.")
    long maxBufferedEventBytes;

    @Option(names = "--max-message-bytes", paramLabel = "BYTES", defaultValue = "8388608",
            description = "Largest request message accepted (a SendStreamRequest, say); a larger one fails "
                    + "its call with RESOURCE_EXHAUSTED, reason ERR_DGRAMD_MESSAGE_TOO_LARGE (a SendStream ends). "
                    + "At least 131072. Default: ${DEFAULT-VALUE}. Env: DGRAMD_MAX_MESSAGE_BYTES.")
    int maxMessageBytes;

    @Option(names = "--orphan-grace", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long a socket whose client went away (its event stream was cancelled or its "
                    + "connection died) stays open for a client of the same principal to attach a new event stream, which then gets "
                    + "the events buffered meanwhile; after it the socket is closed. Milliseconds or seconds: "
                    + "500ms, 10s (a bare number is seconds); 0 never closes. A socket that never had an "
                    + "event stream is never closed this way. A socket created with its own keep-alive (a named "
                    + "socket's SocketOptions.keepAlive, at most the policy's quotas.maxKeepAliveSeconds) waits "
                    + "that long instead. Default: 10s. Env: DGRAMD_ORPHAN_GRACE.")
    String orphanGrace;

    @Option(names = "--hand-over-socket", paramLabel = "PATH",
            description = "A unix socket (mode 0600) where this daemon waits for a new dgramd started with "
                    + "--take-over PATH to take its sockets over: it then stops its sockets (the kernel goes on "
                    + "receiving into them), ends each client's streams with ERR_DGRAMD_RESTARTING, passes every "
                    + "socket with its state to the new process, stops listening and exits 0. Only a process of "
                    + "the same user (or root) may take over. Default: none. Env: DGRAMD_HAND_OVER_SOCKET.")
    Path handOverSocket;

    @Option(names = "--take-over", paramLabel = "PATH",
            description = "Start by taking over the sockets of the dgramd whose --hand-over-socket is PATH "
                    + "(same ids, names, owners, bindings, buffered events), then listen on --listen once it "
                    + "has stopped listening (give the same address for the clients to find the sockets). "
                    + "Fails when nobody listens at PATH. Default: none. Env: DGRAMD_TAKE_OVER.")
    Path takeOver;

    @Option(names = "--warm-up", paramLabel = "DURATION", defaultValue = "2s",
            description = "Before serving (and before --take-over takes sockets), run the daemon's own datagram "
                    + "paths for up to this long (or 300,000 datagrams) on a private loopback socket, so that a "
                    + "fresh JVM has compiled them when the first client's datagrams arrive; nothing of it shows "
                    + "in sockets or metrics. 500ms, 2s (a bare number is seconds); 0 starts at once, cold. "
                    + "Default: 2s. Env: DGRAMD_WARM_UP.")
    String warmUp;

    @Option(names = "--keepalive-time", paramLabel = "DURATION", defaultValue = "10s",
            description = "Ping a client connection after this long without hearing from it; with no answer "
                    + "within --keepalive-timeout the connection is closed and its sockets become orphans "
                    + "(--orphan-grace): a client whose host vanished is noticed in about time + timeout. "
                    + "500ms, 10s (a bare number is seconds); 0 sends no pings. Default: 10s. "
                    + "Env: DGRAMD_KEEPALIVE_TIME.")
    String keepAliveTime;

    @Option(names = "--keepalive-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long to wait for the answer to a keepalive ping before closing the connection. "
                    + "More than 0. Default: 10s. Env: DGRAMD_KEEPALIVE_TIMEOUT.")
    String keepAliveTimeout;

    @Option(names = "--permit-keepalive-time", paramLabel = "DURATION", defaultValue = "5s",
            description = "The shortest interval between a client's keepalive pings that is accepted (with or "
                    + "without calls); a client pinging more often gets GOAWAY too_many_pings. The Java client "
                    + "pings every 10s. Default: 5s. Env: DGRAMD_PERMIT_KEEPALIVE_TIME.")
    String permitKeepAliveTime;

    @Option(names = "--policy", paramLabel = "FILE",
            description = "Policy file (YAML or JSON): what each principal may bind, where it may send, "
                    + "broadcast, multicast groups, quotas, admins; checked at start. Default: as Node (any port, "
                    + "broadcast, multicast: the kernel decides) but no link-local destinations, 1024 sockets "
                    + "per principal; docker/hardened-policy.yaml restricts ports, broadcast and multicast. "
                    + "Env: DGRAMD_POLICY.")
    String policy;

    @Option(names = "--metrics", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics over HTTP on HOST:PORT, path /metrics. "
                    + "Off unless set (an empty value is off). Env: DGRAMD_METRICS.")
    String metrics;

    @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text",
            description = "Log lines on stdout as text, or as one JSON object per line (time, level, "
                    + "logger, thread, message, socket_id, error). Default: text. Env: DGRAMD_LOG_FORMAT.")
    LogFormat logFormat;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Least severe level logged: trace, debug, info, warn or error. "
                    + "Default: info. Env: DGRAMD_LOG_LEVEL.")
    LogLevel logLevel;

    private ConfigSources sources;

    @Override
    public Integer call() throws Exception {
        DgramdOptions options = options();
        refuseInsecure(options);
        LogSetup.apply(logFormat, logLevel);
        Dgramd daemon = Dgramd.start(options);
        if (transport == TransportChoice.EPOLL && !daemon.transport().equals("epoll")) {
            daemon.close();
            log.error("--transport epoll: the native epoll transport is not available here");
            return 1;
        }
        // Collect once now, before the first datagram: what start-up left alive (some 5 MiB: classes'
        // data, gRPC's and Netty's tables) moves to the old generation, so that a young collection
        // under load copies only the datagrams in flight instead of copying it again (at 200,000
        // datagrams/s the first young pauses took 14-30 ms without this, about 1 ms after it).
        System.gc();
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Thread handedOver = new Thread(() -> {
            try {
                daemon.awaitTermination(); // a hand-over stops the daemon by itself
                stop.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "dgramd-await-stop");
        handedOver.setDaemon(true);
        handedOver.start();
        stop.await();
        if (daemon.handedOver()) {
            daemon.awaitTermination();
            log.info("dgramd exits: its sockets live on in the new process");
            return 0;
        }
        log.info("signal received");
        daemon.close();
        return 0;
    }

    /**
     * The daemon options these values describe.
     *
     * @throws ParameterException naming the option (and the variable or file it came from) when a
     *     value is out of range or malformed
     */
    DgramdOptions options() {
        DgramdOptions options = new DgramdOptions();
        check("--listen", listen, options::listen);
        options.tlsCert(tlsCert).tlsKey(tlsKey).tlsClientCa(tlsClientCa).tokensFile(tokensFile).insecure(insecure);
        check("--event-loop-threads", eventLoopThreads, options::eventLoopThreads);
        options.nativeTransport(transport != TransportChoice.NIO);
        check("--max-queued-event-bytes", maxQueuedEventBytes, options::maxQueuedEventBytes);
        check("--max-buffered-event-bytes", maxBufferedEventBytes, options::maxBufferedEventBytes);
        check("--max-message-bytes", maxMessageBytes, options::maxMessageBytes);
        check("--metrics", metrics, options::metrics);
        check("--orphan-grace", orphanGrace, v -> options.orphanGrace(duration(v)));
        options.handOverSocket(handOverSocket).takeOver(takeOver);
        check("--warm-up", warmUp, v -> options.warmUp(duration(v)));
        check("--keepalive-time", keepAliveTime, v -> options.keepAliveTime(duration(v)));
        check("--keepalive-timeout", keepAliveTimeout, v -> options.keepAliveTimeout(duration(v)));
        check("--permit-keepalive-time", permitKeepAliveTime, v -> options.permitKeepAliveTime(duration(v)));
        if (policy != null && !policy.isEmpty()) {
            check("--policy", policy, v -> options.policy(loadPolicy(v)));
        }
        return options;
    }

    private static Policy loadPolicy(String file) {
        try {
            return Policy.load(Path.of(file));
        } catch (PolicyException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Stops before anything starts when the options combine badly, or would serve unauthenticated
     * plaintext beyond loopback ({@link Authentication#refusal}).
     *
     * @throws ParameterException with the one-line reason (status 2)
     */
    void refuseInsecure(DgramdOptions options) {
        AuthConfig auth = options.authConfig();
        String error = Authentication.configurationError(auth);
        if (error != null) {
            throw new ParameterException(spec.commandLine(), error);
        }
        String refusal = Authentication.refusal(auth);
        if (refusal != null) {
            throw new ParameterException(spec.commandLine(), refusal, spec.findOption("--listen"), listen);
        }
    }

    /**
     * Parses {@code 500ms}, {@code 10s} or {@code 10} (seconds).
     *
     * @throws IllegalArgumentException when {@code text} is not a non-negative whole number with an
     *     optional unit ms or s
     */
    static Duration duration(String text) {
        String t = text.trim();
        boolean millis = t.endsWith("ms");
        String number = millis ? t.substring(0, t.length() - 2) : t.endsWith("s") ? t.substring(0, t.length() - 1) : t;
        long n;
        try {
            n = Long.parseLong(number.trim());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0) {
            throw new IllegalArgumentException("expected a duration such as 500ms or 10s, got '" + text + "'");
        }
        return millis ? Duration.ofMillis(n) : Duration.ofSeconds(n);
    }

    private <T> void check(String option, T value, Consumer<T> setter) {
        try {
            setter.accept(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '" + option + "': "
                    + e.getMessage(), spec.findOption(option), String.valueOf(value));
        }
    }

    /** A new {@code dgramd} command line, reporting usage errors in one line; see {@link #configure}. */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new DgramdCommand()).setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setParameterExceptionHandler(DgramdCommand::oneLineError);
        commandLine.setExecutionExceptionHandler(DgramdCommand::startFailure);
        return commandLine;
    }

    /**
     * Takes the values that {@code args} will not give from {@code env} and the config file.
     *
     * @throws ParameterException when the config file cannot be read or has an unknown key
     */
    static void configure(CommandLine commandLine, String[] args, Map<String, String> env) {
        DgramdCommand command = commandLine.getCommand();
        command.sources = ConfigSources.load(commandLine, args, env);
        commandLine.setDefaultValueProvider(command.sources);
    }

    /** Runs {@code dgramd args} with {@code env} as the environment; returns the exit status. */
    static int run(CommandLine commandLine, String[] args, Map<String, String> env) {
        try {
            configure(commandLine, args, env);
        } catch (ParameterException e) {
            return oneLineError(e, args);
        }
        return commandLine.execute(args);
    }

    /**
     * The {@code dgramd} process. Netty's leak detector is off in it unless
     * {@code -Dio.netty.leakDetection.level} asks for it: it records a stack trace for a sample of
     * buffers, about 5% of an event loop's time under socket churn (a daemon embedded with
     * {@link Dgramd}, as in the tests, keeps Netty's default).
     */
    public static void main(String[] args) {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        System.exit(run(commandLine(), args, System.getenv()));
    }

    /** A usage error: one line on stderr, naming where a bad value came from; exit status 2. */
    private static int oneLineError(ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        Object user = commandLine.getCommandSpec().root().userObject();
        String origin = user instanceof DgramdCommand c && c.sources != null && e.getArgSpec() != null
                ? c.sources.origin(e.getArgSpec()) : null;
        commandLine.getErr().println("dgramd: " + e.getMessage() + (origin == null ? "" : " (from " + origin + ")"));
        commandLine.getErr().flush();
        return commandLine.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** The daemon could not start (its address is in use, say): one line, exit status 1. */
    private static int startFailure(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed)
            throws Exception {
        if (!(e instanceof IOException)) {
            throw e;
        }
        Throwable cause = e.getCause();
        log.error("dgramd cannot start: {}{}", e.getMessage(),
                cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage());
        return 1;
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"dgramd " + Dgramd.version()};
        }
    }
}
