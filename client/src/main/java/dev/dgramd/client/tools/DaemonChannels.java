package dev.dgramd.client.tools;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.internal.Channels;
import io.grpc.ManagedChannel;

/**
 * Opens gRPC channels to a daemon for tools: the target, TLS (with an optional client certificate)
 * and bearer token of {@link ClientOptions}, as {@link dev.dgramd.client.DgramClient} connects.
 */
public final class DaemonChannels {
    private DaemonChannels() {
    }

    /**
     * A channel to the daemon {@code options} describe, connecting lazily (at its first call). The TLS
     * files are read now. The caller owns the channel: {@code shutdown()} it when done.
     *
     * @throws IllegalArgumentException a TLS file that cannot be read or holds no valid certificate
     *     or key, or a key that does not match its certificate (the message names the file); a
     *     {@code unix:} target without netty's native epoll transport
     */
    public static ManagedChannel open(ClientOptions options) {
        return Channels.builder(options).build();
    }
}
