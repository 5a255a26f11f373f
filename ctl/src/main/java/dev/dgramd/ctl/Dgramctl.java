package dev.dgramd.ctl;

import com.google.rpc.ErrorInfo;
import dev.dgramd.client.ClientOptions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code dgramctl}: the operator's command line for a running dgramd, over its gRPC port
 * ({@code grpc.health.v1} and {@code dgramd.v1.Admin}). Exit status: 0 done, 1 the daemon said no
 * (or could not be reached), 2 a usage error.
 */
@Command(name = "dgramctl", mixinStandardHelpOptions = true, versionProvider = Dgramctl.Version.class,
        sortOptions = false,
        subcommands = {HealthCommand.class, ListCommand.class, StatsCommand.class, TapCommand.class,
            SendCommand.class, CloseCommand.class},
        description = {
            "Operates a running dgramd: health, sockets, counters, a live tap, test",
            "datagrams.",
            ""
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0 done; 1 the daemon answered with an error, is not serving, or could not",
            "  be reached; 2 a usage error.",
            "A SOCKET argument is a socket id as 'dgramctl ls' shows it, or a prefix of",
            "one that no other open socket shares.",
            "",
            "Connecting securely (the daemon's --tokens-file, --tls-cert/--tls-key,",
            "--tls-client-ca, --listen unix:PATH):",
            "  dgramctl ls --token-file ~/.dgramd-token",
            "  dgramctl ls --target dgramd.example:50051 --tls-ca ca.pem \\",
            "      --tls-cert me.pem --tls-key me-key.pem",
            "  dgramctl ls --target unix:/run/dgramd/dgramd.sock",
            "Prefer --token-file or " + Dgramctl.TOKEN_ENV + " to --token: a command line is visible to",
            "other users of the machine. Without TLS a token crosses the network in clear",
            "text; that is fine on loopback and Unix domain sockets only."
        })
public final class Dgramctl {
    static final String TARGET_ENV = "DGRAMD_TARGET";
    static final String TOKEN_ENV = "DGRAMD_TOKEN";
    static final String DEFAULT_TARGET = "127.0.0.1:50051";

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;

