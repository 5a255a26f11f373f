package dev.dgramd.ctl;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.tools.DaemonChannels;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketInfo;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthGrpc;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine;

/**
 * A gRPC channel to one daemon (TCP or Unix domain socket, plaintext or TLS, with or without a bearer token,
 * as the client library connects), with deadline-bound stubs; close it when done.
 */
final class Connection implements AutoCloseable {
    private static final int SOCKET_ID_LENGTH = 32;

    private final ManagedChannel channel;
    private final long timeoutSeconds;

    private Connection(ManagedChannel channel, long timeoutSeconds) {
        this.channel = channel;
        this.timeoutSeconds = timeoutSeconds;
    }

    /**
     * Opens (lazily) the channel {@code options} describe.
     *
     * @throws IllegalArgumentException a TLS file that cannot be read or holds no valid certificate or key
     */
    static Connection open(ClientOptions options, long timeoutSeconds) {
        return new Connection(DaemonChannels.open(options), timeoutSeconds);
    }

    /** Admin calls, each bounded by the --timeout deadline. */
    AdminGrpc.AdminBlockingStub admin() {
        return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
    }

    /** Admin calls without a deadline (tap runs until stopped). */
    AdminGrpc.AdminBlockingStub adminUnbounded() {
        return AdminGrpc.newBlockingStub(channel);
    }

    HealthGrpc.HealthBlockingStub health() {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
    }

    /**
     * The id of the open socket that {@code idOrPrefix} names: a whole id is taken as it is; a shorter
     * text must be the prefix of exactly one open socket's id.
     *
     * @throws CommandLine.ParameterException when no open socket, or more than one, has that prefix
     */
    String socketId(String idOrPrefix, CommandLine commandLine) {
        if (idOrPrefix.length() >= SOCKET_ID_LENGTH) {
            return idOrPrefix;
        }
        List<String> matches = admin().listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .map(SocketInfo::getSocketId).filter(id -> id.startsWith(idOrPrefix)).collect(Collectors.toList());
        if (matches.size() == 1) {
            return matches.get(0);
        }
        throw new CommandLine.ParameterException(commandLine, matches.isEmpty()
                ? "no open socket's id starts with '" + idOrPrefix + "'"
                : "'" + idOrPrefix + "' is the start of " + matches.size() + " socket ids; give more of it");
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(timeoutSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
