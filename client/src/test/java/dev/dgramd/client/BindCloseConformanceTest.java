package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Ports of Node's bind / address / close tests (test/parallel/test-dgram-*.js). */
class BindCloseConformanceTest extends DaemonFixture {

    @Test
    @DisplayName("test-dgram-bind.js: bind() returns the socket; bind() when bound throws ERR_SOCKET_ALREADY_BOUND")
    void bindReturnsSocketAndRebindThrows() {
        Socket s = udp4();
        CompletableFuture<DgramException> inListening = new CompletableFuture<>();
        s.on("listening", () -> inListening.complete(thrown(s::bind)));
        assertThat(s.bind()).isSameAs(s);
        DgramException e = await(inListening);
        assertThat(e.code()).isEqualTo("ERR_SOCKET_ALREADY_BOUND");
        assertThat(e.getMessage()).isEqualTo("Socket is already bound");
    }

    @Test
    @DisplayName("test-dgram-bind.js: bind() while a bind is in progress throws ERR_SOCKET_ALREADY_BOUND at once")
    void bindWhileBindingThrows() {
        Socket s = udp4();
        s.bind(0);
        assertCode(() -> s.bind(0), "ERR_SOCKET_ALREADY_BOUND");
    }

    @Test
    @DisplayName("test-dgram-address.js: IPv4 address() after binding 127.0.0.1")
    void addressIpv4() {
        Socket s = udp4();
        CompletableFuture<AddressInfo> a = new CompletableFuture<>();
        s.on("listening", () -> a.complete(s.address()));
        s.on("error", e -> a.completeExceptionally(e));
        s.bind(0, "127.0.0.1");
        AddressInfo info = await(a);
        assertThat(info.address()).isEqualTo("127.0.0.1");
        assertThat(info.family()).isEqualTo("IPv4");
        assertThat(info.port()).isGreaterThan(0).isLessThan(65536);
    }

    @Test
    @DisplayName("test-dgram-address.js: IPv6 address() after binding ::1")
    void addressIpv6() {
        Socket s = udp6();
        CompletableFuture<AddressInfo> a = new CompletableFuture<>();
        s.on("listening", () -> a.complete(s.address()));
        s.on("error", e -> a.completeExceptionally(e));
        s.bind(0, "::1");
        AddressInfo info = await(a);
        assertThat(info.address()).isEqualTo("::1");
        assertThat(info.family()).isEqualTo("IPv6");
        assertThat(info.port()).isGreaterThan(0);
    }

    @Test
    @DisplayName("test-dgram-address.js: address() on an unbound socket throws getsockname EBADF")
    void addressUnboundThrowsEbadf() {
        Socket s = udp4();
        DgramException e = thrown(s::address);
        assertThat(e.code()).isEqualTo("EBADF");
        assertThat(e.getMessage()).isEqualTo("getsockname EBADF");
        assertThat(e.syscall()).isEqualTo("getsockname");
        assertThat(e.errno()).isEqualTo(-9);
    }

    @Test
    @DisplayName("test-dgram-bind-default-address.js: udp4 binds 0.0.0.0 by default")
    void defaultAddressUdp4() {
        Socket s = udp4();
        CompletableFuture<AddressInfo> a = new CompletableFuture<>();
        s.bind(0, () -> a.complete(s.address()));
        AddressInfo info = await(a);
        assertThat(info.address()).isEqualTo("0.0.0.0");
        assertThat(info.port()).isGreaterThan(0);
    }

    @Test
    @DisplayName("test-dgram-bind-default-address.js: udp6 binds :: by default")
    void defaultAddressUdp6() {
        Socket s = udp6();
        CompletableFuture<AddressInfo> a = new CompletableFuture<>();
        s.bind(0, () -> a.complete(s.address()));
        AddressInfo info = await(a);
        assertThat(info.address()).isIn("::", "::ffff:0.0.0.0");
        assertThat(info.family()).isEqualTo("IPv6");
        assertThat(info.port()).isGreaterThan(0);
    }

    @Test
    @DisplayName("test-dgram-listen-after-bind.js: 'listening' fires after bind(), before 'close'")
    void listeningBeforeClose() {
        Socket s = udp4();
        List<String> order = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        // listeners go first: unlike Node's, our events may fire while the caller still runs
        s.on("listening", () -> {
            order.add("listening");
            s.close();
        });
        s.on("close", () -> {
            order.add("close");
            closed.complete(null);
        });
        s.bind();
        await(closed);
        assertThat(order).containsExactly("listening", "close");
    }

