package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Ports of Node's connect tests (test/parallel/test-dgram-connect*.js). */
class ConnectConformanceTest extends DaemonFixture {
    static final int PORT = 12345;

    @Test
    @DisplayName("test-dgram-connect.js: connected: remoteAddress, IS_CONNECTED, disconnect, NOT_CONNECTED, reconnect")
    void connectLifecycle() {
        Socket client = udp4();
        CompletableFuture<Void> connected = new CompletableFuture<>();
        client.connect(PORT, () -> connected.complete(null));
        await(connected);
        AddressInfo remote = client.remoteAddress();
        assertThat(remote.port()).isEqualTo(PORT);
        assertThat(remote.address()).isEqualTo("127.0.0.1");
        assertThat(remote.family()).isEqualTo("IPv4");
        CompletableFuture<Void> notCalled = new CompletableFuture<>();
        DgramException again = thrown(() -> client.connect(PORT, () -> notCalled.complete(null)));
        assertThat(again.code()).isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        assertThat(again.getMessage()).isEqualTo("Already connected");
        client.disconnect();
        DgramException twice = thrown(client::disconnect);
        assertThat(twice.code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(twice.getMessage()).isEqualTo("Not connected");
        assertCode(client::remoteAddress, "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        CompletableFuture<Void> reconnected = new CompletableFuture<>();
        client.once("connect", () -> reconnected.complete(null));
        client.connect(PORT);
        await(reconnected);
        assertThat(client.remoteAddress().port()).isEqualTo(PORT);
        assertThat(notCalled).isNotDone();
    }

    @Test
    @DisplayName("test-dgram-connect.js: while connecting: connect throws IS_CONNECTED, disconnect NOT_CONNECTED; bad ports")
    void connectWhileConnectingAndBadPorts() {
        Socket client = udp4();
        for (int bad : new int[] {0, -1, 78960, 65536}) {
            DgramException e = thrown(() -> client.connect(bad));
            assertThat(e.code()).isEqualTo("ERR_SOCKET_BAD_PORT");
            assertThat(e.getMessage()).startsWith("Port should be > 0 and < 65536");
        }
        CompletableFuture<Void> connected = new CompletableFuture<>();
        client.connect(PORT, () -> connected.complete(null));
        assertCode(() -> client.connect(PORT), "ERR_SOCKET_DGRAM_IS_CONNECTED");
        try {
            client.disconnect();
            // unlike Node's, our connect may complete while this thread runs: then disconnect works
            client.connect(PORT);
        } catch (DgramException e) {
            assertThat(e.code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        }
        await(connected);
    }

    @Test
    @DisplayName("test-dgram-connect-send-callback-buffer.js: a connected send(buf, cb) reaches the peer")
    void connectSendCallbackBuffer() {
        Socket server = udp4();
        CompletableFuture<byte[]> got = new CompletableFuture<>();
        server.on("message", (msg, rinfo) -> got.complete(msg));
        int port = bound(server, "127.0.0.1");
        Socket client = udp4();
        CompletableFuture<Integer> bytes = new CompletableFuture<>();
        byte[] buf = new byte[256];
        client.connect(port, () -> client.send(buf, (err, n) -> {
            if (err != null) {
                bytes.completeExceptionally(err);
            } else {
                bytes.complete(n);
            }
        }));
        assertThat(await(bytes)).isEqualTo(256);
        assertThat(await(got)).hasSize(256);
    }

    @Test
    @DisplayName("test-dgram-connect-send-empty-buffer.js: a connected socket sends an empty datagram to itself")
    void connectSendEmptyBuffer() {
        Socket client = udp4();
        CompletableFuture<byte[]> got = new CompletableFuture<>();
        client.on("message", (msg, rinfo) -> got.complete(msg));
        int port = bound(client, null);
        CompletableFuture<Integer> bytes = new CompletableFuture<>();
        client.connect(port, () -> client.send(new byte[0], 0, 0, (err, n) -> {
            if (err != null) {
                bytes.completeExceptionally(err);
            } else {
                bytes.complete(n);
            }
        }));
        assertThat(await(bytes)).isZero();
        assertThat(await(got)).isEmpty();
    }

    @Test
    @DisplayName("test-dgram-connect-send-callback-multi-buffer.js: an array of buffers on a connected socket")
    void connectSendMultiBuffer() {
        Socket client = udp4();
        CompletableFuture<String> got = new CompletableFuture<>();
        client.on("message", (msg, rinfo) -> got.complete(new String(msg, StandardCharsets.UTF_8)));
        int port = bound(client, "127.0.0.1");
        CompletableFuture<Integer> bytes = new CompletableFuture<>();
        client.connect(port, "127.0.0.1", () -> client.send(
                List.of("Hello".getBytes(StandardCharsets.UTF_8), " world".getBytes(StandardCharsets.UTF_8)),
                (err, n) -> bytes.complete(err == null ? n : -1)));
        assertThat(await(bytes)).isEqualTo(11);
        assertThat(await(got)).isEqualTo("Hello world");
    }

    @Test
    @DisplayName("test-dgram-connect-send-default-host.js: connect(port) without address uses 127.0.0.1")
    void connectSendDefaultHost() {
        Socket server = udp4();
        CompletableFuture<RemoteInfo> got = new CompletableFuture<>();
        server.on("message", (msg, rinfo) -> got.complete(rinfo));
        int port = bound(server, null);
        Socket client = udp4();
        CompletableFuture<Void> connected = new CompletableFuture<>();
        client.connect(port, () -> connected.complete(null));
        await(connected);
        assertThat(client.remoteAddress().address()).isEqualTo("127.0.0.1");
        client.send("hi");
        RemoteInfo rinfo = await(got);
        assertThat(rinfo.address()).isEqualTo("127.0.0.1");
        assertThat(rinfo.port()).isEqualTo(client.address().port());
    }

    @Test
    @DisplayName("test-dgram-connect.js: connect() binds an unbound socket first ('listening' before 'connect')")
    void connectBindsFirst() {
        Socket client = udp4();
        List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Void> connected = new CompletableFuture<>();
        client.on("listening", () -> order.add("listening"));
        client.on("connect", () -> {
            order.add("connect");
            connected.complete(null);
        });
        client.connect(PORT);
        await(connected);
        assertThat(order).containsExactly("listening", "connect");
        assertThat(client.address().address()).isEqualTo("0.0.0.0");
        assertCode(client::bind, "ERR_SOCKET_ALREADY_BOUND");
    }

    @Test
    @DisplayName("test-dgram-connect.js: a failed connect (ENOTFOUND) emits 'error' and leaves the socket disconnected")
    void connectFailure() {
        Socket client = udp4();
        CompletableFuture<DgramException> err = new CompletableFuture<>();
        CompletableFuture<Void> cb = new CompletableFuture<>();
        client.on("error", err::complete);
        client.connect(PORT, "dne.invalid", () -> cb.complete(null));
        DgramException e = await(err);
        assertThat(e.code()).isIn("ENOTFOUND", "EAI_AGAIN");
        assertThat(cb).isNotDone();
        assertThat(client.listenerCount("connect")).isZero();
        assertCode(client::remoteAddress, "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        // and it may connect again
        CompletableFuture<Void> ok = new CompletableFuture<>();
        client.connect(PORT, () -> ok.complete(null));
        await(ok);
    }

    @Test
    @DisplayName("test-dgram-connect.js (healthCheck): connect() after close() throws ERR_SOCKET_DGRAM_NOT_RUNNING")
    void connectAfterClose() {
        Socket client = udp4();
        client.close();
        assertCode(() -> client.connect(PORT), "ERR_SOCKET_DGRAM_NOT_RUNNING");
    }
}
