package dev.dgramd.daemon.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * What the {@code udp/} tests share: a real {@link Transport} (epoll or NIO, chosen by the subclass),
 * a {@link SocketRegistry} on it, sockets observed by a {@link Recorder}, and real UDP peers
 * ({@link DatagramSocket} on loopback). No gRPC, no contract: the socket layer on its own. Every wait
 * is bounded; nothing sleeps.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class UdpSocketSuite {
    static final long TIMEOUT_SECONDS = 10;
    static final String LOOPBACK = "127.0.0.1";
    /** A host name that /etc/hosts answers with 127.0.0.1: a lookup on the resolver's pool, no DNS traffic. */
    static final String LOCALHOST = "localhost";

    private Transport transport;
    private AddressResolver resolver;
    private SocketRegistry registry;
    private final List<UdpSocket> sockets = new ArrayList<>();
    private final List<DatagramSocket> peers = new ArrayList<>();

    /** True for the native epoll transport, false for NIO. */
    abstract boolean epoll();

    @BeforeAll
    void startTransport() {
        transport = Transport.start(2, epoll());
        assertThat(transport.name()).as("the transport under test").isEqualTo(epoll() ? "epoll" : "nio");
        resolver = new AddressResolver(1);
        registry = new SocketRegistry(transport, resolver);
    }

    /**
     * Holds every name lookup asked for from now on until the returned handle is closed: the one
     * lookup thread runs a task that waits for it. Makes "a bind (or send) pending on its lookup" a
     * state a test can hold, rather than a race it might lose to a fast resolver.
     */
    AutoCloseable holdLookups() throws InterruptedException {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        resolver.execute(() -> {
            running.countDown();
            try {
                release.await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(running.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("the lookup thread is held").isTrue();
        return release::countDown;
    }

    @AfterAll
    void stopTransport() throws Exception {
        registry.closeAll().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        registry.close();
        transport.close();
    }

    @AfterEach
    void closeSockets() throws Exception {
        for (UdpSocket s : sockets) {
            s.close().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        sockets.clear();
        peers.forEach(DatagramSocket::close);
        peers.clear();
    }

    /** A socket and what it emits. */
    record Sock(UdpSocket socket, Recorder events) {}

    /** The outcome of one datagram: {@code error} null when {@code bytes} went out. */
    record Answer(long id, int bytes, DgramError error) {}

    Sock open() throws Exception {
        return open(SocketConfig.of(SocketConfig.Family.IPV4), SocketGuard.ALLOW_ALL);
    }

    Sock open(SocketConfig config, SocketGuard guard) throws Exception {
        Recorder events = new Recorder();
        UdpSocket socket = await(registry.create(config, null, "test", 64, c -> guard, c -> events));
        sockets.add(socket);
        return new Sock(socket, events);
    }

    /** A socket bound to 127.0.0.1, port chosen by the kernel; its 'listening' is still to be taken. */
    Sock openBound() throws Exception {
        Sock s = open();
        await(s.socket().bind(0, LOOPBACK));
        return s;
    }

    /** A 'message' event's payload as text. */
    static String text(SocketEvent.Message m) {
        return new String(m.data(), StandardCharsets.UTF_8);
    }

    SocketRegistry registry() {
        return registry;
    }

    /** A UDP peer on 127.0.0.1, port chosen by the kernel; its receive waits are bounded. */
    DatagramSocket peer() throws IOException {
        DatagramSocket peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        peer.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        peers.add(peer);
        return peer;
    }

    /** The next datagram {@code peer} receives, as text. */
    static String receive(DatagramSocket peer) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[65_536], 65_536);
        try {
            peer.receive(p);
        } catch (SocketTimeoutException e) {
            fail("no datagram within " + TIMEOUT_SECONDS + " s");
        }
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }

    /**
     * Proves that nothing reached {@code peer} before now: sends it a marker from another socket and
     * checks the marker is the first thing it receives.
     */
    static void assertNothingReceived(DatagramSocket peer) throws IOException {
        try (DatagramSocket marker = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            byte[] m = "marker".getBytes(StandardCharsets.UTF_8);
            marker.send(new DatagramPacket(m, m.length, peer.getLocalSocketAddress()));
        }
        assertThat(receive(peer)).as("the first datagram the peer received").isEqualTo("marker");
    }

    static void sendFrom(DatagramSocket peer, String text, InetSocketAddress to) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        peer.send(new DatagramPacket(b, b.length, to));
    }

    static UdpSocket.Outgoing datagram(long id, String text, int port, String address, boolean emitError) {
        return new UdpSocket.Outgoing(id, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), port, address, emitError);
    }

    /** Sends one datagram (errors not emitted as 'error'); the future completes with its answer. */
    static CompletableFuture<Answer> send(UdpSocket socket, String text, int port, String address) {
        return send(socket, List.of(datagram(0, text, port, address, false))).get(0);
    }

    /** Sends {@code datagrams} in one call; one future per datagram, in the same order, by id. */
    static List<CompletableFuture<Answer>> send(UdpSocket socket, List<UdpSocket.Outgoing> datagrams) {
        Map<Long, CompletableFuture<Answer>> byId = new ConcurrentHashMap<>();
        List<CompletableFuture<Answer>> answers = new ArrayList<>();
        for (UdpSocket.Outgoing d : datagrams) {
            CompletableFuture<Answer> answer = new CompletableFuture<>();
            assertThat(byId.put(d.id(), answer)).as("datagram ids are distinct").isNull();
            answers.add(answer);
        }
        socket.send(datagrams, (id, bytes, error, size) -> {
            assertThat(socket.eventLoop().inEventLoop()).as("answered on the socket's loop").isTrue();
            if (!byId.get(id).complete(new Answer(id, bytes, error))) {
                byId.get(id).obtrudeException(new AssertionError("datagram " + id + " answered twice"));
            }
        });
        return answers;
    }

    /** Runs {@code work} in one task on the socket's event loop: the calls in it see no other task between them. */
    static <T> T inOneTask(UdpSocket socket, Callable<T> work) throws Exception {
        return socket.eventLoop().submit(work).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    static <T> T await(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer within " + TIMEOUT_SECONDS + " s", e);
        }
    }

    /** The error {@code future} fails with, which must be a DgramError with {@code code}. */
    static DgramError failure(CompletableFuture<?> future, String code) throws Exception {
        try {
            Object value = future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            throw new AssertionError("expected " + code + ", got " + value);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer within " + TIMEOUT_SECONDS + " s (expected " + code + ")", e);
        } catch (ExecutionException e) {
            DgramError error = DgramError.causeOf(e.getCause());
            assertThat(error).as("a DgramError, not %s", e.getCause()).isNotNull();
            assertThat(error.code()).as("code of '%s'", error.getMessage()).isEqualTo(code);
            return error;
        }
    }

    /** The answer of a datagram that must have failed with {@code code}. */
    static DgramError sendFailure(CompletableFuture<Answer> answer, String code) throws Exception {
        Answer a = await(answer);
        assertThat(a.error()).as("datagram %s fails", a.id()).isNotNull();
        assertThat(a.error().code()).as("code of '%s'", a.error().getMessage()).isEqualTo(code);
        assertThat(a.bytes()).isZero();
        return a.error();
    }

    /** The answer of a datagram that must have gone out whole. */
    static void sent(CompletableFuture<Answer> answer, int bytes) throws Exception {
        Answer a = await(answer);
        assertThat(a.error()).as("datagram %s is sent", a.id()).isNull();
        assertThat(a.bytes()).isEqualTo(bytes);
    }
}
