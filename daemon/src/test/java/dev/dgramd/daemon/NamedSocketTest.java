package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.TIMEOUT_SECONDS;
import static dev.dgramd.daemon.DaemonTestBase.errorInfo;
import static dev.dgramd.daemon.DaemonTestBase.expectError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.CreateSocketResponse;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Named sockets (CreateSocketRequest.name): a socket whose client went away is found again by its
 * name within its keep-alive, with its state reported as events ('listening', 'connect') and the
 * datagrams that arrived meanwhile; names are per principal; the keep-alive is the socket's within
 * the policy's quotas.maxKeepAliveSeconds.
 */
class NamedSocketTest {
    private final List<AutoCloseable> resources = new ArrayList<>();
    private Dgramd daemon;
    private ManagedChannel channel;
    private DgramGrpc.DgramBlockingStub stub;
    private DgramGrpc.DgramStub async;

    private void start(DgramdOptions options) throws Exception {
        daemon = Dgramd.start(options.listen("127.0.0.1:0"));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable r : resources) {
            r.close();
        }
        if (channel != null) {
            channel.shutdownNow().awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static CreateSocketRequest.Builder named(String name) {
        return CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).setName(name);
    }

    /** Events{create, bind to 127.0.0.1:0}, closed after the test. */
    private EventRecorder open(CreateSocketRequest.Builder create) {
        EventRecorder r = EventRecorder.open(async, EventsRequest.newBuilder().setCreate(create)
                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1")).build(), false);
        resources.add(r);
        return r;
    }

    private DatagramSocket peer() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        resources.add(s);
        return s;
    }

