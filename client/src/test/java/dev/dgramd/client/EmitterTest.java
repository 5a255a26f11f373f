package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Node's EventEmitter surface on Socket. */
class EmitterTest extends DaemonFixture {

    @Test
    @DisplayName("on/once/prepend/off/listenerCount/removeAllListeners/emit behave as Node's EventEmitter")
    void emitterSurface() {
        Socket s = udp4();
        List<String> calls = new CopyOnWriteArrayList<>();
        Runnable a = () -> calls.add("a");
        Runnable b = () -> calls.add("b");
        Runnable c = () -> calls.add("c");
        s.on("custom", a).once("custom", b).prependListener("custom", c);
        assertThat(s.listenerCount("custom")).isEqualTo(3);
        assertThat(s.emit("custom")).isTrue();
        assertThat(calls).containsExactly("c", "a", "b");
        assertThat(s.listenerCount("custom")).isEqualTo(2);
        calls.clear();
        s.prependOnceListener("custom", b);
        s.emit("custom");
        s.emit("custom");
        assertThat(calls).containsExactly("b", "c", "a", "c", "a");
        s.off("custom", c).removeListener("custom", a);
        assertThat(s.emit("custom")).isFalse();
        s.addListener("custom", a).addListener("other", b);
        s.removeAllListeners("custom");
        assertThat(s.listenerCount("custom")).isZero();
        assertThat(s.listenerCount("other")).isEqualTo(1);
        s.removeAllListeners();
        assertThat(s.listenerCount("other")).isZero();
    }

    @Test
    @DisplayName("emit('error') without listeners throws the error; with one, the listener gets it")
    void emitError() {
        Socket s = udp4();
        DgramException err = new DgramException("ECUSTOM", "custom");
        assertThat(thrown(() -> s.emit("error", err))).isSameAs(err);
        CompletableFuture<DgramException> got = new CompletableFuture<>();
        s.once("error", got::complete);
        assertThat(s.emit("error", err)).isTrue();
        assertThat(got).isCompletedWithValue(err);
        byte[] msg = {1};
        RemoteInfo rinfo = new RemoteInfo("127.0.0.1", "IPv4", 1, 1);
        CompletableFuture<RemoteInfo> m = new CompletableFuture<>();
        s.on("message", (data, r) -> m.complete(r));
        assertThat(s.emit("message", msg, rinfo)).isTrue();
        assertThat(m).isCompletedWithValue(rinfo);
    }

    @Test
    @DisplayName("listener types must fit the event; null listeners are rejected")
    void listenerTypes() {
        Socket s = udp4();
        assertCode(() -> s.on("listening", (ErrorListener) e -> { }), "ERR_INVALID_ARG_TYPE");
        assertCode(() -> s.on("error", (MessageListener) (m, r) -> { }), "ERR_INVALID_ARG_TYPE");
        assertCode(() -> s.on("message", (Runnable) null), "ERR_INVALID_ARG_TYPE");
        s.on("message", () -> { }); // a Runnable may ignore the arguments, as a JS function may
        assertThat(s.listenerCount("message")).isEqualTo(1);
    }

    @Test
    @DisplayName("test-dgram-createSocket-type.js: createSocket(type, listener) listens to 'message'")
    void createSocketWithListener() {
        CompletableFuture<byte[]> got = new CompletableFuture<>();
        Socket s = track(dgram.createSocket("udp4", (msg, rinfo) -> got.complete(msg)));
        assertThat(s.listenerCount("message")).isEqualTo(1);
        int port = bound(s, "127.0.0.1");
        s.send("hi", port, "127.0.0.1");
        assertThat(new String(await(got), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hi");
    }

    @Test
    @DisplayName("a throwing listener is logged; the next listener and later events still run")
    void throwingListener() {
        Socket s = udp4();
        CompletableFuture<Void> second = new CompletableFuture<>();
        CompletableFuture<Void> close = new CompletableFuture<>();
        s.on("listening", () -> {
            throw new IllegalStateException("boom (expected by the test)");
        });
        s.on("listening", () -> second.complete(null));
        s.on("close", () -> close.complete(null));
        s.bind(0, () -> s.close());
        await(second);
        await(close);
    }
}
