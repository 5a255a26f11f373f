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
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the gRPC channel that {@link ClientOptions} describe: TCP or a Unix domain socket,
 * plaintext or TLS (optionally with a client certificate), with or without a bearer token. Shared
 * by the client and, through {@link dev.dgramd.client.tools.DaemonChannels}, by tools such as dgramctl.
 */
public final class Channels {
    private static final Logger log = LoggerFactory.getLogger(Channels.class);
    /** A PEM private key block: group 1 the type before "PRIVATE KEY" (RSA, EC, ENCRYPTED), 2 the body. */
    private static final Pattern PEM_KEY = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----([\\s\\S]*?)-----END \\1PRIVATE KEY-----");
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private Channels() {}

    /**
     * A channel builder for {@code options} (target, TLS, token, keepalive), reading the TLS files now.
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
        if (!options.keepAliveTime().isZero()) {
            // Only while calls are open: a daemon accepts those pings at its --permit-keepalive-time.
            builder.keepAliveTime(options.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
                    .keepAliveTimeout(options.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
                    .keepAliveWithoutCalls(false);
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
            X509Certificate[] chain = certificates(read(options.tlsClientCert(),
                    "TLS client certificate"), options.tlsClientCert(), "TLS client certificate");
            PrivateKey key = privateKey(options.tlsClientKey());
            if (!belongTogether(key, chain[0])) {
                throw new IllegalArgumentException("TLS client key " + options.tlsClientKey()
                        + " is not the key of the certificate " + options.tlsClientCert());
            }
            ssl.keyManager(new PresentAlways(chain, key));
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

    /** The unencrypted PKCS#8 key of a PEM file (RSA, EC or EdDSA). */
    private static PrivateKey privateKey(Path file) {
        String what = "TLS client key " + file;
        String text = new String(read(file, "TLS client key"), StandardCharsets.US_ASCII);
        Matcher m = PEM_KEY.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException(what + ": no PEM private key in it");
        }
        if (!m.group(1).isEmpty()) {
            throw new IllegalArgumentException(what + ": BEGIN " + m.group(1) + "PRIVATE KEY is"
                    + " not an unencrypted PKCS#8 key (BEGIN PRIVATE KEY); convert it: openssl pkcs8"
                    + " -topk8 -nocrypt -in KEY -out KEY.pk8.pem");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": the PEM block is not base64", e);
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // another algorithm, or not a key: try the next
            }
        }
        throw new IllegalArgumentException(what + ": not a PKCS#8 RSA, EC or EdDSA private key");
    }

    /** True when {@code key} signs what the certificate's public key verifies (or cannot tell). */
    private static boolean belongTogether(PrivateKey key, X509Certificate certificate) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return true;
        }
        byte[] probe = "dgramd key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
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
     * The client certificate, presented whatever CAs the daemon names as acceptable: the JDK's own
     * key manager would silently present nothing for another CA's certificate, and the daemon's
     * refusal would then read "client certificate required" instead of a certificate error.
     */
    static final class PresentAlways extends X509ExtendedKeyManager {
        private static final String ALIAS = "dgramd-client";
        private final X509Certificate[] chain;
        private final PrivateKey key;

        PresentAlways(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers,
                SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }
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
