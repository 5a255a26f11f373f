package dev.dgramd.daemon.cli;

import dev.dgramd.daemon.DgramdOptions;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code dgramd health}: asks a running daemon's {@code grpc.health.v1} service whether it serves, for
 * container health checks without a second tool. By default it checks the daemon the same options
 * would start: {@code --listen} (flag, env or file) with a wildcard host replaced by loopback.
 */
@Command(name = "health", mixinStandardHelpOptions = true,
        description = {
            "Checks a running dgramd (grpc.health.v1): exit status 0 when SERVING, else 1.",
            "Prints SERVING, NOT_SERVING, SERVICE_UNKNOWN, or UNREACHABLE when there is",
            "no answer in time. For container health checks: the same jar, no other tool.",
            ""
        })
final class HealthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    DgramdCommand daemon;

    @Option(names = "--target", paramLabel = "HOST:PORT",
            description = "The daemon to check. Default: the --listen address (0.0.0.0 and [::] become "
                    + "127.0.0.1 and [::1]).")
    String target;

    @Option(names = "--service", paramLabel = "NAME", defaultValue = "",
            description = "The service to check; empty (the default) is the whole server.")
    String service;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "How long to wait for the answer. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Override
    public Integer call() throws InterruptedException {
        String address = target != null ? target : loopbackTarget(daemon.listen);
        DgramdOptions.HostPort hostPort;
        try {
            hostPort = DgramdOptions.HostPort.parse(address, "target");
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        ManagedChannel channel = NettyChannelBuilder.forAddress(hostPort.host(), hostPort.port()).usePlaintext().build();
        try {
            ServingStatus status = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
            out.println(status);
            return status == ServingStatus.SERVING ? 0 : 1;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
                out.println(ServingStatus.SERVICE_UNKNOWN);
                return 1;
            }
            out.println("UNREACHABLE " + hostPort + ": " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
            return 1;
        } finally {
            out.flush();
            channel.shutdownNow().awaitTermination(timeoutSeconds, TimeUnit.SECONDS);
        }
    }

    /** {@code listen} with a wildcard host replaced by the loopback address of its family. */
    static String loopbackTarget(String listen) {
        DgramdOptions.HostPort l = DgramdOptions.HostPort.parse(listen, "listen");
        String host = switch (l.host()) {
            case "0.0.0.0", "" -> "127.0.0.1";
            case "::", "0:0:0:0:0:0:0:0" -> "::1";
            default -> l.host();
        };
        return new DgramdOptions.HostPort(host, l.port()).toString();
    }
}
