package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.udp.Transport;
import dev.dgramd.daemon.warmup.WarmUp;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon's warm-up: datagrams really go through the service both ways, within its bounds.
 * That it leaves no socket and no count behind is MetricsTest's (its daemon warms up first).
 */
class WarmUpTest {
    private Transport transport;

    @BeforeEach
    void start() {
        transport = Transport.start(1, true);
    }

    @AfterEach
    void stop() throws Exception {
        transport.shutdown().get();
    }

    @Test
    void datagramsGoThroughTheServiceBothWaysUpToTheCount() throws Exception {
        WarmUp.Result r = WarmUp.run(transport, Duration.ofSeconds(30), 1_000);
        // the sockets' share of the budget (12 s) is longer than their 2,000 cycles take
        assertThat(r.sockets()).isEqualTo(2_000);
        // whole batches of 128: the count is reached within one batch, long before the budget
        assertThat(r.sent()).isBetween(1_000L, 1_000L + 128);
        assertThat(r.received()).isPositive().isLessThanOrEqualTo(r.sent());
        assertThat(r.took()).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void theBudgetEndsIt() throws Exception {
        WarmUp.Result r = WarmUp.run(transport, Duration.ofMillis(200), Long.MAX_VALUE);
        assertThat(r.sent()).isPositive(); // one batch at least
        assertThat(r.sockets()).isLessThan(2_000);
        assertThat(r.took()).isLessThan(Duration.ofSeconds(10)); // 200 ms and the socket's close
    }

    @Test
    void theOptionIsBounded() {
        assertThat(new DgramdOptions().warmUp()).isZero();
        assertThat(new DgramdOptions().warmUp(Duration.ofSeconds(2)).warmUp()).isEqualTo(Duration.ofSeconds(2));
        assertThatThrownBy(() -> new DgramdOptions().warmUp(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DgramdOptions().warmUp(Duration.ofMinutes(2)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
