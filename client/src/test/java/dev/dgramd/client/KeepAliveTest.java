package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The client's keepalive pings (issue 15): with its defaults (a ping after 10 s without hearing from
 * the daemon) a daemon on its default {@code --permit-keepalive-time} (5 s) accepts them, while a
 * daemon that permits one ping a minute sends GOAWAY {@code too_many_pings} at the third, which ends
 * the client's sockets. Both run side by side, so the accepted client is watched for exactly as long
 * as the refused one took to be refused (20 to 30 s: gRPC's client pings at most every 10 s and a
 * daemon forgives an early ping or two). Neither daemon pings its clients, so the pings are the client's.
 */
class KeepAliveTest {
    private static final long REFUSAL_SECONDS = 60;

    @Test
    void theDaemonAcceptsTheClientsDefaultKeepalivePings() throws Exception {
        DgramdOptions quiet = new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll())
                .keepAliveTime(Duration.ZERO);
        assertThat(ClientOptions.DEFAULT_KEEPALIVE_TIME).isGreaterThanOrEqualTo(DgramdOptions.DEFAULT_PERMIT_KEEPALIVE_TIME);
        try (Dgramd accepting = Dgramd.start(quiet);
             Dgramd strict = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll())
                     .keepAliveTime(Duration.ZERO).permitKeepAliveTime(Duration.ofMinutes(1)));
             DgramClient acceptedClient = DgramClient.connect(new ClientOptions().target(accepting.target()));
             DgramClient refusedClient = DgramClient.connect(new ClientOptions().target(strict.target()))) {
            DaemonGoneTest.Recorder accepted = new DaemonGoneTest.Recorder(acceptedClient.createSocket("udp4"));
            DaemonGoneTest.Recorder refused = new DaemonGoneTest.Recorder(refusedClient.createSocket("udp4"));
            int port = DaemonFixture.bound(accepted.socket, "127.0.0.1");
            DaemonFixture.bound(refused.socket, "127.0.0.1");

            // Idle: nothing but pings crosses either connection until the strict daemon says GOAWAY.
            refused.closed.get(REFUSAL_SECONDS, TimeUnit.SECONDS);
            assertThat(refused.tail()).containsExactly("error:" + DgramException.ERR_DGRAMD_UNAVAILABLE, "close");

            assertThat(accepted.tail()).as("events of the client the daemon accepts").isEmpty();
            CompletableFuture<String> echo = new CompletableFuture<>();
            accepted.socket.on("message", (msg, rinfo) -> echo.complete(new String(msg, StandardCharsets.UTF_8)));
            accepted.socket.send("still here".getBytes(StandardCharsets.UTF_8), port, "127.0.0.1");
            assertThat(DaemonFixture.await(echo)).isEqualTo("still here");
            accepted.socket.close();
        }
    }
}