    @Option(names = "--target", paramLabel = "HOST:PORT|unix:PATH", scope = ScopeType.INHERIT,
            description = "The daemon's gRPC address, or its Unix domain socket (unix:/path). Default: "
                    + DEFAULT_TARGET + ". Env: " + TARGET_ENV + ".")
    String target;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10", scope = ScopeType.INHERIT,
            description = "Deadline of each call (not of tap). Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Option(names = "--token", paramLabel = "TOKEN", scope = ScopeType.INHERIT,
            description = "Bearer token for a daemon with --tokens-file. Env: " + TOKEN_ENV + ".")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Read the bearer token from FILE (its only content), not the command line.")
    Path tokenFile;

    @Option(names = "--tls-ca", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Connect with TLS, trusting the CA certificates in FILE (PEM).")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Mutual TLS: this client certificate (PEM), with --tls-key. Without --tls-ca, the JVM's"
                    + " default CAs check the daemon's certificate.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "The private key of --tls-cert (PEM, PKCS#8, unencrypted).")
    Path tlsKey;

    @Option(names = "--tls-server-name", paramLabel = "NAME", scope = ScopeType.INHERIT,
            description = "The name the daemon's certificate must carry, when not the target's host.")
    String tlsServerName;

    Dgramctl(Map<String, String> env) {
        this.env = env;
    }

    /**
     * Opens a connection to the daemon named by --target, with the token and TLS options; close it when done.
     *
     * @throws ParameterException conflicting or incomplete options, a token or TLS file that cannot be used
     */
    Connection connect() {
        ClientOptions options = new ClientOptions().target(target);
        String bearer = bearerToken();
        if (bearer != null) {
            try {
                options.token(bearer);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        if (tlsCa != null) {
            options.tls(tlsCa);
        }
        if (tlsCert != null) {
            options.tlsClientCert(tlsCert, tlsKey);
        }
        if (tlsServerName != null) {
            options.tlsAuthority(tlsServerName);
        }
        try {
            return Connection.open(options, timeoutSeconds);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** --token, else the content of --token-file, else DGRAMD_TOKEN, else none. */
    private String bearerToken() {
        if (token != null && tokenFile != null) {
            throw new ParameterException(spec.commandLine(), "give --token or --token-file, not both");
        }
        if (token != null) {
            return token;
        }
        if (tokenFile != null) {
            String content;
            try {
                content = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            } catch (IOException | RuntimeException e) {
                throw new ParameterException(spec.commandLine(), "--token-file " + tokenFile + ": cannot read it ("
                        + e.getClass().getSimpleName() + ")");
            }
            if (content.isEmpty() || content.chars().anyMatch(Character::isWhitespace)) {
                throw new ParameterException(spec.commandLine(), "--token-file " + tokenFile
                        + ": must hold one token and nothing else");
            }
            return content;
        }
        String fromEnv = env.get(TOKEN_ENV);
        return fromEnv == null || fromEnv.isEmpty() ? null : fromEnv;
    }

    /** The command line, with {@code env} as the environment (for DGRAMD_TARGET and DGRAMD_TOKEN). */
    static CommandLine commandLine(Map<String, String> env) {
        CommandLine commandLine = new CommandLine(new Dgramctl(env));
        commandLine.setDefaultValueProvider(arg -> defaultValue(arg, env));
        commandLine.setExecutionExceptionHandler(Dgramctl::failure);
        commandLine.setParameterExceptionHandler((e, args) -> {
            e.getCommandLine().getErr().println("dgramctl: " + e.getMessage());
            e.getCommandLine().getErr().println("Try 'dgramctl --help'.");
            return e.getCommandLine().getCommandSpec().exitCodeOnInvalidInput();
        });
        return commandLine;
    }

    public static void main(String[] args) {
        System.exit(commandLine(System.getenv()).execute(args));
    }

    private static String defaultValue(ArgSpec arg, Map<String, String> env) {
        if (arg instanceof OptionSpec option && option.longestName().equals("--target")) {
            String fromEnv = env.get(TARGET_ENV);
            return fromEnv == null || fromEnv.isEmpty() ? DEFAULT_TARGET : fromEnv;
        }
        return null;
    }

    /** A failed call: one line naming the status (and the Node error code when there is one); exit 1. */
    private static int failure(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed) throws Exception {
        if (!(e instanceof StatusRuntimeException failed)) {
            throw e;
        }
        commandLine.getErr().println("dgramctl: " + describe(failed));
        commandLine.getErr().flush();
        return 1;
    }

    /**
     * "NOT_FOUND ERR_SOCKET_DGRAM_NOT_RUNNING: Not running: no socket with id 'x'"; for UNAUTHENTICATED a hint at
     * the token options, for a failed TLS handshake its reason.
     */
    static String describe(StatusRuntimeException e) {
        StringBuilder text = new StringBuilder(e.getStatus().getCode().name());
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        if (details != null) {
            for (com.google.protobuf.Any any : details.getDetailsList()) {
                if (any.is(ErrorInfo.class)) {
                    try {
                        text.append(' ').append(any.unpack(ErrorInfo.class).getReason());
                    } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
                        // no reason to show
                    }
                }
            }
        }
        String description = e.getStatus().getDescription();
        if (description != null) {
            text.append(": ").append(description.lines().findFirst().orElse(""));
        }
        if (e.getStatus().getCode() == Status.Code.UNAUTHENTICATED) {
            text.append(description != null && description.contains("certificate")
                    ? " (give a client certificate: --tls-cert and --tls-key)"
                    : " (give the daemon's token: --token-file, " + TOKEN_ENV + " or --token)");
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                return text.append(" (TLS handshake failed: ").append(firstLine(c)).append(')').toString();
            }
        }
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && e.getCause() != null) {
            text.append(" (").append(firstLine(e.getCause())).append(')');
        }
        return text.toString();
    }

    /** An exception's message (its first line), or its class name when it has none. */
    private static String firstLine(Throwable t) {
        return t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getSimpleName()
                : t.getMessage().lines().findFirst().orElse("");
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Dgramctl.class.getPackage().getImplementationVersion();
            return new String[] {"dgramctl " + (v == null ? "development build" : v)};
        }
    }
}
