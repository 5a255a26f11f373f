package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against real daemons started with bearer tokens, TLS, mutual TLS and a Unix domain
 * socket listener: what works gives a full datagram round trip through the daemon; what is
 * refused fails the first call with a clear error, within a bound.
 */
class SecureConnectTest {
    /**
     * The daemon module's test certificates (see its README there): the CA, the server for
     * 127.0.0.1/localhost, alice (client), another CA, and "stranger" (a client signed by it).
     */
    static final Path AUTH = Path.of("..", "daemon", "src", "test", "resources", "auth");
    static final Path CA = AUTH.resolve("ca.pem");
    static final Path SERVER_CERT = AUTH.resolve("server.pem");
    static final Path SERVER_KEY = AUTH.resolve("server.key");
    static final Path ALICE_CERT = AUTH.resolve("alice.pem");
    static final Path ALICE_KEY = AUTH.resolve("alice.key");
    static final Path OTHER_CA = AUTH.resolve("other-ca.pem");
    static final Path STRANGER_CERT = AUTH.resolve("stranger.pem");
    static final Path STRANGER_KEY = AUTH.resolve("stranger.key");

    /** Refusals must come well before this: no call may hang. */
    static final Duration BOUND = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    private Dgramd daemon;
    private DgramClient dgram;

    @AfterEach
    void stop() {
        if (dgram != null) {
            dgram.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    // ---------------------------------------------------------------- bearer tokens

    @Test
    @DisplayName("token: the right one works over plaintext loopback (a full round trip)")
    void goodToken() throws IOException {
        daemon = Dgramd.start(tokenDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()).token("alice-token-0123456789"));
        roundTrip(dgram);
    }

    @Test
    @DisplayName("token: none at all fails the first call with 'error' ERR_DGRAMD_UNAUTHENTICATED")
    void missingToken() throws IOException {
        daemon = Dgramd.start(tokenDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()));
        DgramException e = refused(dgram);
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
        assertThat(e.getMessage()).contains("UNAUTHENTICATED", "token");
    }

