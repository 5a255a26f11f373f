package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.createAndCloseSocket;
import static dev.dgramd.daemon.auth.AuthTestSupport.failsWith;
import static dev.dgramd.daemon.auth.AuthTestSupport.plaintext;
import static dev.dgramd.daemon.auth.AuthTestSupport.resource;
import static dev.dgramd.daemon.auth.AuthTestSupport.tls;
import static dev.dgramd.daemon.auth.AuthTestSupport.tlsOptions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A daemon serving TLS, reached over real TLS connections; bad TLS files fail the start in one line. */
class TlsTest {
    private static Dgramd daemon;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws IOException {
        daemon = Dgramd.start(tlsOptions());
    }

    @AfterAll
    static void stop() {
        daemon.close();
    }

    @Test
    void callSucceedsWhenTheClientTrustsTheCa() throws Exception {
        ManagedChannel channel = tls(daemon.target(), "ca.pem", null, null);
        try {
            createAndCloseSocket(channel);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void callFailsWhenTheClientDoesNotTrustTheCa() throws Exception {
        ManagedChannel defaultRoots = tls(daemon.target(), null, null, null);
        ManagedChannel otherCa = tls(daemon.target(), "other-ca.pem", null, null);
        try {
            failsWith(Status.Code.UNAVAILABLE, () -> createAndCloseSocket(defaultRoots));
            failsWith(Status.Code.UNAVAILABLE, () -> createAndCloseSocket(otherCa));
        } finally {
            defaultRoots.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            otherCa.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void plaintextClientGetsNowhere() throws Exception {
        ManagedChannel channel = plaintext(daemon.target());
        try {
            failsWith(Status.Code.UNAVAILABLE, () -> createAndCloseSocket(channel));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void pkcs1RsaKeyWorksToo() throws Exception {
        try (Dgramd pkcs1 = Dgramd.start(tlsOptions().tlsKey(resource("server-pkcs1.key")))) {
            ManagedChannel channel = tls(pkcs1.target(), "ca.pem", null, null);
            try {
                createAndCloseSocket(channel);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void pkcs1IsWrappedAsPkcs8() throws IOException {
        assertThat(TlsFiles.privateKey(resource("server-pkcs1.key")))
                .isEqualTo(TlsFiles.privateKey(resource("server.key")));
    }

    @Test
    void missingOrWrongFilesFailTheStartNamingTheFileAndTheProblem() throws IOException {
        Path missing = dir.resolve("absent.pem");
        assertStartFails(tlsOptions().tlsCert(missing), "TLS certificate " + missing + ": no such file");
        assertStartFails(tlsOptions().tlsKey(missing), "TLS key " + missing + ": no such file");
        assertStartFails(tlsOptions().tlsCert(resource("server.key")),
                "TLS certificate " + resource("server.key") + ": no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
        assertStartFails(tlsOptions().tlsKey(resource("server.pem")),
                "TLS key " + resource("server.pem") + ": no PEM private key (-----BEGIN PRIVATE KEY-----) in it");
        assertStartFails(tlsOptions().tlsKey(resource("alice.key")), "TLS key " + resource("alice.key")
                + ": not the key of the first certificate in " + resource("server.pem") + " (CN=localhost,O=dgramd tests)");
        assertStartFails(tlsOptions().tlsClientCa(missing), "TLS client CA " + missing + ": no such file");

        Path encrypted = write("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        assertStartFails(tlsOptions().tlsKey(encrypted), "TLS key " + encrypted + ": the key is encrypted; give it "
                + "unencrypted (openssl pkey -in KEY -out PLAIN.pem)");
        Path sec1 = write("ec.key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        assertStartFails(tlsOptions().tlsKey(sec1), "TLS key " + sec1 + ": a SEC 1 EC key (BEGIN EC PRIVATE KEY); "
                + "give it as PKCS#8 (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY8.pem)");
        Path garbled = write("bad.pem", "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> Dgramd.start(tlsOptions().tlsCert(garbled))).isInstanceOf(IOException.class)
                .hasMessageStartingWith("TLS certificate " + garbled + ": malformed PEM");
    }

    @Test
    void halfATlsConfigurationIsRefused() {
        assertStartFails(new DgramdOptions().listen("127.0.0.1:0").tlsCert(resource("server.pem")),
                "TLS needs a certificate and its key: give both --tls-cert and --tls-key");
        assertStartFails(new DgramdOptions().listen("127.0.0.1:0").tlsKey(resource("server.key")),
                "TLS needs a certificate and its key: give both --tls-cert and --tls-key");
        assertStartFails(new DgramdOptions().listen("127.0.0.1:0").tlsClientCa(resource("ca.pem")),
                "--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
        assertStartFails(tlsOptions().listen("unix:/tmp/dgramd-tls-test.sock"),
                "TLS is for a HOST:PORT listen address, not unix:/tmp/dgramd-tls-test.sock (the socket file's "
                        + "mode guards it): drop --tls-cert, --tls-key and --tls-client-ca");
    }

    @Test
    void serverNameIsTheFirstDnsNameOfTheCertificate() throws IOException {
        assertThat(TlsFiles.serverName(TlsFiles.certificates(resource("server.pem"), "test").get(0)))
                .isEqualTo("localhost");
        assertThat(TlsFiles.serverName(TlsFiles.certificates(resource("alice.pem"), "test").get(0)))
                .as("no alternative names: the CN").isEqualTo("alice");
    }

    private static void assertStartFails(DgramdOptions options, String message) {
        assertThatThrownBy(() -> Dgramd.start(options).close()).isInstanceOf(IOException.class).hasMessage(message);
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }
}
