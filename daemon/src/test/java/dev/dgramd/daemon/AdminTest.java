package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CloseSocketRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendTestRequest;
import dev.dgramd.proto.v1.SendTestResponse;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.StatsRequest;
import dev.dgramd.proto.v1.StatsResponse;
import dev.dgramd.proto.v1.TapDirection;
import dev.dgramd.proto.v1.TapResponse;
import dev.dgramd.proto.v1.TapRequest;
import dev.dgramd.proto.v1.TappedDatagram;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The dgramd.v1.Admin service over real gRPC, against real sockets and real UDP traffic on loopback. */
class AdminTest extends DaemonTestBase {

    private static AdminGrpc.AdminBlockingStub admin() {
        return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void listSocketsShowsAddressesCountersAndCreationTime() throws Exception {
        Instant before = Instant.now();
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder aEvents = events(a);
        int aPort = stub().bind(BindRequest.newBuilder().setSocketId(a).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        aEvents.next(EventCase.LISTENING);
        String b = create(SocketType.SOCKET_TYPE_UDP6);
        stub().connect(ConnectRequest.newBuilder().setSocketId(b).setAddress("::1").setPort(4242).build());
        String unbound = create(SocketType.SOCKET_TYPE_UDP4);
        Instant after = Instant.now();

        DatagramSocket peer = peer("127.0.0.1");
        for (int i = 0; i < 2; i++) {
            stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFromUtf8("abc"))
                    .setAddress("127.0.0.1").setPort(peer.getLocalPort()).build());
            receive(peer);
        }
        sendTo(peer, new byte[7], "127.0.0.1", aPort);
        aEvents.next(EventCase.MESSAGE);

        SocketInfo infoA = find(a);
        assertThat(infoA.getType()).isEqualTo(SocketType.SOCKET_TYPE_UDP4);
        assertThat(infoA.getLocal().getAddress()).isEqualTo("127.0.0.1");
        assertThat(infoA.getLocal().getPort()).isEqualTo(aPort);
        assertThat(infoA.hasRemote()).isFalse();
        assertThat(infoA.getDatagramsSent()).isEqualTo(2);
        assertThat(infoA.getBytesSent()).isEqualTo(6);
        assertThat(infoA.getDatagramsReceived()).isEqualTo(1);
        assertThat(infoA.getBytesReceived()).isEqualTo(7);
        assertThat(infoA.getEventsAttached()).isTrue();
        assertThat(infoA.getTaps()).isZero();
        Instant created = Instant.ofEpochSecond(infoA.getCreatedTime().getSeconds(), infoA.getCreatedTime().getNanos());
        assertThat(created).isBetween(before, after);

        SocketInfo infoB = find(b);
        assertThat(infoB.getType()).isEqualTo(SocketType.SOCKET_TYPE_UDP6);
        assertThat(infoB.getRemote().getAddress()).isEqualTo("::1");
        assertThat(infoB.getRemote().getPort()).isEqualTo(4242);
        assertThat(infoB.getLocal().getPort()).as("bound implicitly by connect").isPositive();
        assertThat(infoB.getEventsAttached()).isFalse();

        assertThat(find(unbound).hasLocal()).isFalse();
        var ids = admin().listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .map(SocketInfo::getSocketId).toList();
        assertThat(ids).containsSubsequence(a, b, unbound); // oldest first
    }

