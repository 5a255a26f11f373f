package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** ClientOptions: its defaults, its checks, and a copy that stands on its own. */
class ClientOptionsTest {
    @Test
    void defaults() {
        ClientOptions o = new ClientOptions();
        assertThat(o.target()).isEqualTo(ClientOptions.DEFAULT_TARGET);
        assertThat(o.listenersOnEventLoop()).isEqualTo(ClientOptions.DEFAULT_LISTENERS_ON_EVENT_LOOP).isFalse();
        assertThat(o.restartTimeout()).isEqualTo(ClientOptions.DEFAULT_RESTART_TIMEOUT);
        assertThat(o.keepAliveTime()).isEqualTo(ClientOptions.DEFAULT_KEEPALIVE_TIME);
    }

    @Test
    void aCopyHasEverySettingAndChangesAlone() {
        ClientOptions o = new ClientOptions().target("unix:/run/dgramd.sock").maxPendingSendBytes(1 << 16)
                .maxPendingSendDatagrams(7).callTimeout(Duration.ofSeconds(3)).restartTimeout(Duration.ofSeconds(4))
                .eventBatchesInFlight(5).keepAliveTime(Duration.ofSeconds(20)).keepAliveTimeout(Duration.ofSeconds(6))
                .token("t0ken").tls(Path.of("ca.pem")).tlsClientCert(Path.of("c.pem"), Path.of("k.pem"))
                .tlsAuthority("localhost").listenersOnEventLoop(true);
        ClientOptions copy = new ClientOptions(o);
        assertThat(copy).usingRecursiveComparison().isEqualTo(o);
        copy.target("127.0.0.1:1").listenersOnEventLoop(false).maxPendingSendDatagrams(9);
        assertThat(o.target()).isEqualTo("unix:/run/dgramd.sock");
        assertThat(o.listenersOnEventLoop()).isTrue();
        assertThat(o.maxPendingSendDatagrams()).isEqualTo(7);
    }

    @Test
    void badValuesAreRefused() {
        assertThatThrownBy(() -> new ClientOptions().maxPendingSendBytes(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientOptions().eventBatchesInFlight(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientOptions().token("two words")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientOptions().restartTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
