package dev.dgramd.daemon.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@link UdpSocket} driven directly, run once per transport ({@link EpollUdpSocketTest},
 * {@link NioUdpSocketTest}): its state machine (unbound, binding, bound, connected, closed), the
 * order of its events, the order of sends behind a name lookup or a bind, option errors, and close
 * in each state, every queued send answered. Where NIO cannot do what epoll does (connect, TTLs,
 * multicast options, SO_REUSEPORT) the test asserts the ENOSYS it answers.
 */
abstract class UdpSocketBehaviour extends UdpSocketSuite {

    // ------------------------------------------------------------------ state machine

    @Test
    void anUnboundSocketAnswersAsNodeDoesAndEmitsNothing() throws Exception {
        Sock s = open();
        UdpSocket u = s.socket();
        assertThat(u.localAddress()).isNull();
        assertThat(failure(u.address(), "EBADF").syscall()).isEqualTo("getsockname");
        failure(u.remoteAddress(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        failure(u.disconnect(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(failure(u.setBroadcast(true), "EBADF").syscall()).isEqualTo("setBroadcast");
        assertThat(failure(u.setTtl(64), "EBADF").syscall()).isEqualTo("setTTL");
        assertThat(failure(u.setMulticastTtl(1), "EBADF").syscall()).isEqualTo("setMulticastTTL");
        assertThat(failure(u.setMulticastLoopback(true), "EBADF").syscall()).isEqualTo("setMulticastLoopback");
        assertThat(failure(u.setMulticastInterface(LOOPBACK), "EBADF").syscall()).isEqualTo("setMulticastInterface");
        assertThat(failure(u.dropMembership("239.1.2.3", null), "EBADF").syscall()).isEqualTo("dropMembership");
        assertThat(failure(u.getRecvBufferSize(), "ERR_SOCKET_BUFFER_SIZE").getMessage()).contains("uv_recv_buffer_size");
        assertThat(failure(u.getSendBufferSize(), "ERR_SOCKET_BUFFER_SIZE").getMessage()).contains("uv_send_buffer_size");
        failure(u.setRecvBufferSize(65_536), "ERR_SOCKET_BUFFER_SIZE");
        failure(u.setSendBufferSize(65_536), "ERR_SOCKET_BUFFER_SIZE");
        assertThat(await(u.sendQueueSize())).isZero();
        assertThat(await(u.sendQueueCount())).isZero();

        assertThat(await(u.close())).isTrue();
        assertThat(s.events().drain()).as("an unbound socket's only event").containsExactly(new SocketEvent.Close());
    }

    @Test
    void bindEmitsListeningOnceAndASecondBindIsRefused() throws Exception {
        Sock s = open();
        UdpSocket u = s.socket();
        failure(u.bind(65_536, null), "ERR_SOCKET_BAD_PORT");
        failure(u.bind(-1, null), "ERR_SOCKET_BAD_PORT");
        InetSocketAddress bound = await(u.bind(0, LOOPBACK));
        assertThat(bound.getAddress()).isEqualTo(InetAddress.getLoopbackAddress());
        assertThat(bound.getPort()).isPositive();
        assertThat(s.events().next(SocketEvent.Listening.class).address()).isEqualTo(bound);
        assertThat(u.localAddress()).isEqualTo(bound);
        assertThat(await(u.address())).isEqualTo(bound);

        failure(u.bind(0, LOOPBACK), "ERR_SOCKET_ALREADY_BOUND");
        failure(u.bind(bound.getPort() + 1, null), "ERR_SOCKET_ALREADY_BOUND");
        assertThat(await(u.address())).as("still bound where it was").isEqualTo(bound);

        await(u.close());
        assertThat(s.events().drain()).as("no 'error' for the refused binds").containsExactly(new SocketEvent.Close());
    }

    @Test
    void aSecondBindWhileTheFirstIsStillLookingUpItsNameIsRefused() throws Exception {
        Sock s = open();
        UdpSocket u = s.socket();
        CompletableFuture<InetSocketAddress> first;
        try (AutoCloseable held = holdLookups()) {
            first = u.bind(0, LOCALHOST); // BINDING until the lookup answers
            failure(u.bind(0, LOOPBACK), "ERR_SOCKET_ALREADY_BOUND");
            failure(u.address(), "EBADF");
            assertThat(first).isNotDone();
        }
        InetSocketAddress bound = await(first);
        assertThat(bound.getAddress()).isEqualTo(InetAddress.getLoopbackAddress());
        assertThat(s.events().next(SocketEvent.Listening.class).address()).isEqualTo(bound);
    }

    @Test
    void aFailedBindEmitsErrorAndLeavesTheSocketUnboundToBindAgain() throws Exception {
        DatagramSocket taken = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        DgramError error = failure(u.bind(taken.getLocalPort(), LOOPBACK), "EADDRINUSE");
        assertThat(error.syscall()).isEqualTo("bind");
        assertThat(error.port()).isEqualTo(taken.getLocalPort());
        assertThat(s.events().nextError("EADDRINUSE")).isSameAs(error);
        failure(u.address(), "EBADF");

        InetSocketAddress bound = await(u.bind(0, LOOPBACK));
        assertThat(s.events().next(SocketEvent.Listening.class).address()).isEqualTo(bound);
    }

    @Test
    void aBindToANameThatCannotResolveFailsWithEnotfound() throws Exception {
        Sock s = open();
        DgramError error = failure(s.socket().bind(0, "no-such-host.invalid"), "ENOTFOUND");
        assertThat(error.syscall()).isEqualTo("getaddrinfo");
        s.events().nextError("ENOTFOUND");
        failure(s.socket().bind(0, "::1"), "EINVAL"); // a literal of the other family
        s.events().nextError("EINVAL");
    }

    @Test
    void connectBindsFirstThenConnectsOrAnswersEnosysOnNio() throws Exception {
        DatagramSocket peer = peer();
        InetSocketAddress peerAddress = (InetSocketAddress) peer.getLocalSocketAddress();
        Sock s = open();
        UdpSocket u = s.socket();
        failure(u.connect(0, LOOPBACK), "ERR_SOCKET_BAD_PORT");
        CompletableFuture<InetSocketAddress> connect = u.connect(peerAddress.getPort(), LOOPBACK);
        InetSocketAddress local = s.events().next(SocketEvent.Listening.class).address();
        assertThat(local.getPort()).as("bound implicitly, port chosen by the kernel").isPositive();
        if (!epoll()) {
            DgramError error = failure(connect, "ENOSYS");
            assertThat(error.syscall()).isEqualTo("connect");
            s.events().nextError("ENOSYS");
            failure(u.remoteAddress(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
            failure(u.connect(peerAddress.getPort(), LOOPBACK), "ENOSYS"); // not "already connected"
            s.events().nextError("ENOSYS");
            sent(send(u, "unconnected", peerAddress.getPort(), LOOPBACK), 11);
            assertThat(receive(peer)).isEqualTo("unconnected");
            return;
        }
        assertThat(await(connect)).isEqualTo(peerAddress);
        assertThat(s.events().next(SocketEvent.Connect.class).remote()).isEqualTo(peerAddress);
        assertThat(await(u.remoteAddress())).isEqualTo(peerAddress);
        assertThat(u.connectedPeer()).isEqualTo(peerAddress);
        failure(u.connect(peerAddress.getPort(), LOOPBACK), "ERR_SOCKET_DGRAM_IS_CONNECTED");

        sendFailure(send(u, "to a target", peerAddress.getPort(), LOOPBACK), "ERR_SOCKET_DGRAM_IS_CONNECTED");
        sent(send(u, "to the peer", 0, null), 11);
        assertThat(receive(peer)).isEqualTo("to the peer");
        sendFrom(peer, "back", local);
        SocketEvent.Message m = s.events().next(SocketEvent.Message.class);
        assertThat(text(m)).isEqualTo("back");
        assertThat(m.sender()).isEqualTo(peerAddress);

        await(u.disconnect());
        failure(u.remoteAddress(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        failure(u.disconnect(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
        sendFailure(send(u, "no target", 0, null), "ERR_SOCKET_BAD_PORT");
        sent(send(u, "disconnected", peerAddress.getPort(), LOOPBACK), 12);
        assertThat(receive(peer)).isEqualTo("disconnected");
        await(u.close());
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Close());
    }

    @Test
    void closeIsIdempotentEmitsCloseOnceAndLastAndEverythingAfterItIsNotRunning() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        List<CompletableFuture<Boolean>> closes = inOneTask(u, () -> List.of(u.close(), u.close()));
        List<Boolean> answers = new ArrayList<>();
        for (CompletableFuture<Boolean> c : closes) {
            answers.add(await(c));
        }
        assertThat(answers).as("the first close closes, the second finds it closing").containsExactly(true, false);
        assertThat(await(u.close())).isFalse();
        assertThat(u.closeFuture()).isCompleted();
        assertThat(registry().get(u.id())).as("gone from the registry").isNull();
        assertThat(registry().wasClosed(u.id(), "test")).isTrue();

        int port = peer.getLocalPort();
        List<Supplier<CompletableFuture<?>>> after = List.of(
                () -> u.bind(0, LOOPBACK), () -> u.connect(port, LOOPBACK), () -> u.disconnect(),
                () -> u.address(), () -> u.remoteAddress(), () -> u.setBroadcast(false), () -> u.setTtl(64),
                () -> u.setMulticastTtl(1), () -> u.setMulticastLoopback(true),
                () -> u.setMulticastInterface(LOOPBACK), () -> u.addMembership("239.1.2.3", null),
                () -> u.dropMembership("239.1.2.3", null), () -> u.getRecvBufferSize(),
                () -> u.setSendBufferSize(65_536), () -> u.addTap(new SeenTap()));
        for (Supplier<CompletableFuture<?>> op : after) {
            failure(op.get(), "ERR_SOCKET_DGRAM_NOT_RUNNING");
        }
        List<CompletableFuture<Answer>> sends = send(u, List.of(
                datagram(1, "quiet", port, LOOPBACK, false), datagram(2, "loud", port, LOOPBACK, true)));
        for (CompletableFuture<Answer> a : sends) {
            sendFailure(a, "ERR_SOCKET_DGRAM_NOT_RUNNING");
        }

        List<SocketEvent> events = s.events().drain();
        assertThat(events).as("every event: 'close' once, last; nothing after it, not even for a send that "
                + "asked for 'error'").containsExactly(new SocketEvent.Listening(u.localAddress()), new SocketEvent.Close());
        assertNothingReceived(peer);
    }

    @Test
    void eventsComeInOrderListeningThenMessagesThenClose() throws Exception {
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        InetSocketAddress bound = await(u.bind(0, LOOPBACK));
        int n = 20;
        for (int i = 0; i < n; i++) {
            sendFrom(peer, "m" + i, bound);
        }
        assertThat(s.events().next()).isEqualTo(new SocketEvent.Listening(bound));
        for (int i = 0; i < n; i++) {
            SocketEvent.Message m = s.events().next(SocketEvent.Message.class);
            assertThat(text(m)).isEqualTo("m" + i);
            assertThat(m.sender()).isEqualTo(peer.getLocalSocketAddress());
        }
        assertThat(u.counters().datagramsReceived()).isEqualTo(n);
        await(u.close());
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Close());
    }

    // ------------------------------------------------------------------ send order

    @Test
    void sendsBehindANameLookupLeaveInTheOrderGiven() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        List<UdpSocket.Outgoing> datagrams = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            datagrams.add(datagram(i, "d" + (char) ('a' + i), port, i % 3 == 1 ? LOCALHOST : LOOPBACK, false));
        }
        List<CompletableFuture<Answer>> answers;
        try (AutoCloseable held = holdLookups()) {
            answers = send(u, datagrams);
            // the first literal went out; the looked-up one waits on its lookup, the 10 after it in the queue
            assertThat(await(u.sendQueueCount())).isEqualTo(10);
        }
        for (CompletableFuture<Answer> a : answers) {
            sent(a, 2);
        }
        for (int i = 0; i < 12; i++) {
            assertThat(receive(peer)).as("datagram %s", i).isEqualTo("d" + (char) ('a' + i));
        }
    }

    @Test
    void sendsFromManyCallsBehindAPendingBindAndALookupLeaveInOrder() throws Exception {
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        int n = 30;
        List<CompletableFuture<Answer>> answers = new ArrayList<>();
        try (AutoCloseable held = holdLookups()) {
            u.bind(0, LOCALHOST); // pending until its lookup answers
            for (int i = 0; i < n; i++) {
                answers.add(send(u, "s" + i, port, i == n / 2 ? LOCALHOST : LOOPBACK));
            }
            assertThat(await(u.sendQueueCount())).isEqualTo(n);
        }
        for (CompletableFuture<Answer> a : answers) {
            assertThat(await(a).error()).isNull();
        }
        for (int i = 0; i < n; i++) {
            assertThat(receive(peer)).as("datagram %s", i).isEqualTo("s" + i);
        }
        assertThat(s.events().next()).isInstanceOf(SocketEvent.Listening.class);
    }

    @Test
    void aSendBindsImplicitlyOnceAndItsDatagramsLeaveInOrder() throws Exception {
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        List<CompletableFuture<Answer>> answers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            answers.add(send(u, "i" + i, port, null)); // no address: the loopback address
        }
        for (CompletableFuture<Answer> a : answers) {
            assertThat(await(a).error()).isNull();
        }
        InetSocketAddress local = s.events().next(SocketEvent.Listening.class).address();
        assertThat(local.getAddress().isAnyLocalAddress()).as("the implicit bind is to every interface").isTrue();
        for (int i = 0; i < 30; i++) {
            assertThat(receive(peer)).isEqualTo("i" + i);
        }
        assertThat(await(u.address())).isEqualTo(local);
        assertThat(s.events().drain()).as("one 'listening' only").isEmpty();
    }

    @Test
    void sendErrorsAreAnsweredAndEmittedOnlyWhenAsked() throws Exception {
        Sock s = openBound();
        UdpSocket u = s.socket();
        s.events().next(SocketEvent.Listening.class);
        List<CompletableFuture<Answer>> answers = send(u, List.of(
                datagram(1, "bad port", 0, LOOPBACK, false),
                datagram(2, "bad port", 70_000, LOOPBACK, true),
                datagram(3, "other family", 9, "::1", true),
                datagram(4, "no such name", 9, "x.invalid", false)));
        sendFailure(answers.get(0), "ERR_SOCKET_BAD_PORT");
        sendFailure(answers.get(1), "ERR_SOCKET_BAD_PORT");
        assertThat(sendFailure(answers.get(2), "EINVAL").syscall()).isEqualTo("send");
        sendFailure(answers.get(3), "ENOTFOUND");
        s.events().nextError("ERR_SOCKET_BAD_PORT");
        s.events().nextError("EINVAL");
        assertThat(s.events().drain()).as("only the datagrams that asked for 'error'").isEmpty();
        byte[] big = new byte[SocketConfig.Family.IPV4.maxPayload() + 1];
        CompletableFuture<Answer> tooBig = send(u, List.of(new UdpSocket.Outgoing(5,
                io.netty.buffer.Unpooled.wrappedBuffer(big), 9, LOOPBACK, false))).get(0);
        sendFailure(tooBig, "EMSGSIZE");
    }

    @Test
    void aSendQueuedBehindAFailingBindGetsTheBindError() throws Exception {
        DatagramSocket taken = peer();
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        record Queued(CompletableFuture<InetSocketAddress> bind, List<CompletableFuture<Answer>> sends) {}
        Queued q;
        try (AutoCloseable held = holdLookups()) {
            q = new Queued(u.bind(taken.getLocalPort(), LOCALHOST), // fails with EADDRINUSE after its lookup
                    send(u, List.of(datagram(1, "a", port, LOOPBACK, true), datagram(2, "b", port, LOCALHOST, true))));
            assertThat(await(u.sendQueueCount())).as("both held behind the bind").isEqualTo(2);
            assertThat(q.bind()).isNotDone();
        }
        failure(q.bind(), "EADDRINUSE");
        for (CompletableFuture<Answer> a : q.sends()) {
            sendFailure(a, "EADDRINUSE");
        }
        s.events().nextError("EADDRINUSE");
        assertThat(s.events().drain()).as("the bind error, once, though the sends asked for 'error'").isEmpty();
        assertNothingReceived(peer);
    }

    @Test
    void aSendWhoseImplicitBindIsRefusedGetsTheRefusalAndSendsNothing() throws Exception {
        DgramError refusal = DgramError.refused(DgramError.Refusal.FORBIDDEN, SystemError.EACCES, "bind",
                "0.0.0.0", 0, "no binding here");
        SocketGuard noBind = new SocketGuard() {
            @Override
            public DgramError checkBind(InetAddress local, int port) {
                return refusal;
            }
        };
        DatagramSocket peer = peer();
        Sock s = open(SocketConfig.of(SocketConfig.Family.IPV4), noBind);
        UdpSocket u = s.socket();
        sendFailure(send(u, "refused", peer.getLocalPort(), LOOPBACK), "EACCES");
        assertThat(s.events().nextError("EACCES")).isSameAs(refusal);
        failure(u.address(), "EBADF");
        assertNothingReceived(peer);

        failure(u.connect(peer.getLocalPort(), LOOPBACK), "EACCES");
        s.events().nextError("EACCES");
        failure(u.addMembership("239.1.2.3", null), "EACCES");
        s.events().nextError("EACCES");
        assertThat(await(u.close())).as("the socket is not stuck behind the failed bind").isTrue();
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Close());
    }

    @Test
    void reusePortIsEnosysOnNioAndFailsTheImplicitBind() throws Exception {
        DatagramSocket peer = peer();
        SocketConfig reusePort = new SocketConfig(SocketConfig.Family.IPV4, false, true, false, 0, 0);
        Sock s = open(reusePort, SocketGuard.ALLOW_ALL);
        CompletableFuture<Answer> answer = send(s.socket(), "x", peer.getLocalPort(), LOOPBACK);
        if (epoll()) {
            sent(answer, 1);
            assertThat(receive(peer)).isEqualTo("x");
            s.events().next(SocketEvent.Listening.class);
        } else {
            assertThat(sendFailure(answer, "ENOSYS").syscall()).isEqualTo("bind");
            s.events().nextError("ENOSYS");
            assertNothingReceived(peer);
        }
    }

    @Test
    void sendsBeyondTheHeldBytesBoundFailWithEnobufsAndEachIsAnswered() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        int size = 60_000;
        int n = 80; // 4.8 MB held behind the lookup: more than the 4 MiB bound
        List<UdpSocket.Outgoing> datagrams = new ArrayList<>();
        datagrams.add(datagram(0, "first", peer.getLocalPort(), LOCALHOST, false));
        for (int i = 1; i <= n; i++) {
            datagrams.add(new UdpSocket.Outgoing(i, io.netty.buffer.Unpooled.wrappedBuffer(new byte[size]),
                    peer.getLocalPort(), LOOPBACK, false));
        }
        List<CompletableFuture<Answer>> answers;
        try (AutoCloseable held = holdLookups()) {
            answers = send(u, datagrams);
            assertThat(await(u.sendQueueSize())).as("bytes held, at most the bound").isBetween(4_000_000L, 4L << 20);
        }
        int sentCount = 0;
        int refused = 0;
        for (CompletableFuture<Answer> a : answers) {
            Answer answer = await(a);
            if (answer.error() == null) {
                sentCount++;
            } else {
                assertThat(answer.error().code()).isEqualTo("ENOBUFS");
                refused++;
            }
        }
        assertThat(sentCount + refused).as("every datagram answered").isEqualTo(n + 1);
        assertThat(refused).as("some held sends refused").isPositive();
        assertThat(sentCount).as("the held sends within the bound went out").isGreaterThan(60);
        assertThat(receive(peer)).isEqualTo("first");
    }

    @Test
    void anEmptyDatagramIsSentOnEpollAndEnosysOnNio() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        CompletableFuture<Answer> empty = send(s.socket(), "", peer.getLocalPort(), LOOPBACK);
        if (epoll()) {
            sent(empty, 0);
            assertThat(receive(peer)).isEmpty();
        } else {
            assertThat(sendFailure(empty, "ENOSYS").syscall()).isEqualTo("send");
            assertNothingReceived(peer);
        }
    }

    @Test
    void aTapSeesDatagramsBothWaysUntilRemovedOrClosed() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        SeenTap tap = new SeenTap();
        await(u.addTap(tap));
        assertThat(u.tapCount()).isEqualTo(1);
        sent(send(u, "out", peer.getLocalPort(), LOOPBACK), 3);
        assertThat(receive(peer)).isEqualTo("out");
        sendFrom(peer, "in", u.localAddress());
        s.events().next(SocketEvent.Listening.class);
        assertThat(text(s.events().next(SocketEvent.Message.class))).isEqualTo("in");
        await(u.close());
        assertThat(tap.seen).containsExactly("SENT " + peer.getLocalPort() + " out",
                "RECEIVED " + peer.getLocalPort() + " in", "closed");
        assertThat(u.tapCount()).isZero();
    }

