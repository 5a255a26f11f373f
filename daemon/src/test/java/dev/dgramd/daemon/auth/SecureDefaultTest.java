package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.createAndCloseSocket;
import static dev.dgramd.daemon.auth.AuthTestSupport.plaintext;
import static dev.dgramd.daemon.auth.AuthTestSupport.tls;
import static dev.dgramd.daemon.auth.AuthTestSupport.tlsOptions;
import static dev.dgramd.daemon.auth.AuthTestSupport.withToken;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.auth.AuthTestSupport.LogCapture;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secure by default: no unauthenticated plaintext beyond loopback unless asked for with insecure. */
class SecureDefaultTest {
    @TempDir
    Path dir;

    @Test
    void aWildcardAddressWithoutTlsOrTokensIsRefusedInOneLine() {
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("0.0.0.0:0")).close())
                .isInstanceOf(IOException.class)
                .hasMessage("refusing to listen on 0.0.0.0:0 without TLS or a tokens file; give --tls-cert/--tls-key "
                        + "or --tokens-file, or --insecure to serve unauthenticated plaintext");
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("[::]:0")).close())
                .isInstanceOf(IOException.class).hasMessageStartingWith("refusing to listen on [::]:0 without TLS");
    }

    @Test
    void loopbackNeedsNothingElseEverythingDoes() {
        for (String loopback : List.of("127.0.0.1:50051", "127.0.0.2:1", "127.255.255.254:1", "localhost:50051",
                "[::1]:50051", "unix:/run/dgramd.sock", "[::ffff:127.0.0.1]:1")) {
            assertThat(Authentication.refusal(new DgramdOptions().listen(loopback).authConfig())).as(loopback).isNull();
        }
        for (String beyond : List.of("0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051", "192.168.0.1:1", "[fe80::1]:1",
                "128.0.0.1:1")) {
            assertThat(Authentication.refusal(new DgramdOptions().listen(beyond).authConfig())).as(beyond)
                    .startsWith("refusing to listen on " + beyond + " without TLS or a tokens file");
            assertThat(Authentication.refusal(new DgramdOptions().listen(beyond).insecure(true).authConfig())).as(beyond).isNull();
            assertThat(Authentication.refusal(new DgramdOptions().listen(beyond).tokensFile(Path.of("t")).authConfig())).isNull();
            assertThat(Authentication.refusal(tlsOptions().listen(beyond).authConfig())).isNull();
        }
    }

    @Test
    void insecureStartsOnTheWildcardAddressWithAWarning() throws Exception {
        try (LogCapture log = new LogCapture(Authentication.class);
             Dgramd daemon = Dgramd.start(new DgramdOptions().listen("0.0.0.0:0").insecure(true))) {
            ILoggingEvent warning = log.await(m -> m.contains("--insecure"));
            assertThat(warning.getLevel()).isEqualTo(Level.WARN);
            assertThat(warning.getFormattedMessage()).isEqualTo("--insecure: unauthenticated plaintext on 0.0.0.0:0: "
                    + "whoever reaches it may use every socket and the Admin service");
            ManagedChannel channel = plaintext("127.0.0.1:" + daemon.port());
            try {
                createAndCloseSocket(channel);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void tokensOrTlsLetTheDaemonListenOnTheWildcardAddress() throws Exception {
        Path tokens = Files.write(dir.resolve("tokens"), List.of("wildcard-0123456789 dave"));
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("0.0.0.0:0").tokensFile(tokens))) {
            ManagedChannel channel = plaintext("127.0.0.1:" + daemon.port());
            try {
                createAndCloseSocket(withToken(channel, "wildcard-0123456789"));
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        try (LogCapture log = new LogCapture(Authentication.class);
             Dgramd daemon = Dgramd.start(tlsOptions().listen("0.0.0.0:0"))) {
            assertThat(log.await(m -> m.startsWith("TLS without --tls-client-ca or --tokens-file: callers are not authenticated on 0.0.0.0:0")).getLevel())
                    .isEqualTo(Level.WARN);
            ManagedChannel channel = tls("127.0.0.1:" + daemon.port(), "ca.pem", null, null);
            try {
                createAndCloseSocket(channel);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