    private static void send(DatagramSocket from, String text, int port) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }

    private SocketInfo info(String id) {
        return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .filter(s -> s.getSocketId().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void aNamedSocketIsFoundAgainWithItsStateAndTheDatagramsThatCameMeanwhile() throws Exception {
        start(new DgramdOptions().policy(Policy.allowAll()));
        EventRecorder first = open(named("syslog-in"));
        String id = first.announcedId();
        assertThat(first.attachedToNamed()).as("a new socket").isFalse();
        int port = first.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort();
        assertThat(info(id).getName()).isEqualTo("syslog-in");

        first.close(); // the client goes away
        DaemonTestBase.awaitDetached(channel, id);
        DatagramSocket peer = peer();
        send(peer, "one", port);
        send(peer, "two", port);

        // The same program, restarted, runs the same create+bind: it gets the socket back.
        EventRecorder second = open(named("syslog-in"));
        assertThat(second.announcedId()).isEqualTo(id);
        assertThat(second.attachedToNamed()).isTrue();
        assertThat(second.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort())
                .as("'listening' with the port it has").isEqualTo(port);
        assertThat(second.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("one");
        assertThat(second.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("two");
        assertThat(second.dropped()).isZero();
        assertThat(daemon.openSockets()).isEqualTo(1);

        // CreateSocket names the same socket; a second stream on it is refused as for its id.
        CreateSocketResponse again = stub().createSocket(named("syslog-in").build());
        assertThat(again.getSocketId()).isEqualTo(id);
        assertThat(again.getAttached()).isTrue();
        EventRecorder third = open(named("syslog-in"));
        assertThatThrownBy(() -> third.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .satisfies(t -> assertThat(errorInfo(t).getReason()).isEqualTo("ERR_EVENTS_ALREADY_ATTACHED"));

        // Once closed, the name is free: the next create makes a new socket.
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        second.next(SocketEvent.EventCase.CLOSE);
        CreateSocketResponse fresh = stub().createSocket(named("syslog-in").build());
        assertThat(fresh.getAttached()).isFalse();
        assertThat(fresh.getSocketId()).isNotEqualTo(id);
        stub().close(CloseRequest.newBuilder().setSocketId(fresh.getSocketId()).build());
    }

    @Test
    void aConnectedNamedSocketReportsListeningThenConnect() throws Exception {
        start(new DgramdOptions().policy(Policy.allowAll()));
        DatagramSocket peer = peer();
        EventRecorder first = open(named("upstream"));
        String id = first.announcedId();
        first.next(SocketEvent.EventCase.LISTENING);
        stub().connect(ConnectRequest.newBuilder().setSocketId(id).setPort(peer.getLocalPort()).setAddress("127.0.0.1")
                .build());
        first.next(SocketEvent.EventCase.CONNECT);
        first.close();
        DaemonTestBase.awaitDetached(channel, id);

        EventRecorder second = open(named("upstream"));
        assertThat(second.announcedId()).isEqualTo(id);
        second.next(SocketEvent.EventCase.LISTENING);
        assertThat(second.next(SocketEvent.EventCase.CONNECT).getConnect().getRemote().getPort())
                .isEqualTo(peer.getLocalPort());
        assertThat(second.poll()).as("nothing else was queued").isNull();
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    @Test
    void datagramsBeyondTheBoundAreCountedNotLost() throws Exception {
        start(new DgramdOptions().policy(Policy.allowAll()).maxQueuedEventBytes(64 * 1024));
        EventRecorder first = open(named("bounded"));
        String id = first.announcedId();
        int port = first.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort();
        first.close();
        DaemonTestBase.awaitDetached(channel, id);
        DatagramSocket peer = peer();
        int sent = 60; // 60 x 2,000 bytes: more than the 64 KiB bound
        byte[] payload = new byte[2000];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        for (int i = 1; i <= sent; i++) {
            peer.send(new DatagramPacket(payload, payload.length, InetAddress.getLoopbackAddress(), port));
            // One at a time, so that no kernel buffer overflows on a busy machine: each round asks
            // Admin until the daemon has read it (kept or dropped).
            while (info(id).getDatagramsReceived() < i && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }
        assertThat(info(id).getDatagramsReceived()).isEqualTo(sent);

        EventRecorder second = open(named("bounded"));
        second.next(SocketEvent.EventCase.LISTENING);
        int messages = 0;
        for (SocketEvent e = second.poll(); messages + second.dropped() < sent; e = second.poll()) {
            if (e == null) {
                e = second.next();
            }
            assertThat(e.getEventCase()).isEqualTo(SocketEvent.EventCase.MESSAGE);
            messages++;
        }
        assertThat(second.dropped()).as("dropped beyond the bound, and said so").isPositive();
        assertThat(messages + second.dropped()).isEqualTo(sent);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    @Test
    void theKeepAliveIsTheSocketsChoiceWithinThePolicy() throws Exception {
        start(new DgramdOptions().policy(Policy.parse("default: {quotas: {maxKeepAliveSeconds: 60}}", "test-policy")));
        ErrorInfo tooLong = expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().createSocket(
                named("long").setKeepAlive(Duration.newBuilder().setSeconds(61)).build()));
        assertThat(tooLong.getMetadataMap()).containsKey("policy");
        assertThat(tooLong.getMetadataMap().get("policy")).contains("quotas.maxKeepAliveSeconds 60");
        expectError("ERR_INVALID_ARG_VALUE", Status.Code.INVALID_ARGUMENT, () -> stub().createSocket(
                named("negative").setKeepAlive(Duration.newBuilder().setSeconds(-1)).build()));
        assertThat(daemon.openSockets()).isZero();

        // Zero: closed as soon as its stream goes away.
        EventRecorder events = open(named("brief").setKeepAlive(Duration.getDefaultInstance()));
        String id = events.announcedId();
        events.next(SocketEvent.EventCase.LISTENING);
        java.util.concurrent.CompletableFuture<Void> closed = DaemonTestBase.tapUntilClose(channel, id);
        events.close();
        closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(daemon.openSockets()).as("socket %s reaped", id).isZero();
    }

    @Test
    void badNamesAndAnotherTypeAreRefused() throws Exception {
        start(new DgramdOptions().policy(Policy.allowAll()));
        for (String bad : new String[] {"has space", "x".repeat(129), "naïve", "semi;colon"}) {
            expectError("ERR_INVALID_ARG_VALUE", Status.Code.INVALID_ARGUMENT,
                    () -> stub().createSocket(named(bad).build()));
        }
        String id = stub().createSocket(named("v4-only").build()).getSocketId();
        ErrorInfo other = expectError("ERR_INVALID_ARG_VALUE", Status.Code.INVALID_ARGUMENT, () -> stub().createSocket(
                named("v4-only").setType(SocketType.SOCKET_TYPE_UDP6).build()));
        assertThat(other.getReason()).isEqualTo("ERR_INVALID_ARG_VALUE");
        assertThat(daemon.openSockets()).isEqualTo(1);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
    }
}
