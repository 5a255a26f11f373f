package dev.dgramd.ctl;

import com.google.rpc.ErrorInfo;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

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
            "one that no other open socket shares."
        })
public final class Dgramctl {
    static final String TARGET_ENV = "DGRAMD_TARGET";
    static final String DEFAULT_TARGET = "127.0.0.1:50051";

    @Option(names = "--target", paramLabel = "HOST:PORT", scope = ScopeType.INHERIT,
            description = "The daemon's gRPC address. Default: " + DEFAULT_TARGET + ". Env: " + TARGET_ENV + ".")
    String target;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10", scope = ScopeType.INHERIT,
            description = "Deadline of each call (not of tap). Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    /** Opens a connection to the daemon named by --target; close it when done. */
    Connection connect() {
        return Connection.open(target, timeoutSeconds);
    }

    /** The command line, with {@code env} as the environment (for DGRAMD_TARGET). */
    static CommandLine commandLine(Map<String, String> env) {
        CommandLine commandLine = new CommandLine(new Dgramctl());
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

    /** "NOT_FOUND ERR_SOCKET_DGRAM_NOT_RUNNING: Not running: no socket with id 'x'". */
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
        return description == null ? text.toString() : text + ": " + description;
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
