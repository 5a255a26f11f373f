package dev.dgramd.client.internal;

import dev.dgramd.client.ClientOptions;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ManagedChannelProvider;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettySslContextChannelCredentials;
import io.grpc.netty.UdsNettyChannelProvider;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the gRPC channel that {@link ClientOptions} describe: TCP or a Unix domain socket,
 * plaintext or TLS (optionally with a client certificate), with or without a bearer token. Shared
 * by the client and dgramctl.
 */
public final class Channels {
    private static final Logger log = LoggerFactory.getLogger(Channels.class);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private Channels() {}

    /**
     * A channel builder for {@code options} (target, TLS, token), reading the TLS files now.
     *
     * @throws IllegalArgumentException a TLS file that cannot be read or holds no valid
     *     certificate or key (the message names the file), or a {@code unix:} target without
     *     netty's epoll transport
     */
    public static NettyChannelBuilder builder(ClientOptions options) {
        String target = options.target();
        ChannelCredentials credentials = options.usesTls()
                ? NettySslContextChannelCredentials.create(sslContext(options))
                : InsecureChannelCredentials.create();
        if (options.token() != null) {
            if (!options.usesTls() && !isLocal(target)) {
                log.warn("sending a bearer token to {} without TLS: it is visible on the network",
                        target);
            }
            credentials = CompositeChannelCredentials.create(credentials,
                    new BearerToken(options.token()));
        }
        NettyChannelBuilder builder;
        if (isUnix(target)) {
            UdsNettyChannelProvider uds = new UdsNettyChannelProvider();
            if (!uds.isAvailable()) {
                throw new IllegalArgumentException("target " + target + ": Unix domain sockets need"
                        + " netty's native epoll transport (netty-transport-native-epoll, Linux)");
            }
            ManagedChannelProvider.NewChannelBuilderResult result =
                    uds.newChannelBuilder(target, credentials);
            ManagedChannelBuilder<?> b = result.getChannelBuilder();
            if (b == null) {
                throw new IllegalArgumentException("target " + target + ": " + result.getError());
            }
            // grpc sets SO_KEEPALIVE, which a Unix domain socket lacks: netty would warn at each connect
            builder = ((NettyChannelBuilder) b).withOption(ChannelOption.SO_KEEPALIVE, null);
        } else {
            builder = NettyChannelBuilder.forTarget(target, credentials);
        }
        if (options.tlsAuthority() != null) {
            builder.overrideAuthority(options.tlsAuthority());
        }
        return builder;
    }

    /** True for a Unix domain socket target: {@code unix:/path} or {@code unix:///path}. */
    public static boolean isUnix(String target) {
        return target.regionMatches(true, 0, "unix:", 0, 5);
    }

    /** A Unix domain socket or a loopback host: a plaintext token stays on this machine. */
    static boolean isLocal(String target) {
        if (isUnix(target)) {
            return true;
        }
        String host = target.toLowerCase(Locale.ROOT);
        int scheme = host.indexOf("://");
        if (scheme >= 0) {
            host = host.substring(scheme + 3);
            host = host.startsWith("/") ? host.substring(1) : host;
        }
        return host.startsWith("127.") || host.startsWith("localhost") || host.startsWith("[::1]");
    }

    private static SslContext sslContext(ClientOptions options) {
        SslContextBuilder ssl = GrpcSslContexts.forClient();
        if (options.tlsTrustCerts() != null) {
            byte[] trust = read(options.tlsTrustCerts(), "TLS trust certificates");
            ssl.trustManager(certificates(trust, options.tlsTrustCerts(), "TLS trust certificates"));
        }
        if (options.tlsClientCert() != null) {
            byte[] chain = read(options.tlsClientCert(), "TLS client certificate");
            certificates(chain, options.tlsClientCert(), "TLS client certificate");
            byte[] key = read(options.tlsClientKey(), "TLS client key");
            try {
                ssl.keyManager(new ByteArrayInputStream(chain), new ByteArrayInputStream(key));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("TLS client key " + options.tlsClientKey()
                        + ": no unencrypted PEM private key (PKCS#8) in it", e);
            }
        }
        try {
            return ssl.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS setup with " + describe(options) + " failed: "
                    + e.getMessage(), e);
        }
    }

    /** The certificates of a PEM file's content; {@code file} and {@code what} name it in errors. */
    private static X509Certificate[] certificates(byte[] pem, Path file, String what) {
        Collection<? extends java.security.cert.Certificate> certs;
        try {
            certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem));
        } catch (CertificateException e) {
            throw new IllegalArgumentException(what + " " + file
                    + ": not PEM X.509 certificates (" + e.getMessage() + ")", e);
        }
        if (certs.isEmpty()) {
            throw new IllegalArgumentException(what + " " + file + ": holds no certificate");
        }
        return certs.toArray(new X509Certificate[0]);
    }

    private static byte[] read(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot read it ("
                    + e.getClass().getSimpleName() + ")", e);
        }
    }

    private static String describe(ClientOptions options) {
        StringBuilder files = new StringBuilder();
        if (options.tlsTrustCerts() != null) {
            files.append(options.tlsTrustCerts());
        }
        if (options.tlsClientCert() != null) {
            files.append(files.length() == 0 ? "" : ", ").append(options.tlsClientCert())
                    .append(", ").append(options.tlsClientKey());
        }
        return files.toString();
    }

    /**
     * {@code authorization: Bearer <token>} on every call. Unlike most call credentials it does not
     * insist on a secure transport: plaintext loopback and Unix domain sockets are legitimate here
     * (the client logs a warning for plaintext to other hosts).
     */
    static final class BearerToken extends CallCredentials {
        private final String value;

        BearerToken(String token) {
            this.value = "Bearer " + token;
        }

        @Override
        public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor,
                MetadataApplier applier) {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, value);
            applier.apply(headers);
        }

        @Override
        public String toString() {
            return "BearerToken[redacted]";
        }
    }
}
