package dev.dgramd.bench;

import io.grpc.InternalChannelz;
import io.grpc.InternalInstrumented;
import io.grpc.InternalWithLogId;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * gRPC messages an in-process daemon's server has sent and received so far, over its
 * connections, read from grpc-java's channelz registry (every Netty transport counts its
 * messages there). An internal grpc-java API: used by tests only, to count, never to steer.
 *
 * @param sent messages the daemon sent (EventsResponse, SendStreamResponse, unary answers)
 * @param received messages the daemon received (SendStreamRequest, unary requests)
 */
record GrpcMessages(long sent, long received) {
    /** The counts of the server transports whose local port is {@code port}. */
    static GrpcMessages of(int port) {
        InternalChannelz channelz = InternalChannelz.instance();
        long sent = 0;
        long received = 0;
        for (var server : channelz.getServers(0, 1_000).servers) {
            long serverId = server.getLogId().getId();
            for (InternalWithLogId s : channelz.getServerSockets(serverId, 0, 1_000).sockets) {
                InternalInstrumented<InternalChannelz.SocketStats> socket =
                        channelz.getSocket(s.getLogId().getId());
                if (socket == null) {
                    continue; // closed meanwhile
                }
                InternalChannelz.SocketStats stats = get(socket);
                if (stats.data != null && stats.local instanceof InetSocketAddress a && a.getPort() == port) {
                    sent += stats.data.messagesSent;
                    received += stats.data.messagesReceived;
                }
            }
        }
        return new GrpcMessages(sent, received);
    }

    /** What was sent and received since {@code before}. */
    GrpcMessages minus(GrpcMessages before) {
        return new GrpcMessages(sent - before.sent, received - before.received);
    }

    private static InternalChannelz.SocketStats get(InternalInstrumented<InternalChannelz.SocketStats> socket) {
        try {
            return socket.getStats().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("channelz: no stats for " + socket.getLogId() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