    @Test
    @DisplayName("test-dgram-close.js: close(cb) returns the socket; the callback and 'close' run once")
    void closeWithCallback() {
        Socket portGetter = udp4();
        int port = bound(portGetter, "localhost");
        Socket s = udp4();
        s.send(new byte[1024], 0, 1024, port, "127.0.0.1");
        AtomicInteger closes = new AtomicInteger();
        CompletableFuture<Void> cb = new CompletableFuture<>();
        CompletableFuture<Void> event = new CompletableFuture<>();
        s.on("close", () -> event.complete(null));
        assertThat(s.close(() -> {
            closes.incrementAndGet();
            cb.complete(null);
        })).isSameAs(s);
        await(cb);
        await(event);
        assertThat(closes).hasValue(1);
    }

    @Test
    @DisplayName("test-dgram-close.js (healthCheck): a second close() throws ERR_SOCKET_DGRAM_NOT_RUNNING")
    void closeTwiceThrows() {
        Socket s = udp4();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.close(() -> closed.complete(null));
        DgramException e = thrown(s::close);
        assertThat(e.code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(e.getMessage()).isEqualTo("Not running");
        await(closed);
        assertCode(s::close, "ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    @DisplayName("test-dgram-close-is-not-callback.js: close(null) closes without a callback")
    void closeWithNullCallback() {
        Socket s = udp4();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.on("close", () -> closed.complete(null));
        s.bind(0, () -> s.close(null));
        await(closed);
    }

    @Test
    @DisplayName("test-dgram-async-dispose.mjs: closeAsync() closes; address() then throws NOT_RUNNING; again resolves")
    void closeAsyncDisposes() {
        Socket s = udp4();
        CompletableFuture<Void> event = new CompletableFuture<>();
        s.on("close", () -> event.complete(null));
        await(s.closeAsync());
        assertThat(event).isDone();
        assertCode(s::address, "ERR_SOCKET_DGRAM_NOT_RUNNING");
        await(s.closeAsync());
    }

    @Test
    @DisplayName("test-dgram-error-message-address.js: bind to a foreign IPv4 address emits EADDRNOTAVAIL")
    void bindForeignAddressEmitsError() {
        Socket s = udp4();
        CompletableFuture<DgramException> err = new CompletableFuture<>();
        CompletableFuture<Void> listening = new CompletableFuture<>();
        s.on("listening", () -> listening.complete(null));
        s.on("error", err::complete);
        s.bind(0, "1.1.1.1");
        DgramException e = await(err);
        assertThat(e.code()).isEqualTo("EADDRNOTAVAIL");
        assertThat(e.getMessage()).isEqualTo("bind EADDRNOTAVAIL 1.1.1.1");
        assertThat(e.address()).isEqualTo("1.1.1.1");
        assertThat(e.port()).isZero();
        assertThat(e.syscall()).isEqualTo("bind");
        assertThat(listening).isNotDone();
        assertCode(s::address, "EBADF"); // unbound again
    }

    @Test
    @DisplayName("test-dgram-error-message-address.js: bind to a foreign IPv6 address emits EADDRNOTAVAIL")
    void bindForeignAddressIpv6EmitsError() {
        Socket s = udp6();
        CompletableFuture<DgramException> err = new CompletableFuture<>();
        s.on("listening", () -> err.completeExceptionally(new AssertionError("listening")));
        s.on("error", err::complete);
        s.bind(0, "111::1");
        DgramException e = await(err);
        assertThat(e.code()).isIn("EADDRNOTAVAIL", "EAFNOSUPPORT", "EPROTONOSUPPORT");
        assertThat(e.getMessage()).isEqualTo("bind " + e.code() + " 111::1");
        assertThat(e.address()).isEqualTo("111::1");
    }

    @Test
    @DisplayName("test-dgram-bind-error-repeat.js: bind may be retried after EADDRINUSE; its callback never runs")
    void bindErrorRepeat() {
        Socket reserve = udp4();
        int port = bound(reserve, null);
        Socket s = udp4();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger callbacks = new AtomicInteger();
        CompletableFuture<DgramException> done = new CompletableFuture<>();
        s.on("error", e -> {
            if (!"EADDRINUSE".equals(e.code())) {
                done.completeExceptionally(e);
            } else if (errors.incrementAndGet() < 5) {
                s.bind(port, callbacks::incrementAndGet);
            } else {
                done.complete(e);
            }
        });
        s.bind(port, callbacks::incrementAndGet);
        DgramException last = await(done);
        // read the count on the listener thread after the last 'error' emit finished
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        s.close(() -> listening.complete(s.listenerCount("listening")));
        assertThat(await(listening)).isZero();
        assertThat(errors).hasValue(5);
        assertThat(callbacks).hasValue(0);
        assertThat(last.syscall()).isEqualTo("bind");
        assertThat(last.port()).isEqualTo(port);
    }

    @Test
    @DisplayName("test-dgram-close-in-listening.js: close() in 'listening' with a send queued behind the bind")
    void closeInListening() {
        Socket portGetter = udp4();
        int port = bound(portGetter, "localhost");
        Socket s = udp4();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.on("listening", () -> s.close());
        s.on("close", () -> closed.complete(null));
        s.send(new byte[1024], 0, 1024, port, "127.0.0.1");
        await(closed);
    }

    @Test
    @DisplayName("test-dgram-close-during-bind.js: close() during bind: 'close', and the bind callback never runs")
    void closeDuringBind() {
        Socket s = udp4();
        // Node's bind completes in a later tick, so close() in the same tick always comes first. Here
        // the bind's answer may beat close() if this thread is descheduled before close() takes
        // effect (events may fire while the caller runs; with listeners on the event loop the
        // answer comes sooner still); a bind callback that ran before close() returned is that
        // case, not a failure. What must never happen is a bind callback after close() returned,
        // which is the usual order of things here (the answer takes a round trip).
        AtomicBoolean closeReturned = new AtomicBoolean();
        CompletableFuture<Boolean> bindCallback = new CompletableFuture<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        s.bind(() -> bindCallback.complete(closeReturned.get()));
        s.close(() -> closed.complete(null));
        closeReturned.set(true);
        await(closed);
        if (bindCallback.isDone()) {
            assertThat(bindCallback.join()).as("the bind callback ran after close() returned").isFalse();
        }
    }

    @Test
    @DisplayName("test-dgram-ipv6only.js: a udp6 ipv6Only socket on :: leaves the IPv4 port free")
    void ipv6Only() {
        Socket v6 = track(dgram.createSocket(new SocketOptions().type("udp6").ipv6Only(true)));
        CompletableFuture<Void> l6 = new CompletableFuture<>();
        v6.bind(new BindOptions().port(0).address("::"), () -> l6.complete(null));
        await(l6);
        int port = v6.address().port();
        Socket v4 = udp4();
        CompletableFuture<Void> l4 = new CompletableFuture<>();
        v4.on("error", l4::completeExceptionally);
        v4.bind(new BindOptions().port(port).address("0.0.0.0"), () -> l4.complete(null));
        await(l4);
        assertThat(v4.address().port()).isEqualTo(port);
    }

    @Test
    @DisplayName("test-dgram-createSocket-type.js: bad types throw ERR_SOCKET_BAD_TYPE; buffer size options apply")
    void createSocketType() {
        for (String bad : new String[] {"test", "UDP4", "", null}) {
            DgramException e = thrown(() -> dgram.createSocket(bad));
            assertThat(e.code()).isEqualTo("ERR_SOCKET_BAD_TYPE");
            assertThat(e.getMessage()).isEqualTo("Bad socket type specified. Valid types are: udp4, udp6");
        }
        assertCode(() -> dgram.createSocket(new SocketOptions()), "ERR_SOCKET_BAD_TYPE");
        Socket s = track(dgram.createSocket(
                new SocketOptions().type("udp4").recvBufferSize(10000).sendBufferSize(15000)));
        CompletableFuture<Void> bound = new CompletableFuture<>();
        s.bind(() -> bound.complete(null));
        await(bound);
        // asked from this thread: from a listener on the event loop a getter would throw ERR_DGRAMD_WOULD_BLOCK
        assertThat(s.getRecvBufferSize()).isIn(10000, 20000);
        assertThat(s.getSendBufferSize()).isIn(15000, 30000);
    }

    @Test
    @DisplayName("test-dgram-bind.js (port check; dgramd deviation: Node 20 wraps, we reject) bind port outside 0..65535")
    void bindBadPort() {
        Socket s = udp4();
        for (int bad : new int[] {-1, 65536, 78960}) {
            DgramException e = thrown(() -> s.bind(bad));
            assertThat(e.code()).isEqualTo("ERR_SOCKET_BAD_PORT");
        }
        // the failed calls left the socket unbound: a good bind works
        CompletableFuture<Void> ok = new CompletableFuture<>();
        s.bind(0, () -> ok.complete(null));
        await(ok);
    }

    @Test
    @DisplayName("test-dgram-bind.js (healthCheck): bind() after close() throws ERR_SOCKET_DGRAM_NOT_RUNNING")
    void bindAfterClose() {
        Socket s = udp4();
        s.close();
        assertCode(s::bind, "ERR_SOCKET_DGRAM_NOT_RUNNING");
    }
}
