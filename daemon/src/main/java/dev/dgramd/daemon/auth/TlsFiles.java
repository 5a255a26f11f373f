package dev.dgramd.daemon.auth;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PEM files of TLS: certificate chains and CA bundles ({@code BEGIN CERTIFICATE}) and private
 * keys (PKCS#8 {@code BEGIN PRIVATE KEY}, or PKCS#1 {@code BEGIN RSA PRIVATE KEY}), and builds the
 * server's {@link SslContext} (JDK provider). Every failure is an {@link IOException} whose message
 * names the file and the problem: {@code "TLS key /etc/dgramd/key.pem: no such file"}.
 */
public final class TlsFiles {
    private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    /** The DER AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
    private static final byte[] RSA_ALGORITHM = {
        0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00
    };
    private static final String[] KEY_ALGORITHMS = {"RSA", "EC", "EdDSA", "RSASSA-PSS"};

    private TlsFiles() {
    }

    /**
     * The server's TLS context: {@code certFile}'s chain (the server's certificate first) and
     * {@code keyFile}'s key; with {@code clientCaFile}, client certificates are requested and must be
     * signed by one of its certificates. A client that sends none still completes the handshake (so
     * health checks need no certificate); the authenticating interceptor then refuses its calls to
     * the dgramd services. Warns when the certificate is expired or not yet valid.
     *
     * @param clientCaFile null for no client certificates
     * @throws IOException naming the file, when one cannot be read, holds no certificate or key, or
     *     the key is not the certificate's
     */
    static SslContext serverContext(Path certFile, Path keyFile, Path clientCaFile) throws IOException {
        List<X509Certificate> chain = certificates(certFile, "TLS certificate");
        PrivateKey key = privateKey(keyFile);
        checkPair(key, chain.get(0), keyFile, certFile);
        try {
            chain.get(0).checkValidity();
        } catch (CertificateException e) {
            log.warn("TLS certificate {} is not valid now (valid from {} to {}); clients will refuse it", certFile,
                    chain.get(0).getNotBefore().toInstant(), chain.get(0).getNotAfter().toInstant());
        }
        SslContextBuilder builder = SslContextBuilder.forServer(key, chain);
        if (clientCaFile != null) {
            builder.trustManager(certificates(clientCaFile, "TLS client CA")).clientAuth(ClientAuth.OPTIONAL);
        }
        try {
            return GrpcSslContexts.configure(builder, SslProvider.JDK).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IOException("TLS certificate " + certFile + " with key " + keyFile + ": " + e.getMessage());
        }
    }

    /**
     * The certificates of a PEM file, in file order.
     *
     * @param what "TLS certificate", "TLS client CA", "--tls-ca": names the file in error messages
     * @throws IOException when the file cannot be read, holds no PEM certificate, or a malformed one
     */
    public static List<X509Certificate> certificates(Path file, String what) throws IOException {
        String pem = read(file, what);
        List<X509Certificate> certificates = new ArrayList<>();
        Matcher m = BLOCK.matcher(pem);
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("no X.509 certificate factory", e);
        }
        while (m.find()) {
            if (!m.group(1).equals("CERTIFICATE")) {
                continue;
            }
            try {
                certificates.add((X509Certificate) factory.generateCertificate(
                        new ByteArrayInputStream(base64(m.group(2), file, what))));
            } catch (CertificateException e) {
                throw new IOException(what + " " + file + ": certificate " + (certificates.size() + 1)
                        + " is malformed: " + e.getMessage());
            }
        }
        if (certificates.isEmpty()) {
            throw new IOException(what + " " + file + ": no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
        }
        return certificates;
    }

    /**
     * A name that {@code certificate} is valid for, to check a server against it: its first DNS name
     * ({@code *.example.com} gives {@code dgramd.example.com}) or else IP address among the subject
     * alternative names, else its subject CN (or DN).
     */
    public static String serverName(X509Certificate certificate) {
        String ip = null;
        try {
            java.util.Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            for (List<?> name : names == null ? List.<List<?>>of() : names) {
                int type = (Integer) name.get(0);
                if (type == 2) { // dNSName
                    return String.valueOf(name.get(1)).replaceFirst("^\\*\\.", "dgramd.");
                }
                if (type == 7 && ip == null) { // iPAddress
                    ip = String.valueOf(name.get(1));
                }
            }
        } catch (CertificateException e) {
            // no usable alternative names
        }
        return ip != null ? ip : Authenticator.principalOf(certificate);
    }

    /**
     * The private key of a PEM file: unencrypted PKCS#8 (RSA, EC, EdDSA) or PKCS#1 RSA.
     *
     * @throws IOException when the file cannot be read, holds no key, or an encrypted or unsupported one
     */
    static PrivateKey privateKey(Path file) throws IOException {
        String what = "TLS key";
        String pem = read(file, what);
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            String type = m.group(1);
            switch (type) {
                case "PRIVATE KEY":
                    return pkcs8(base64(m.group(2), file, what), file);
                case "RSA PRIVATE KEY":
                    if (m.group(2).contains("ENCRYPTED")) {
                        throw new IOException(what + " " + file + ": the key is encrypted; give it unencrypted "
                                + "(openssl pkey -in KEY -out PLAIN.pem)");
                    }
                    return pkcs8(pkcs1ToPkcs8(base64(m.group(2), file, what)), file);
                case "ENCRYPTED PRIVATE KEY":
                    throw new IOException(what + " " + file + ": the key is encrypted; give it unencrypted "
                            + "(openssl pkey -in KEY -out PLAIN.pem)");
                case "EC PRIVATE KEY":
                    throw new IOException(what + " " + file + ": a SEC 1 EC key (BEGIN EC PRIVATE KEY); give it as "
                            + "PKCS#8 (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY8.pem)");
                default:
                    break;
            }
        }
        throw new IOException(what + " " + file + ": no PEM private key (-----BEGIN PRIVATE KEY-----) in it");
    }

    private static PrivateKey pkcs8(byte[] der, Path file) throws IOException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // not this algorithm: try the next
            }
        }
        throw new IOException("TLS key " + file + ": not an RSA, EC or EdDSA private key this JVM can read");
    }

    /** Fails unless {@code key} signs what {@code certificate}'s public key verifies. */
    private static void checkPair(PrivateKey key, X509Certificate certificate, Path keyFile, Path certFile)
            throws IOException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return;
        }
        byte[] probe = "dgramd key check".getBytes(StandardCharsets.US_ASCII);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IOException("TLS key " + keyFile + ": not the key of the first certificate in " + certFile
                    + " (" + certificate.getSubjectX500Principal().getName() + ")");
        }
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (version 0, rsaEncryption). */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(pkcs1.length + 32);
        body.writeBytes(new byte[] {0x02, 0x01, 0x00}); // version 0
        body.writeBytes(RSA_ALGORITHM);
        body.write(0x04); // OCTET STRING
        derLength(body, pkcs1.length);
        body.writeBytes(pkcs1);
        ByteArrayOutputStream info = new ByteArrayOutputStream(body.size() + 4);
        info.write(0x30); // SEQUENCE
        derLength(info, body.size());
        info.writeBytes(body.toByteArray());
        return info.toByteArray();
    }

    private static void derLength(ByteArrayOutputStream out, int length) {
        if (length < 0x80) {
            out.write(length);
            return;
        }
        int bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
        out.write(0x80 | bytes);
        for (int i = bytes - 1; i >= 0; i--) {
            out.write(length >>> (8 * i));
        }
    }

    private static byte[] base64(String body, Path file, String what) throws IOException {
        StringBuilder data = new StringBuilder(body.length());
        for (String line : body.split("\\R")) {
            if (!line.contains(":")) { // skip RFC 1421 headers such as Proc-Type
                data.append(line.strip());
            }
        }
        try {
            return Base64.getDecoder().decode(data.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(what + " " + file + ": malformed PEM (bad base64: " + e.getMessage() + ")");
        }
    }

    private static String read(Path file, String what) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new IOException(what + " " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IOException(what + " " + file + ": permission denied");
        } catch (IOException e) {
            throw new IOException(what + " " + file + ": cannot read it (" + e.getMessage() + ")");
        }
    }
}
