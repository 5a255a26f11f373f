package dev.dgramd.daemon.auth;

import java.nio.file.Path;

/**
 * What {@link Authentication} is configured with: where the daemon listens and how callers prove
 * who they are. Built by the wiring from the daemon's options; the checks of how these combine are
 * {@link Authentication#configurationError} and {@link Authentication#refusal}.
 *
 * @param listen the gRPC listen address as given, {@code HOST:PORT} or {@code unix:PATH}; named in messages
 * @param listenHost the host of a {@code HOST:PORT} listen address (IPv6 without brackets); null for a unix socket
 * @param tlsCert PEM certificate chain to serve TLS with; null for plaintext
 * @param tlsKey the PEM private key of {@code tlsCert}; null without TLS
 * @param tlsClientCa PEM CA certificates that must sign callers' client certificates; null for none
 * @param tokensFile the bearer tokens file ({@code <token> <principal>} lines); null for none
 * @param insecure true allows unauthenticated plaintext on an address other than loopback
 */
public record AuthConfig(String listen, String listenHost, Path tlsCert, Path tlsKey, Path tlsClientCa,
                         Path tokensFile, boolean insecure) {

    /** True when the daemon listens on a Unix domain socket (whose file mode guards it). */
    boolean unixSocket() {
        return UnixSocket.path(listen) != null;
    }
}
