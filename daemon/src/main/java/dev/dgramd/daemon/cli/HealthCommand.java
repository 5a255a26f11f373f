package dev.dgramd.daemon.cli;

import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.auth.TlsFiles;
import dev.dgramd.daemon.auth.UnixSocket;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
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
 * would start: {@code --listen} (flag, env or file) with a wildcard host replaced by loopback, over
 * TLS when they give {@code --tls-cert} (trusting that very certificate). Health needs no token and
 * no client certificate.
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

    @Option(names = "--target", paramLabel = "HOST:PORT|unix:PATH",
            description = "The daemon to check. Default: the --listen address (0.0.0.0 and [::] become "
                    + "127.0.0.1 and [::1]).")
    String target;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "Check over TLS, trusting the CA certificates (or the server's own certificate) in "
                    + "this PEM file. Default: when the daemon's settings give --tls-cert, TLS trusting that "
                    + "certificate; else plaintext.")
    Path tlsCa;

    @Option(names = "--tls-server-name", paramLabel = "NAME",
            description = "The name the server's certificate must carry. Default: the target's host; when "
                    + "trusting the daemon's own --tls-cert, the first name in that certificate.")
    String tlsServerName;

    @Option(names = "--service", paramLabel = "NAME", defaultValue = "",
            description = "The service to check; empty (the default) is the whole server.")
    String service;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "How long to wait for the answer. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Override
    public Integer call() throws InterruptedException {
        String address = target != null ? target : loopbackTarget(daemon.listen);
        PrintWriter out = spec.commandLine().getOut();
        ManagedChannel channel;
        String shown;
        try {
            Path unix = UnixSocket.path(address);
            if (unix != null) {
                shown = "unix:" + unix;
                channel = Grpc.newChannelBuilder(UnixSocket.target(unix), InsecureChannelCredentials.create()).build();
            } else {
                DgramdOptions.HostPort hostPort = DgramdOptions.HostPort.parse(address, "target");
                shown = hostPort.toString();
                channel = tcpChannel(hostPort);
            }
        } catch (ParameterException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (RuntimeException e) { // e.g. no channel provider for unix: without epoll
            out.println("UNREACHABLE " + address + ": " + e.getMessage());
            out.flush();
            return 1;
        }
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
            out.println("UNREACHABLE " + shown + ": " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
            return 1;
        } finally {
            out.flush();
            channel.shutdownNow().awaitTermination(timeoutSeconds, TimeUnit.SECONDS);
        }
    }

    /** Plaintext, or TLS trusting --tls-ca or else the daemon's own --tls-cert. */
    private ManagedChannel tcpChannel(DgramdOptions.HostPort hostPort) {
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(hostPort.host(), hostPort.port());
        Path trust = tlsCa != null ? tlsCa : daemon.tlsCert;
        if (trust == null) {
            return builder.usePlaintext().build();
        }
        List<X509Certificate> roots;
        try {
            roots = TlsFiles.certificates(trust, tlsCa != null ? "--tls-ca" : "TLS certificate");
            builder.sslContext(GrpcSslContexts.forClient().trustManager(roots).build());
        } catch (IOException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        String name = tlsServerName != null ? tlsServerName : tlsCa == null ? TlsFiles.serverName(roots.get(0)) : null;
        if (name != null) {
            builder.overrideAuthority(name.contains(":") ? "[" + name + "]" : name);
        }
        return builder.build();
    }

    /** {@code listen} with a wildcard host replaced by the loopback address of its family; a unix: address as is. */
    static String loopbackTarget(String listen) {
        if (UnixSocket.path(listen) != null) {
            return listen;
        }
        DgramdOptions.HostPort l = DgramdOptions.HostPort.parse(listen, "listen");
        String host = switch (l.host()) {
            case "0.0.0.0", "" -> "127.0.0.1";
            case "::", "0:0:0:0:0:0:0:0" -> "::1";
            default -> l.host();
        };
        return new DgramdOptions.HostPort(host, l.port()).toString();
    }
}
