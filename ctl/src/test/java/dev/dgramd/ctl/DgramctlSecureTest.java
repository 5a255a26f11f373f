package dev.dgramd.ctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.daemon.policy.PolicyException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * dgramctl, in-process, against real daemons that want a bearer token, TLS, mutual TLS, or listen on a Unix domain
 * socket.
 */
class DgramctlSecureTest {
    /** dgramctl speaks to the Admin service, which an authenticating daemon opens to the policy's admins only. */
    private static final Policy ALICE_IS_ADMIN = aliceIsAdmin();

    private static Policy aliceIsAdmin() {
        try {
            return Policy.parse("admins: [alice]", "ctl-test-policy");
        } catch (PolicyException e) {
            throw new AssertionError(e);
        }
    }

    private static final Path AUTH = Path.of("..", "daemon", "src", "test", "resources", "auth");
    private static final Path CA = AUTH.resolve("ca.pem");
    private static final Path SERVER_CERT = AUTH.resolve("server.pem");
    private static final Path SERVER_KEY = AUTH.resolve("server.key");
    private static final Path ALICE_CERT = AUTH.resolve("alice.pem");
    private static final Path ALICE_KEY = AUTH.resolve("alice.key");
    private static final String TOKEN = "alice-token-0123456789";
    private static final Duration BOUND = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private Dgramd daemon;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void lsWithTheTokenFromTheOptionTheFileOrTheEnvironment() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().policy(ALICE_IS_ADMIN).listen("127.0.0.1:0").tokensFile(tokens()));

        Run option = ctl(Map.of(), "ls", "--token", TOKEN);
        assertThat(option.code).as(option.err).isZero();
        assertThat(option.out).startsWith("ID");

        Path file = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        Run fromFile = ctl(Map.of(), "ls", "--token-file", file.toString());
        assertThat(fromFile.code).as(fromFile.err).isZero();

        Run fromEnv = ctl(Map.of("DGRAMD_TOKEN", TOKEN), "ls");
        assertThat(fromEnv.code).as(fromEnv.err).isZero();
    }

    @Test
    void lsWithoutOrWithAWrongTokenExitsOneSayingUnauthenticated() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().policy(ALICE_IS_ADMIN).listen("127.0.0.1:0").tokensFile(tokens()));

        Run none = ctl(Map.of(), "ls");
        assertThat(none.code).isEqualTo(1);
        assertThat(none.err).startsWith("dgramctl: UNAUTHENTICATED").contains("--token-file", "DGRAMD_TOKEN");
        assertThat(none.out).isEmpty();

        Run wrong = ctl(Map.of(), "ls", "--token", "mallory-token-0123456789");
        assertThat(wrong.code).isEqualTo(1);
        assertThat(wrong.err).startsWith("dgramctl: UNAUTHENTICATED").doesNotContain("mallory-token-0123456789");

        // --token wins over the environment
        Run overridden = ctl(Map.of("DGRAMD_TOKEN", TOKEN), "ls", "--token", "mallory-token-0123456789");
        assertThat(overridden.code).isEqualTo(1);
    }

    @Test
    void tokenOptionsThatCannotBeUsedAreUsageErrors() throws IOException {
        Path file = Files.writeString(dir.resolve("token"), TOKEN);
        Run both = ctl(Map.of(), "ls", "--target", "127.0.0.1:1", "--token", TOKEN, "--token-file", file.toString());
        assertThat(both.code).isEqualTo(2);
        assertThat(both.err).contains("--token or --token-file, not both");

        Path missing = dir.resolve("no-such-token");
        Run unreadable = ctl(Map.of(), "ls", "--target", "127.0.0.1:1", "--token-file", missing.toString());
        assertThat(unreadable.code).isEqualTo(2);
        assertThat(unreadable.err).contains(missing.toString());

        Path twoWords = Files.writeString(dir.resolve("two"), "s3cret alice\n");
        Run notAToken = ctl(Map.of(), "ls", "--target", "127.0.0.1:1", "--token-file", twoWords.toString());
        assertThat(notAToken.code).isEqualTo(2);
        assertThat(notAToken.err).contains(twoWords.toString()).doesNotContain("s3cret");
    }

    @Test
    void lsOverTlsAndMutualTls() throws IOException {
        daemon = Dgramd.start(new DgramdOptions().policy(ALICE_IS_ADMIN).listen("127.0.0.1:0").tlsCert(SERVER_CERT).tlsKey(SERVER_KEY)
                .tlsClientCa(CA));

        Run alice = ctl(Map.of(), "ls", "--tls-ca", CA.toString(), "--tls-cert", ALICE_CERT.toString(),
                "--tls-key", ALICE_KEY.toString());
        assertThat(alice.code).as(alice.err).isZero();
        assertThat(alice.out).startsWith("ID");

        Run noCert = ctl(Map.of(), "ls", "--tls-ca", CA.toString());
        assertThat(noCert.code).isEqualTo(1);
        assertThat(noCert.err).startsWith("dgramctl: UNAUTHENTICATED").contains("--tls-cert and --tls-key");

        Run plaintext = ctl(Map.of(), "ls");
        assertThat(plaintext.code).isEqualTo(1);
        assertThat(plaintext.err).startsWith("dgramctl: UNAVAILABLE");
    }

    @Test
    void tlsOptionsThatCannotBeUsedAreUsageErrors() {
        Run certOnly = ctl(Map.of(), "ls", "--target", "127.0.0.1:1", "--tls-cert", ALICE_CERT.toString());
        assertThat(certOnly.code).isEqualTo(2);
        assertThat(certOnly.err).contains("--tls-cert and --tls-key go together");

        Path missing = dir.resolve("no-such-ca.pem");
        Run badCa = ctl(Map.of(), "ls", "--target", "127.0.0.1:1", "--tls-ca", missing.toString());
        assertThat(badCa.code).isEqualTo(2);
        assertThat(badCa.err).contains(missing.toString());
    }

    @Test
    void lsOverAUnixDomainSocket() throws IOException {
        Path sock = dir.resolve("dgramd.sock").toAbsolutePath();
        daemon = Dgramd.start(new DgramdOptions().policy(ALICE_IS_ADMIN).listen("unix:" + sock).tokensFile(tokens()));
        Run r = run(Map.of("DGRAMD_TOKEN", TOKEN), "ls", "--target", "unix:" + sock);
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).startsWith("ID");
        Run health = run(Map.of("DGRAMD_TARGET", "unix://" + sock, "DGRAMD_TOKEN", TOKEN), "health");
        assertThat(health.code).as(health.err + health.out).isZero();
    }

    @Test
    void helpShowsTheSecurityOptions() {
        Run r = run(Map.of(), "--help");
        assertThat(r.code).isZero();
        assertThat(r.out).contains("--token=TOKEN", "--token-file=FILE", "DGRAMD_TOKEN", "--tls-ca=FILE",
                "--tls-cert=FILE", "--tls-key=FILE", "unix:");
    }

    // ---------------------------------------------------------------- helpers

    private record Run(int code, String out, String err) {}

    /** The daemon's tokens file, readable by its owner only (as the daemon wants it). */
    private Path tokens() throws IOException {
        Path file = Files.writeString(dir.resolve("tokens"), TOKEN + " alice\n");
        return Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    /** dgramctl against this test's daemon (--target appended). */
    private Run ctl(Map<String, String> env, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--target")) {
            all.add("--target");
            all.add(daemon.target());
        }
        all.add("--timeout");
        all.add("5");
        return run(env, all.toArray(String[]::new));
    }

    private static Run run(Map<String, String> env, String... args) {
        return assertTimeoutPreemptively(BOUND, () -> {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine commandLine = Dgramctl.commandLine(env);
            commandLine.setOut(new PrintWriter(out, true));
            commandLine.setErr(new PrintWriter(err, true));
            int code = commandLine.execute(args);
            return new Run(code, out.toString(), err.toString());
        });
    }
}