    @Test
    void aRemovedTapSeesNothingMore() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        SeenTap tap = new SeenTap();
        await(u.addTap(tap));
        u.removeTap(tap);
        sent(send(u, "untapped", peer.getLocalPort(), LOOPBACK), 8); // runs after the removal on the loop
        await(u.close());
        assertThat(tap.seen).isEmpty();
        assertThat(u.tapCount()).isZero();
    }

    /** Notes what a tap is shown, on the socket's loop: "SENT port text", "RECEIVED port text", "closed". */
    private static final class SeenTap implements DatagramTap {
        final List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void onDatagram(Direction direction, InetSocketAddress peer, byte[] data) {
            seen.add(direction + " " + peer.getPort() + " " + new String(data, java.nio.charset.StandardCharsets.UTF_8));
        }

        @Override
        public void onClose() {
            seen.add("closed");
        }
    }

    // ------------------------------------------------------------------ options

    @Test
    void optionsOnABoundSocket() throws Exception {
        Sock s = openBound();
        UdpSocket u = s.socket();
        for (int ttl : new int[] {0, 256, -1}) {
            assertThat(failure(u.setTtl(ttl), "EINVAL").syscall()).isEqualTo("setTTL");
        }
        for (int ttl : new int[] {-1, 256}) {
            assertThat(failure(u.setMulticastTtl(ttl), "EINVAL").syscall()).isEqualTo("setMulticastTTL");
        }
        failure(u.setRecvBufferSize(-1), "ERR_SOCKET_BAD_BUFFER_SIZE");
        failure(u.setSendBufferSize(1L << 31), "ERR_SOCKET_BAD_BUFFER_SIZE");
        assertThat(failure(u.addMembership("not-an-address", null), "EINVAL").syscall()).isEqualTo("addMembership");
        failure(u.addMembership("10.0.0.1", null), "EINVAL"); // not a multicast group
        failure(u.addMembership("ff02::1", null), "EINVAL"); // the other family
        failure(u.setMulticastInterface("::1"), epoll() ? "EINVAL" : "EINVAL");

        await(u.setBroadcast(true));
        await(u.setBroadcast(false));
        assertThat(await(u.setRecvBufferSize(65_536))).isGreaterThanOrEqualTo(65_536);
        assertThat(await(u.getRecvBufferSize())).isGreaterThanOrEqualTo(65_536);
        assertThat(await(u.setSendBufferSize(0))).as("0 changes nothing").isEqualTo(await(u.getSendBufferSize()));

        if (epoll()) {
            assertThat(await(u.setTtl(64))).isEqualTo(64);
            assertThat(await(u.setMulticastTtl(0))).isZero();
            assertThat(await(u.setMulticastLoopback(false))).isFalse();
            await(u.setMulticastInterface(LOOPBACK));
        } else {
            failure(u.setTtl(64), "ENOSYS");
            failure(u.setMulticastTtl(1), "ENOSYS");
            failure(u.setMulticastLoopback(false), "ENOSYS");
            failure(u.setMulticastInterface(LOOPBACK), "ENOSYS");
            failure(u.addMembership("239.1.2.3", null), "ENOSYS");
        }
        assertThat(s.events().drain()).as("option errors are answered, not emitted")
                .containsExactly(new SocketEvent.Listening(u.localAddress()));
    }

    @Test
    void aGuardRefusingBroadcastFailsSetBroadcastTrueOnly() throws Exception {
        DgramError refusal = DgramError.refused(DgramError.Refusal.FORBIDDEN, SystemError.EACCES, "setBroadcast",
                null, 0, "no broadcast");
        Sock s = open(SocketConfig.of(SocketConfig.Family.IPV4), new SocketGuard() {
            @Override
            public DgramError checkBroadcast() {
                return refusal;
            }
        });
        await(s.socket().bind(0, LOOPBACK));
        assertThat(failure(s.socket().setBroadcast(true), "EACCES")).isSameAs(refusal);
        await(s.socket().setBroadcast(false));
    }

    // ------------------------------------------------------------------ close in each state

    @Test
    void closeDuringAPendingBindRunsAfterIt() throws Exception {
        Sock s = open();
        UdpSocket u = s.socket();
        record Calls(CompletableFuture<InetSocketAddress> bind, CompletableFuture<Boolean> close) {}
        Calls c;
        try (AutoCloseable held = holdLookups()) {
            c = new Calls(u.bind(0, LOCALHOST), u.close());
            assertThat(c.close()).isNotDone();
        }
        InetSocketAddress bound = await(c.bind());
        assertThat(await(c.close())).isTrue();
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Listening(bound), new SocketEvent.Close());
    }

    @Test
    void closeDuringAPendingLookupAnswersTheSendsBeforeIt() throws Exception {
        DatagramSocket peer = peer();
        Sock s = openBound();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        record Calls(List<CompletableFuture<Answer>> sends, CompletableFuture<Boolean> close) {}
        Calls c;
        try (AutoCloseable held = holdLookups()) {
            c = new Calls(send(u, List.of(datagram(1, "looked up", port, LOCALHOST, false),
                    datagram(2, "literal", port, LOOPBACK, false))), u.close());
            assertThat(await(u.sendQueueCount())).isEqualTo(1); // the literal one; the other is being looked up
            assertThat(c.close()).isNotDone();
        }
        assertThat(await(c.close())).isTrue();
        sent(c.sends().get(0), 9);
        sent(c.sends().get(1), 7);
        assertThat(receive(peer)).isEqualTo("looked up");
        assertThat(receive(peer)).isEqualTo("literal");
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Listening(u.localAddress()), new SocketEvent.Close());
    }

    @Test
    void closeWithSendsQueuedBehindABindAnswersEveryOne() throws Exception {
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        int port = peer.getLocalPort();
        record Calls(List<CompletableFuture<Answer>> sends, CompletableFuture<Boolean> close,
                     List<CompletableFuture<Answer>> late) {}
        Calls c;
        try (AutoCloseable held = holdLookups()) {
            u.bind(0, LOCALHOST);
            List<CompletableFuture<Answer>> sends = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                sends.add(send(u, "q" + i, port, i == 2 ? LOCALHOST : LOOPBACK));
            }
            CompletableFuture<Boolean> close = u.close();
            c = new Calls(sends, close, List.of(send(u, "late", port, LOOPBACK)));
            sendFailure(c.late().get(0), "ERR_SOCKET_DGRAM_NOT_RUNNING"); // at once, while the others wait
            assertThat(await(u.sendQueueCount())).isEqualTo(5);
            assertThat(c.close()).isNotDone();
        }
        assertThat(await(c.close())).isTrue();
        for (CompletableFuture<Answer> a : c.sends()) {
            assertThat(await(a).error()).as("a send issued before close() goes out").isNull();
        }
        for (int i = 0; i < 5; i++) {
            assertThat(receive(peer)).isEqualTo("q" + i);
        }
        assertNothingReceived(peer);
        List<SocketEvent> events = s.events().drain();
        assertThat(events).hasSize(2);
        assertThat(events.get(0)).isInstanceOf(SocketEvent.Listening.class);
        assertThat(events.get(1)).isEqualTo(new SocketEvent.Close());
    }

    @Test
    void closeDuringAPendingConnectRunsAfterIt() throws Exception {
        DatagramSocket peer = peer();
        Sock s = open();
        UdpSocket u = s.socket();
        record Calls(CompletableFuture<InetSocketAddress> connect, CompletableFuture<Boolean> close) {}
        Calls c;
        try (AutoCloseable held = holdLookups()) {
            c = new Calls(u.connect(peer.getLocalPort(), LOCALHOST), u.close());
            assertThat(c.close()).isNotDone();
        }
        assertThat(await(c.close())).isTrue();
        assertThat(s.events().next()).isInstanceOf(SocketEvent.Listening.class);
        if (epoll()) {
            assertThat(await(c.connect())).isEqualTo(peer.getLocalSocketAddress());
            assertThat(s.events().next()).isEqualTo(new SocketEvent.Connect(await(c.connect())));
        } else {
            failure(c.connect(), "ENOSYS");
            s.events().nextError("ENOSYS");
        }
        assertThat(s.events().drain()).containsExactly(new SocketEvent.Close());
    }

    // ------------------------------------------------------------------ registry

    @Test
    void theRegistryCapsSocketsPerOwnerAndForgetsClosedOnes() throws Exception {
        String owner = "capped-" + (epoll() ? "epoll" : "nio");
        List<UdpSocket> mine = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            mine.add(await(registry().create(SocketConfig.of(SocketConfig.Family.IPV4), null, owner, 2,
                    c -> SocketGuard.ALLOW_ALL, c -> new Recorder())));
        }
        DgramError full = failure(registry().create(SocketConfig.of(SocketConfig.Family.IPV4), null, owner, 2,
                c -> SocketGuard.ALLOW_ALL, c -> new Recorder()), "EMFILE");
        assertThat(full.refusal()).isEqualTo(DgramError.Refusal.QUOTA);
        assertThat(registry().ownedBy(owner)).isEqualTo(2);
        assertThat(registry().get(mine.get(0).id(), owner)).isSameAs(mine.get(0));
        assertThat(registry().get(mine.get(0).id(), "someone else")).as("only for its owner").isNull();

        await(mine.get(0).close());
        assertThat(registry().ownedBy(owner)).isEqualTo(1);
        assertThat(registry().wasClosed(mine.get(0).id(), owner)).isTrue();
        UdpSocket again = await(registry().create(SocketConfig.of(SocketConfig.Family.IPV4), null, owner, 2,
                c -> SocketGuard.ALLOW_ALL, c -> new Recorder()));
        await(again.close());
        await(mine.get(1).close());
        assertThat(registry().ownedBy(owner)).isZero();
    }

    @Test
    void anIpv6SocketBindsAndSendsOnLoopback() throws Exception {
        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("::1"), 0));
        peer.setSoTimeout((int) java.util.concurrent.TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        try (peer) {
            Sock s = open(SocketConfig.of(SocketConfig.Family.IPV6), SocketGuard.ALLOW_ALL);
            UdpSocket u = s.socket();
            InetSocketAddress bound = await(u.bind(0, "::1"));
            assertThat(s.events().next(SocketEvent.Listening.class).address()).isEqualTo(bound);
            sent(send(u, "six", peer.getLocalPort(), null), 3); // no address: ::1
            assertThat(receive(peer)).isEqualTo("six");
            failure(u.connect(peer.getLocalPort(), LOOPBACK), "EINVAL"); // a literal of the other family
        }
    }
}
