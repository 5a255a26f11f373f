package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.SECONDS;
import static dev.dgramd.daemon.auth.AuthTestSupport.WHOAMI;
import static dev.dgramd.daemon.auth.AuthTestSupport.createAndCloseSocket;
import static dev.dgramd.daemon.auth.AuthTestSupport.failsWith;
import static dev.dgramd.daemon.auth.AuthTestSupport.resource;
import static dev.dgramd.daemon.auth.AuthTestSupport.tls;
import static dev.dgramd.daemon.auth.AuthTestSupport.tlsOptions;
import static dev.dgramd.daemon.auth.AuthTestSupport.tlsPresenting;
import static dev.dgramd.daemon.auth.AuthTestSupport.whoami;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.auth.AuthTestSupport.LogCapture;
import dev.dgramd.daemon.auth.AuthTestSupport.WhoamiServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Mutual TLS: with --tls-client-ca, Dgram and Admin calls need a client certificate that the CA
 * signed, and the caller's principal is its CN; health needs none. The principal is observed through
 * a test-only service wired as the daemon wires its own ({@link WhoamiServer}); the daemon itself is
 * checked end to end with real Dgram calls.
 */
class MutualTlsTest {
    private static Dgramd daemon;
    private static WhoamiServer whoamiServer;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        daemon = Dgramd.start(tlsOptions().tlsClientCa(resource("ca.pem")));
        whoamiServer = new WhoamiServer(tlsOptions().tlsClientCa(resource("ca.pem")), new dev.dgramd.daemon.grpc.AdminAccess());
    }

    @AfterAll
    static void stop() throws InterruptedException {
        daemon.close();
        whoamiServer.close();
    }

    @AfterEach
    void closeChannels() throws InterruptedException {
        for (ManagedChannel c : channels) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aliceCertificateMakesThePrincipalAlice() {
        assertThat(whoami(channel(whoamiServer.target(), "alice"), WHOAMI)).isEqualTo("alice");
        createAndCloseSocket(channel(daemon.target(), "alice"));
    }

    @Test
    void withoutAClientCertificateCallsAreUnauthenticatedButHealthAnswers() throws Exception {
        try (LogCapture log = new LogCapture(Authenticator.class)) {
            ManagedChannel anonymous = channel(daemon.target(), null);
            Status status = failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(anonymous));
            assertThat(status.getDescription()).isEqualTo("client certificate required");
            assertThat(log.await(m -> m.startsWith("audit: rejected dgramd.v1.Dgram/CreateSocket from /127.0.0.1:")))
                    .satisfies(e -> assertThat(e.getFormattedMessage()).endsWith(": no client certificate"));

            assertThat(HealthGrpc.newBlockingStub(anonymous).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
        }
        failsWith(Status.Code.UNAUTHENTICATED, () -> whoami(channel(whoamiServer.target(), null), WHOAMI));
    }

    @Test
    void aCertificateThatAnotherCaSignedGetsNoPrincipal() {
        // stranger.pem says CN=alice too, but other-ca signed it.
        ManagedChannel toDaemon = channel(daemon.target(), "stranger");
        assertThatThrownBy(() -> createAndCloseSocket(toDaemon)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAUTHENTICATED, Status.Code.UNAVAILABLE));
        ManagedChannel toWhoami = channel(whoamiServer.target(), "stranger");
        assertThatThrownBy(() -> whoami(toWhoami, WHOAMI)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAUTHENTICATED, Status.Code.UNAVAILABLE));
    }

    @Test
    void aPresentedCertificateThatAnotherCaSignedFailsTheHandshake() throws Exception {
        ManagedChannel toDaemon = tlsPresenting(daemon.target(), "ca.pem", "stranger.pem", "stranger.key");
        ManagedChannel toWhoami = tlsPresenting(whoamiServer.target(), "ca.pem", "stranger.pem", "stranger.key");
        channels.add(toDaemon);
        channels.add(toWhoami);
        failsWith(Status.Code.UNAVAILABLE, () -> createAndCloseSocket(toDaemon));
        failsWith(Status.Code.UNAVAILABLE, () -> whoami(toWhoami, WHOAMI));

        ManagedChannel alice = tlsPresenting(whoamiServer.target(), "ca.pem", "alice.pem", "alice.key");
        channels.add(alice);
        assertThat(whoami(alice, WHOAMI)).as("the same client with a good certificate").isEqualTo("alice");
    }

    @Test
    void thePrincipalIsTheMostSpecificCnOrElseTheWholeDn() {
        assertThat(Authenticator.principalOf("CN=alice,O=dgramd tests")).isEqualTo("alice");
        assertThat(Authenticator.principalOf("CN=alice,OU=team,CN=example.org")).isEqualTo("alice");
        assertThat(Authenticator.principalOf("cn=Bob Smith,O=x\\, Inc.,C=DE")).isEqualTo("Bob Smith");
        assertThat(Authenticator.principalOf("OU=robots,O=dgramd tests")).isEqualTo("OU=robots,O=dgramd tests");
    }

    private ManagedChannel channel(String target, String client) {
        ManagedChannel c = tls(target, "ca.pem", client == null ? null : client + ".pem",
                client == null ? null : client + ".key");
        channels.add(c);
        return c;
    }
}