    @Test
    void statsCountsSinceStartIncludingClosedSockets() throws Exception {
        StatsResponse before = admin().stats(StatsRequest.getDefaultInstance());
        assertThat(before.getVersion()).isEqualTo(Dgramd.version()).isNotEqualTo("unknown");
        assertThat(before.getTransport()).isEqualTo(daemon.transport());
        assertThat(before.getUptime().getSeconds() * 1_000_000_000L + before.getUptime().getNanos()).isPositive();

        String a = create(SocketType.SOCKET_TYPE_UDP4);
        DatagramSocket peer = peer("127.0.0.1");
        stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFromUtf8("12345"))
                .setAddress("127.0.0.1").setPort(peer.getLocalPort()).build());
        receive(peer);
        stub().close(CloseRequest.newBuilder().setSocketId(a).build());

        StatsResponse after = admin().stats(StatsRequest.getDefaultInstance());
        assertThat(after.getSocketsCreated() - before.getSocketsCreated()).isEqualTo(1);
        assertThat(after.getSocketsClosed() - before.getSocketsClosed()).isEqualTo(1);
        assertThat(after.getSocketsOpen()).isEqualTo(before.getSocketsOpen());
        assertThat(after.getDatagramsSent() - before.getDatagramsSent()).isEqualTo(1);
        assertThat(after.getBytesSent() - before.getBytesSent()).isEqualTo(5);
        assertThat(after.getStartedTime()).isEqualTo(before.getStartedTime());
    }

    @Test
    void closeSocketEndsItsEventStreamAndIsIdempotent() throws Exception {
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(a);
        assertThat(admin().closeSocket(CloseSocketRequest.newBuilder().setSocketId(a).build()).getAlreadyClosed())
                .isFalse();
        events.next(EventCase.CLOSE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(admin().closeSocket(CloseSocketRequest.newBuilder().setSocketId(a).build()).getAlreadyClosed())
                .isTrue();
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.NOT_FOUND,
                () -> admin().closeSocket(CloseSocketRequest.newBuilder().setSocketId("no-such-socket").build()));
    }

    @Test
    void tapCopiesDatagramsInAndOutAndEndsWhenTheSocketCloses() throws Exception {
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        events(a);
        int aPort = stub().bind(BindRequest.newBuilder().setSocketId(a).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        try (TapRecorder tap = TapRecorder.start(AdminGrpc.newStub(channel), a, false)) {
            TapResponse attached = tap.next();
            assertThat(attached.hasAttached()).isTrue();
            assertThat(attached.getAttached().getType()).isEqualTo(SocketType.SOCKET_TYPE_UDP4);
            assertThat(attached.getAttached().getLocal().getPort()).isEqualTo(aPort);
            assertThat(find(a).getTaps()).isEqualTo(1);

            DatagramSocket peer = peer("127.0.0.1");
            sendTo(peer, "in".getBytes(StandardCharsets.UTF_8), "127.0.0.1", aPort);
            TappedDatagram in = tap.next().getDatagram();
            assertThat(in.getDirection()).isEqualTo(TapDirection.TAP_DIRECTION_RECEIVED);
            assertThat(in.getPeer().getAddress()).isEqualTo("127.0.0.1");
            assertThat(in.getPeer().getPort()).isEqualTo(peer.getLocalPort());
            assertThat(in.getData().toStringUtf8()).isEqualTo("in");
            assertThat(in.hasTime()).isTrue();

            stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFromUtf8("out"))
                    .setAddress("127.0.0.1").setPort(peer.getLocalPort()).build());
            TappedDatagram out = tap.next().getDatagram();
            assertThat(out.getDirection()).isEqualTo(TapDirection.TAP_DIRECTION_SENT);
            assertThat(out.getPeer().getPort()).isEqualTo(peer.getLocalPort());
            assertThat(out.getData().toStringUtf8()).isEqualTo("out");

            stub().close(CloseRequest.newBuilder().setSocketId(a).build());
            tap.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS); // completed OK
            assertThat(tap.dropped()).isZero();
        }
    }

    @Test
    void aSlowTapDropsAndCountsButNeverSlowsTheSocket() throws Exception {
        // A client with a small HTTP/2 window that reads nothing: the daemon cannot push the copies out.
        ManagedChannel slow = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext()
                .flowControlWindow(65_536).build();
        try {
            String a = create(SocketType.SOCKET_TYPE_UDP4);
            DatagramSocket sink = peer("127.0.0.1");
            long tapDroppedBefore = admin().stats(StatsRequest.getDefaultInstance()).getTapDropped();
            try (TapRecorder tap = TapRecorder.start(AdminGrpc.newStub(slow), a, true)) {
                tap.request(1);
                assertThat(tap.next().hasAttached()).isTrue();
                int sends = 100;
                byte[] payload = new byte[60_000];
                for (int i = 0; i < sends; i++) {
                    // Each send is answered once the kernel took it, after its copy went to the tap (or was dropped).
                    assertThat(stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFrom(payload))
                            .setAddress("127.0.0.1").setPort(sink.getLocalPort()).build()).getBytes())
                            .isEqualTo(payload.length);
                }
                tap.request(Integer.MAX_VALUE);
                long copied = 0;
                while (copied + tap.dropped() < sends) {
                    TapResponse e = tap.next();
                    if (e.hasDatagram()) {
                        assertThat(e.getDatagram().getData().size()).isEqualTo(payload.length);
                        copied++;
                    }
                }
                assertThat(copied + tap.dropped()).isEqualTo(sends);
                assertThat(tap.dropped()).as("copies dropped from the tap").isPositive();
                assertThat(copied).as("copies that fit the tap's bound were delivered").isPositive();
                assertThat(find(a).getDatagramsSent()).isEqualTo(sends);
                assertThat(admin().stats(StatsRequest.getDefaultInstance()).getTapDropped() - tapDroppedBefore)
                        .isEqualTo(tap.dropped());
            }
        } finally {
            slow.shutdownNow().awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void tapOfAnUnknownSocketFails() throws Exception {
        try (TapRecorder tap = TapRecorder.start(AdminGrpc.newStub(channel), "no-such-socket", false)) {
            assertThat(tap.done()).failsWithin(TIMEOUT_SECONDS, TimeUnit.SECONDS).withThrowableThat()
                    .withMessageContaining("NOT_FOUND");
        }
    }

    @Test
    void sendTestFromAFreshSocketClosesItAfterwards() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        int openBefore = daemon.openSockets();
        SendTestResponse r = admin().sendTest(SendTestRequest.newBuilder().setAddress("127.0.0.1")
                .setPort(peer.getLocalPort()).setData(ByteString.copyFromUtf8("probe")).build());
        DatagramPacket p = receive(peer);
        assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8)).isEqualTo("probe");
        assertThat(r.getBytes()).isEqualTo(5);
        assertThat(r.getLocal().getPort()).isEqualTo(p.getPort());
        assertThat(r.getSocketId()).isNotEmpty();
        assertThat(daemon.openSockets()).isEqualTo(openBefore);
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.FAILED_PRECONDITION,
                () -> stub().address(AddressRequest.newBuilder().setSocketId(r.getSocketId()).build()));
    }

    @Test
    void sendTestFromAnExistingSocketCountsOnIt() throws Exception {
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        DatagramSocket peer = peer("127.0.0.1");
        SendTestResponse r = admin().sendTest(SendTestRequest.newBuilder().setSocketId(a).setAddress("127.0.0.1")
                .setPort(peer.getLocalPort()).setData(ByteString.copyFromUtf8("hi")).build());
        DatagramPacket p = receive(peer);
        assertThat(r.getSocketId()).isEqualTo(a);
        assertThat(p.getPort()).isEqualTo(r.getLocal().getPort());
        assertThat(find(a).getDatagramsSent()).isEqualTo(1);
    }

    @Test
    void sendTestReportsSendErrorsAndLeavesNoSocketBehind() {
        int openBefore = daemon.openSockets();
        expectError("ERR_SOCKET_BAD_PORT", Status.Code.INVALID_ARGUMENT,
                () -> admin().sendTest(SendTestRequest.newBuilder().setAddress("127.0.0.1").setPort(0).build()));
        assertThat(daemon.openSockets()).isEqualTo(openBefore);
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.NOT_FOUND,
                () -> admin().sendTest(SendTestRequest.newBuilder().setSocketId("no-such-socket").setPort(9).build()));
    }

    @Test
    void adminServiceIsHealthChecked() {
        assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("dgramd.v1.Admin").build()).getStatus())
                .isEqualTo(ServingStatus.SERVING);
    }

    private static SocketInfo find(String id) {
        return admin().listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .filter(s -> s.getSocketId().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("socket " + id + " not listed"));
    }

    /** Collects one Tap stream; waits on its events with a bounded timeout. */
    static final class TapRecorder implements ClientResponseObserver<TapRequest, TapResponse>, AutoCloseable {
        private final LinkedBlockingQueue<TapResponse> events = new LinkedBlockingQueue<>();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private final AtomicLong dropped = new AtomicLong();
        private final boolean manualFlow;
        private volatile ClientCallStreamObserver<TapRequest> call;

        private TapRecorder(boolean manualFlow) {
            this.manualFlow = manualFlow;
        }

        static TapRecorder start(AdminGrpc.AdminStub stub, String socketId, boolean manualFlow) {
            TapRecorder r = new TapRecorder(manualFlow);
            stub.tap(TapRequest.newBuilder().setSocketId(socketId).build(), r);
            return r;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<TapRequest> requestStream) {
            call = requestStream;
            if (manualFlow) {
                requestStream.disableAutoRequestWithInitial(0);
            }
        }

        void request(int n) {
            call.request(n);
        }

        @Override
        public void onNext(TapResponse e) {
            dropped.addAndGet(e.getDropped());
            events.add(e);
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(null);
        }

        TapResponse next() throws InterruptedException {
            TapResponse e = events.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(e).as("a tap event within %s s (the call: %s)", TIMEOUT_SECONDS, done).isNotNull();
            return e;
        }

        long dropped() {
            return dropped.get();
        }

        CompletableFuture<Void> done() {
            return done;
        }

        @Override
        public void close() {
            if (!done.isDone()) {
                call.cancel("test over", null);
            }
        }
    }
}
