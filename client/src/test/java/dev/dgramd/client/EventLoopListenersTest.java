package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What {@link ClientOptions#listenersOnEventLoop} promises beyond Node's behaviour (which the
 * {@code *OnEventLoopTest} suites pin): the listeners run on the transport's event loop, and the
 * client never waits there. The client's send window is one datagram here, so that it is full
 * as soon as one datagram is unanswered.
 */
class EventLoopListenersTest extends DaemonFixture {
    @Override
    boolean listenersOnEventLoop() {
        return true;
    }

    @Override
    ClientOptions clientOptions(String target) {
        return super.clientOptions(target).maxPendingSendDatagrams(1);
    }

    @Test
    @DisplayName("on the event loop a getter throws ERR_DGRAMD_WOULD_BLOCK; a setter returns at once and applies in order")
    void gettersRefuseSettersDoNotWait() {
        Socket s = udp4();
        CompletableFuture<Object[]> seen = new CompletableFuture<>();
        s.bind(0, "127.0.0.1", () -> {
            String thread = Thread.currentThread().getName();
            DgramException getter = thrown(s::getRecvBufferSize);
            s.setRecvBufferSize(65536);
            int ttl = s.setTTL(7);
            seen.complete(new Object[] {thread, getter, ttl});
        });
        Object[] got = await(seen);
        assertThat((String) got[0]).startsWith("dgramd-client-loop-");
        assertThat(((DgramException) got[1]).code()).isEqualTo(DgramException.ERR_DGRAMD_WOULD_BLOCK);
        assertThat(((DgramException) got[1]).getMessage()).contains("getRecvBufferSize");
        assertThat(got[2]).isEqualTo(7);
        // from this thread the getter waits as usual, and sees what the listener set
        assertThat(s.getRecvBufferSize()).isIn(65536, 131072);
    }

    @Test
    @DisplayName("on the event loop a setter's failure arrives as 'error' instead of being thrown")
    void setterFailureIsEmitted() {
        Socket s = udp4();
        CompletableFuture<Integer> returned = new CompletableFuture<>();
        CompletableFuture<DgramException> error = new CompletableFuture<>();
        s.on("error", error::complete);
        s.bind(0, "127.0.0.1", () -> returned.complete(s.setTTL(1000)));
        assertThat(await(returned)).isEqualTo(1000);
        DgramException e = await(error);
        assertThat(e.code()).isEqualTo("EINVAL");
        assertThat(e.getMessage()).isEqualTo("setTTL EINVAL");
    }

    @Test
    @DisplayName("on the event loop a send never waits: with the window full it fails with ENOBUFS, to its callback or as 'error'")
    void sendWithFullWindowFails() {
        Socket target = udp4();
        int port = bound(target, "127.0.0.1");
        Socket s = udp4();
        CompletableFuture<Object[]> outcomes = new CompletableFuture<>();
        CompletableFuture<DgramException> error = new CompletableFuture<>();
        s.on("error", error::complete);
        s.bind(0, "127.0.0.1", () -> {
            CompletableFuture<DgramException> first = new CompletableFuture<>();
            CompletableFuture<DgramException> second = new CompletableFuture<>();
            s.send(new byte[8], port, "127.0.0.1", (e, bytes) -> first.complete(e));
            // the first holds the window's one place: its answer cannot come while this listener runs
            s.send(new byte[8], port, "127.0.0.1", (e, bytes) -> second.complete(e));
            s.send(new byte[8], port, "127.0.0.1"); // no callback: 'error'
            outcomes.complete(new Object[] {first, second});
        });
        Object[] f = await(outcomes);
        assertThat(await(future(f[0]))).isNull();
        DgramException full = await(future(f[1]));
        assertThat(full.code()).isEqualTo("ENOBUFS");
        assertThat(full.syscall()).isEqualTo("send");
        assertThat(full.getMessage()).startsWith("send ENOBUFS 127.0.0.1:" + port);
        assertThat(await(error).code()).isEqualTo("ENOBUFS");
        // once the listener returned, the window empties and sends go through again
        CompletableFuture<DgramException> later = new CompletableFuture<>();
        s.send(new byte[8], port, "127.0.0.1", (e, bytes) -> later.complete(e));
        assertThat(await(later)).isNull();
    }

    @SuppressWarnings("unchecked")
    private static CompletableFuture<DgramException> future(Object f) {
        return (CompletableFuture<DgramException>) f;
    }
}
