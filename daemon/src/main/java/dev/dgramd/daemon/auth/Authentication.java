package dev.dgramd.daemon.auth;

import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may connect to a daemon, as its {@link AuthConfig} says: TLS (and client certificates), bearer
 * tokens, and the secure default, which refuses to serve unauthenticated plaintext on an address other
 * than loopback. {@link #intercept} guards a service; {@code grpc.health.v1} and reflection stay open
 * (probes cannot send tokens).
 */
public final class Authentication implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Authentication.class);
    /** How often the tokens file is checked for changes. */
    static final Duration TOKENS_POLL = Duration.ofSeconds(1);

    private final SslContext sslContext;
    private final TokensFile tokens;
    private final Authenticator authenticator;
    private final String description;

    private Authentication(SslContext sslContext, TokensFile tokens, Authenticator authenticator,
                           String description) {
        this.sslContext = sslContext;
        this.tokens = tokens;
        this.authenticator = authenticator;
        this.description = description;
    }

    /**
     * Reads the TLS files and the tokens file (which it then polls for changes until {@link #close}).
     * Warns when the daemon will listen on an address other than loopback without authenticating
     * callers ({@link AuthConfig#insecure}, or TLS without client certificates or tokens).
     *
     * @throws IOException with the message of {@link #refusal} or {@link #configurationError}, or naming
     *     the file and the problem when a TLS or tokens file cannot be read or parsed
     */
    public static Authentication start(AuthConfig options) throws IOException {
        String error = configurationError(options);
        if (error == null) {
            error = refusal(options);
        }
        if (error != null) {
            throw new IOException(error);
        }
        SslContext ssl = options.tlsCert() == null ? null
                : TlsFiles.serverContext(options.tlsCert(), options.tlsKey(), options.tlsClientCa());
        TokensFile tokens = options.tokensFile() == null ? null : TokensFile.open(options.tokensFile(), TOKENS_POLL);
        boolean certificates = options.tlsClientCa() != null;
        Authenticator authenticator = tokens == null && !certificates ? null : new Authenticator(tokens, certificates);
        StringBuilder d = new StringBuilder();
        d.append(ssl == null ? "plaintext" : "TLS");
        if (certificates) {
            d.append(", client certificates signed by ").append(options.tlsClientCa());
        }
        if (tokens != null) {
            d.append(", bearer tokens of ").append(tokens.file()).append(" (").append(tokens.principals())
                    .append(" principal(s))");
        }
        if (authenticator == null) {
            d.append(", callers not authenticated");
        }
        if (authenticator == null && !options.unixSocket() && !isLoopback(options.listenHost())) {
            log.warn("{} on {}: whoever reaches it may use every socket and the Admin service",
                    ssl == null ? "--insecure: unauthenticated plaintext"
                            : "TLS without --tls-client-ca or --tokens-file: callers are not authenticated",
                    options.listen());
        }
        return new Authentication(ssl, tokens, authenticator, d.toString());
    }

    /**
     * The secure default: a refusal when the daemon would serve unauthenticated plaintext on an address
     * other than loopback (127.0.0.0/8, ::1, a name that resolves to one of them), that is without
     * TLS, without a tokens file and without {@link AuthConfig#insecure}; else null. A unix socket
     * is never refused (its file mode guards it), nor a host that does not resolve (binding fails).
     */
    public static String refusal(AuthConfig options) {
        if (options.insecure() || options.tlsCert() != null || options.tokensFile() != null
                || options.unixSocket() || isLoopback(options.listenHost())) {
            return null;
        }
        return "refusing to listen on " + options.listen() + " without TLS or a tokens file; give "
                + "--tls-cert/--tls-key or --tokens-file, or --insecure to serve unauthenticated plaintext";
    }

    /**
     * A problem with how the options combine, or null: a TLS certificate without its key (or the
     * other way round), client certificates without TLS, TLS on a unix socket.
     */
    public static String configurationError(AuthConfig options) {
        if ((options.tlsCert() == null) != (options.tlsKey() == null)) {
            return "TLS needs a certificate and its key: give both --tls-cert and --tls-key";
        }
        if (options.tlsClientCa() != null && options.tlsCert() == null) {
            return "--tls-client-ca needs TLS: give --tls-cert and --tls-key too";
        }
        if (options.tlsCert() != null && options.unixSocket()) {
            return "TLS is for a HOST:PORT listen address, not " + options.listen()
                    + " (the socket file's mode guards it): drop --tls-cert, --tls-key and --tls-client-ca";
        }
        return null;
    }

    /** True when calls carry a principal (tokens or client certificates); false: every caller is anonymous. */
    public boolean authenticates() {
        return authenticator != null;
    }

    /** The TLS context of the gRPC server, or null for plaintext. */
    public SslContext sslContext() {
        return sslContext;
    }

    /** {@code service}, its calls authenticated first (before any interceptor it has); as is without authentication. */
    public ServerServiceDefinition intercept(ServerServiceDefinition service) {
        return authenticator == null ? service : ServerInterceptors.intercept(service, authenticator);
    }

    /**
     * Calls {@code listener} (on the tokens file's poller thread) with the principals that a reload of
     * the tokens file removed, so that their open calls, which authenticated before, can be ended.
     * Without a tokens file it is never called.
     */
    public void onPrincipalsRemoved(Consumer<Set<String>> listener) {
        if (tokens != null) {
            tokens.onPrincipalsRemoved(listener);
        }
    }

    /** "TLS, client certificates signed by /etc/ca.pem", "plaintext, callers not authenticated", ... */
    public String describe() {
        return description;
    }

    /** Stops polling the tokens file. */
    @Override
    public void close() {
        if (tokens != null) {
            tokens.close();
        }
    }

    /** Whether the host of a HOST:PORT listen address is (or resolves to) a loopback address. */
    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return true; // nothing will listen there: binding fails with its own message
        }
    }
}
