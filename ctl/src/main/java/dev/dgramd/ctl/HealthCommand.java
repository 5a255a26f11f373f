package dev.dgramd.ctl;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code dgramctl health}: the daemon's grpc.health.v1 status; exit 0 when SERVING, 1 otherwise. */
@Command(name = "health", mixinStandardHelpOptions = true,
        description = {
            "Asks the daemon's grpc.health.v1 service; exit status 0 when SERVING, else",
            "1. Prints SERVING, NOT_SERVING, SERVICE_UNKNOWN, or UNREACHABLE and why.",
            ""
        })
final class HealthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Option(names = "--service", paramLabel = "NAME", defaultValue = "",
            description = "The service to check (dgramd.v1.Dgram, dgramd.v1.Admin); empty: the whole server.")
    String service;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Connection daemon = ctl.connect()) {
            ServingStatus status = daemon.health().check(HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus();
            out.println(status);
            return status == ServingStatus.SERVING ? 0 : 1;
        } catch (StatusRuntimeException e) {
            out.println(e.getStatus().getCode() == Status.Code.NOT_FOUND ? ServingStatus.SERVICE_UNKNOWN.name()
                    : "UNREACHABLE " + ctl.target + ": " + Dgramctl.describe(e));
            return 1;
        } finally {
            out.flush();
        }
    }
}