    @Test
    @DisplayName("token: removed from the daemon's tokens file, an open socket emits 'error' ERR_DGRAMD_UNAUTHENTICATED, then 'close'")
    void revokedToken() throws IOException {
        daemon = Dgramd.start(tokenDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()).token("alice-token-0123456789"));
        DaemonGoneTest.Recorder alice = new DaemonGoneTest.Recorder(dgram.createSocket("udp4"));
        DaemonFixture.bound(alice.socket, "127.0.0.1");
        Path next = Files.writeString(dir.resolve("tokens.next"), "bob-token-0123456789 bob\n", StandardCharsets.UTF_8);
        Files.move(next, dir.resolve("tokens"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertTimeoutPreemptively(BOUND, () -> alice.closed.join());
        assertThat(alice.tail()).containsExactly("error:" + DgramException.ERR_DGRAMD_UNAUTHENTICATED, "close");
    }

    @Test
    @DisplayName("token: an unknown one fails the first call with 'error' ERR_DGRAMD_UNAUTHENTICATED")
    void wrongToken() throws IOException {
        daemon = Dgramd.start(tokenDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()).token("mallory-token-0123456789"));
        assertThat(refused(dgram).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
        // the same client keeps refusing, it does not hang or change its mind
        assertThat(refused(dgram).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
    }

    @Test
    @DisplayName("token: a malformed one is refused by ClientOptions, and the message does not echo it")
    void malformedToken() {
        assertThatThrownBy(() -> new ClientOptions().token("two words"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("two words");
        assertThatThrownBy(() -> new ClientOptions().token(""))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientOptions().token("line\nbreak"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---------------------------------------------------------------- TLS

    @Test
    @DisplayName("TLS: trusting the test CA, the daemon's certificate for 127.0.0.1 is accepted")
    void tlsWithTheTestCa() throws IOException {
        daemon = Dgramd.start(tlsDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()).tls(CA));
        roundTrip(dgram);
        try (DgramClient onLoop = DgramClient.connect(options().target(daemon.target()).tls(CA)
                .listenersOnEventLoop(true))) {
            roundTrip(onLoop); // TLS on the channel's own event loop group
        }
    }

    @Test
    @DisplayName("TLS: tlsAuthority checks another name: localhost passes, a name not in the certificate fails")
    void tlsAuthority() throws IOException {
        daemon = Dgramd.start(tlsDaemon());
        try (DgramClient localhost = DgramClient.connect(
                options().target(daemon.target()).tls(CA).tlsAuthority("localhost"))) {
            roundTrip(localhost);
        }
        dgram = DgramClient.connect(
                options().target(daemon.target()).tls(CA).tlsAuthority("not-dgramd.example"));
        DgramException e = refused(dgram);
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
        assertThat(e.getMessage()).contains("TLS handshake failed");
    }

    @Test
    @DisplayName("TLS: a daemon certificate from an untrusted CA fails with ERR_DGRAMD_UNAVAILABLE naming TLS")
    void tlsUntrusted() throws IOException {
        daemon = Dgramd.start(tlsDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()).tls(OTHER_CA));
        DgramException e = refused(dgram);
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
        assertThat(e.getMessage()).contains("TLS handshake failed");
    }

    @Test
    @DisplayName("TLS: a plaintext client of a TLS daemon fails with ERR_DGRAMD_UNAVAILABLE, not a hang")
    void plaintextClientOfTlsDaemon() throws IOException {
        daemon = Dgramd.start(tlsDaemon());
        dgram = DgramClient.connect(options().target(daemon.target()));
        assertThat(refused(dgram).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
    }

    @Test
    @DisplayName("TLS and a token together")
    void tlsAndToken() throws IOException {
        daemon = Dgramd.start(tlsDaemon().tokensFile(tokensFile()));
        dgram = DgramClient.connect(options().target(daemon.target()).tls(CA).token("alice-token-0123456789"));
        roundTrip(dgram);
        try (DgramClient anonymous = DgramClient.connect(options().target(daemon.target()).tls(CA))) {
            assertThat(refused(anonymous).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
        }
    }

    // ---------------------------------------------------------------- mutual TLS

    @Test
    @DisplayName("mTLS: alice's certificate is accepted")
    void mtlsAlice() throws IOException {
        daemon = Dgramd.start(tlsDaemon().tlsClientCa(CA));
        dgram = DgramClient.connect(
                options().target(daemon.target()).tls(CA).tlsClientCert(ALICE_CERT, ALICE_KEY));
        roundTrip(dgram);
    }

    @Test
    @DisplayName("mTLS: without a client certificate the first call fails with ERR_DGRAMD_UNAUTHENTICATED")
    void mtlsWithoutCertificate() throws IOException {
        daemon = Dgramd.start(tlsDaemon().tlsClientCa(CA));
        dgram = DgramClient.connect(options().target(daemon.target()).tls(CA));
        DgramException e = refused(dgram);
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
        assertThat(e.getMessage()).contains("client certificate");
    }

    @Test
    @DisplayName("mTLS: a client certificate of another CA fails the handshake: ERR_DGRAMD_UNAVAILABLE naming TLS")
    void mtlsOtherCa() throws IOException {
        daemon = Dgramd.start(tlsDaemon().tlsClientCa(CA));
        dgram = DgramClient.connect(
                options().target(daemon.target()).tls(CA).tlsClientCert(STRANGER_CERT, STRANGER_KEY));
        DgramException e = refused(dgram);
        assertThat(e.code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
        assertThat(e.getMessage()).contains("TLS handshake failed");
    }

    // ---------------------------------------------------------------- Unix domain socket

    @Test
    @DisplayName("UDS: unix:/path and unix:///path both reach the daemon; a full round trip")
    void unixDomainSocket() throws IOException {
        Path sock = dir.resolve("dgramd.sock").toAbsolutePath();
        daemon = Dgramd.start(new DgramdOptions().listen("unix:" + sock));
        dgram = DgramClient.connect(options().target("unix:" + sock));
        roundTrip(dgram);
        try (DgramClient triple = DgramClient.connect(options().target("unix://" + sock))) {
            roundTrip(triple);
        }
        try (DgramClient onLoop = DgramClient.connect(options().target("unix:" + sock).listenersOnEventLoop(true))) {
            roundTrip(onLoop); // the channel's own event loop group, with the unix channel type
        }
    }

    @Test
    @DisplayName("UDS: no daemon at the path fails the first call with 'error' ERR_DGRAMD_UNAVAILABLE")
    void unixDomainSocketNobodyHome() {
        dgram = DgramClient.connect(options().target("unix:" + dir.resolve("nobody.sock").toAbsolutePath()));
        assertThat(refused(dgram).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAVAILABLE);
    }

    @Test
    @DisplayName("UDS with a token")
    void unixDomainSocketWithToken() throws IOException {
        Path sock = dir.resolve("dgramd.sock").toAbsolutePath();
        daemon = Dgramd.start(new DgramdOptions().listen("unix:" + sock).tokensFile(tokensFile()));
        dgram = DgramClient.connect(options().target("unix:" + sock).token("alice-token-0123456789"));
        roundTrip(dgram);
        try (DgramClient anonymous = DgramClient.connect(options().target("unix:" + sock))) {
            assertThat(refused(anonymous).code()).isEqualTo(DgramException.ERR_DGRAMD_UNAUTHENTICATED);
        }
    }

    // ---------------------------------------------------------------- PERMISSION_DENIED

    @Test
    @DisplayName("PERMISSION_DENIED with ErrorInfo EACCES (as policy refusals come) is Node's EACCES")
    void permissionDeniedIsEacces() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"));
        dgram = DgramClient.connect(options().target(daemon.target()));
        try (Socket s = dgram.createSocket("udp4")) {
            DaemonFixture.bound(s, "127.0.0.1");
            // a broadcast without setBroadcast(true): the daemon answers PERMISSION_DENIED, EACCES
            CompletableFuture<DgramException> sent = new CompletableFuture<>();
            s.send("x", 9, "127.255.255.255", (error, bytes) -> sent.complete(error));
            DgramException e = DaemonFixture.await(sent);
            assertThat(e).isNotNull();
            assertThat(e.code()).isEqualTo("EACCES");
            assertThat(e.errno()).isEqualTo(-13);
            assertThat(e.syscall()).isEqualTo("send");
        }
    }

    // ---------------------------------------------------------------- bad files, at connect

    @Test
    @DisplayName("bad PEM files fail connect with IllegalArgumentException naming the file")
    void badFiles() throws IOException {
        Path missing = dir.resolve("missing.pem");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        String target = "127.0.0.1:1";

        assertThatThrownBy(() -> DgramClient.connect(options().target(target).tls(missing)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> DgramClient.connect(options().target(target).tls(garbage)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(garbage.toString());
        assertThatThrownBy(() -> DgramClient.connect(options().target(target).tls(empty)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("no certificate");
        assertThatThrownBy(() -> DgramClient.connect(
                options().target(target).tls(CA).tlsClientCert(garbage, ALICE_KEY)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(garbage.toString());
        // a certificate where the key should be
        assertThatThrownBy(() -> DgramClient.connect(
                options().target(target).tls(CA).tlsClientCert(ALICE_CERT, ALICE_CERT)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(ALICE_CERT.toString()).hasMessageContaining("private key");
        Path pkcs1 = AUTH.resolve("server-pkcs1.key");
        assertThatThrownBy(() -> DgramClient.connect(
                options().target(target).tls(CA).tlsClientCert(SERVER_CERT, pkcs1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(pkcs1.toString()).hasMessageContaining("PKCS#8");
        assertThatThrownBy(() -> DgramClient.connect(
                options().target(target).tls(CA).tlsClientCert(ALICE_CERT, SERVER_KEY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(SERVER_KEY.toString()).hasMessageContaining("not the key of");
        assertThatThrownBy(() -> DgramClient.connect(
                options().target(target).tls(CA).tlsClientCert(ALICE_CERT, missing)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(missing.toString());
    }

    // ---------------------------------------------------------------- helpers

    private static ClientOptions options() {
        return new ClientOptions().callTimeout(Duration.ofSeconds(5));
    }

    /** The daemon's tokens file, readable by its owner only (as the daemon wants it). */
    private Path tokensFile() throws IOException {
        Path file = Files.writeString(dir.resolve("tokens"),
                "alice-token-0123456789 alice\nbob-token-0123456789 bob\n", StandardCharsets.UTF_8);
        return Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    private DgramdOptions tokenDaemon() throws IOException {
        return new DgramdOptions().listen("127.0.0.1:0").tokensFile(tokensFile());
    }

    private static DgramdOptions tlsDaemon() {
        return new DgramdOptions().listen("127.0.0.1:0").tlsCert(SERVER_CERT).tlsKey(SERVER_KEY);
    }

    /**
     * The 'error' of the client's first socket, whose bind is its first call to the daemon; it must
     * come within {@link #BOUND}, and 'close' after it.
     */
    private static DgramException refused(DgramClient client) {
        return assertTimeoutPreemptively(BOUND, () -> DaemonFixture.firstCallRefused(client));
    }

    /** A socket bound on loopback sends a datagram to itself through the daemon and receives it. */
    private static void roundTrip(DgramClient client) {
        assertTimeoutPreemptively(BOUND, () -> {
            try (Socket s = client.createSocket("udp4")) {
                CompletableFuture<String> received = new CompletableFuture<>();
                s.on("message", (msg, rinfo) ->
                        received.complete(new String(msg, StandardCharsets.UTF_8) + " from " + rinfo.port()));
                s.on("error", received::completeExceptionally);
                int port = DaemonFixture.bound(s, "127.0.0.1");
                s.send("ping", port, "127.0.0.1");
                assertThat(DaemonFixture.await(received)).isEqualTo("ping from " + port);
            }
        });
    }
}
