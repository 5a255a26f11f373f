package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.handover.HandOverTaker;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.daemon.udp.Transport;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketInfo;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hand-over between two daemons (two in this JVM, as two processes would be; the descriptors
 * pass over the hand-over socket all the same), seen through the contract: what the old process's
 * streams and calls get, what the new one holds, and what happens when the new one goes away
 * before it took the sockets.
 */
class HandOverTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    private Path dir;
    private Path handOver;
    private Dgramd old;
    private Dgramd taker;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory("dgramd-handover");
        handOver = dir.resolve("handover.sock");
        old = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll())
                .handOverSocket(handOver));
        channel = NettyChannelBuilder.forTarget(old.target()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (taker != null) {
            taker.close();
        }
        old.close();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    private DgramGrpc.DgramBlockingStub stub() {
        return DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private Dgramd takeOver() throws IOException {
        taker = Dgramd.start(new DgramdOptions().listen(old.target()).policy(Policy.allowAll()).takeOver(handOver));
        return taker;
    }

    @Test
    void theNewProcessHasTheSocketsAsTheyWereAndTheOldStreamEndsWithRestarting() throws Exception {
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            peer.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
            String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                    .setName("syslog-in").setKeepAlive(com.google.protobuf.Duration.newBuilder().setSeconds(60))
                    .build()).getSocketId();
            int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            stub().connect(ConnectRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1")
                    .setPort(peer.getLocalPort()).build());
            EventRecorder events = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
            events.next(SocketEvent.EventCase.LISTENING);
            events.next(SocketEvent.EventCase.CONNECT);
            send(peer, port, "before");
            assertThat(events.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                    .isEqualTo("before");

            takeOver();
            // The old stream ends with "restarting", after everything it had sent.
            assertThatThrownBy(() -> events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause().satisfies(t -> {
                        assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                        assertThat(DaemonTestBase.errorInfo(t).getReason()).isEqualTo("ERR_DGRAMD_RESTARTING");
                    });
            old.awaitTermination();
            assertThat(old.handedOver()).isTrue();
            send(peer, port, "while nobody listens"); // kept by the new process for the re-attach

            ManagedChannel next = NettyChannelBuilder.forTarget(taker.target()).usePlaintext().build();
            try {
                EventRecorder again = EventRecorder.subscribe(DgramGrpc.newStub(next), id);
                assertThat(again.announcedId()).as("a re-attach is announced").isEqualTo(id);
                assertThat(again.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                        .as("no 'listening' again, nothing twice: the next event is the next datagram")
                        .isEqualTo("while nobody listens");
                SocketInfo info = AdminGrpc.newBlockingStub(next).listSockets(ListSocketsRequest.getDefaultInstance())
                        .getSocketsList().get(0);
                assertThat(info.getSocketId()).isEqualTo(id);
                assertThat(info.getName()).isEqualTo("syslog-in");
                assertThat(info.getLocal().getPort()).isEqualTo(port);
                assertThat(info.getRemote().getPort()).isEqualTo(peer.getLocalPort());
                assertThat(info.getDatagramsReceived()).as("the counts go on").isEqualTo(2);
                assertThat(info.getEventsAttached()).isTrue();
                // The socket is still connected to the peer, in the kernel: a send reaches it.
                DgramGrpc.newBlockingStub(next).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .send(dev.dgramd.proto.v1.SendRequest.newBuilder().setSocketId(id)
                                .setData(com.google.protobuf.ByteString.copyFromUtf8("after")).build());
                DatagramPacket p = new DatagramPacket(new byte[64], 64);
                peer.receive(p);
                assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8)).isEqualTo("after");
                assertThat(p.getPort()).isEqualTo(port);
                again.close();
            } finally {
                next.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aSessionSlotEndsWithRestartingAndItsSocketIsTakenBackOnASessionOfTheNewProcess() throws Exception {
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             SessionRecorder session = new SessionRecorder(DgramGrpc.newStub(channel))) {
            session.openBound(1, 8);
            String id = session.id(1);
            int port = session.next(1).getListening().getAddress().getPort();

            takeOver();
            SessionEnd end = session.awaitEnd(1);
            assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE.value());
            assertThat(com.google.rpc.Status.parseFrom(end.getDetails()).getDetails(0)
                    .unpack(com.google.rpc.ErrorInfo.class).getReason()).isEqualTo("ERR_DGRAMD_RESTARTING");
            assertThatThrownBy(() -> session.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                    .satisfies(t -> assertThat(DaemonTestBase.errorInfo(t).getReason()).isEqualTo("ERR_DGRAMD_RESTARTING"));
            old.awaitTermination();
            send(peer, port, "kept");

            ManagedChannel next = NettyChannelBuilder.forTarget(taker.target()).usePlaintext().build();
            try (SessionRecorder again = new SessionRecorder(DgramGrpc.newStub(next))) {
                again.open(2, dev.dgramd.proto.v1.EventsRequest.newBuilder().setSocketId(id).build(), 8);
                assertThat(again.id(2)).as("a re-attach is announced").isEqualTo(id);
                assertThat(again.next(2).getMessage().getData().toStringUtf8()).isEqualTo("kept");
                again.closeSlot(2);
                assertThat(again.next(2).getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
                assertThat(again.awaitEnd(2).getCode()).isZero();
            } finally {
                next.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void callsDuringTheHandOverAreRefusedAndATakerThatGoesAwayLeavesTheSocketsWithTheOldProcess()
            throws Exception {
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             Transport transport = Transport.start(1, true)) {
            String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                    .build()).getSocketId();
            int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            EventRecorder events = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
            events.next(SocketEvent.EventCase.LISTENING);

            HandOverTaker halfway = HandOverTaker.connect(handOver, transport.group(), Duration.ofSeconds(TIMEOUT_SECONDS));
            try {
                assertThat(halfway.sockets()).hasSize(1);
                assertThat(halfway.sockets().get(0).socket().id()).isEqualTo(id);
                // The sockets are stopped: every call is refused, to be made again on the new process.
                assertThatThrownBy(() -> stub().createSocket(CreateSocketRequest.newBuilder()
                        .setType(SocketType.SOCKET_TYPE_UDP4).build()))
                        .isInstanceOf(StatusRuntimeException.class)
                        .satisfies(t -> assertThat(DaemonTestBase.errorInfo(t).getReason())
                                .isEqualTo("ERR_DGRAMD_RESTARTING"));
                send(peer, port, "kept by the kernel");
                // A second taker is refused while one is under way.
                assertThatThrownBy(() -> HandOverTaker.connect(handOver, transport.group(), Duration.ofSeconds(5)))
                        .isInstanceOf(IOException.class).hasMessageContaining("another hand-over");
            } finally {
                halfway.fail("a test that gives up");
                new io.netty.channel.unix.FileDescriptor(halfway.sockets().get(0).socket().fd()).close();
            }
            assertThatThrownBy(() -> events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
                    .cause().satisfies(t -> assertThat(DaemonTestBase.errorInfo(t).getReason())
                            .isEqualTo("ERR_DGRAMD_RESTARTING"));
            // The old process goes on: the stream re-attaches there, and what arrived meanwhile comes.
            EventRecorder again = awaitReattached(id);
            assertThat(again.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                    .isEqualTo("kept by the kernel");
            send(peer, port, "read again");
            assertThat(again.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                    .isEqualTo("read again");
            assertThat(old.handedOver()).isFalse();
            again.close();
        }
    }

    @Test
    void aDaemonOnAUnixSocketHandsOverOnTheSamePath() throws Exception {
        Path grpc = dir.resolve("grpc.sock");
        Path unixHandOver = dir.resolve("unix-handover.sock");
        try (Dgramd onUnix = Dgramd.start(new DgramdOptions().listen("unix:" + grpc).policy(Policy.allowAll())
                .handOverSocket(unixHandOver))) {
            ManagedChannel c = io.grpc.Grpc.newChannelBuilder(onUnix.target(), io.grpc.InsecureChannelCredentials.create())
                    .build();
            try {
                String id = DgramGrpc.newBlockingStub(c).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                        .getSocketId();
                try (Dgramd next = Dgramd.start(new DgramdOptions().listen("unix:" + grpc).policy(Policy.allowAll())
                        .takeOver(unixHandOver))) {
                    onUnix.awaitTermination();
                    assertThat(onUnix.handedOver()).isTrue();
                    assertThat(Files.exists(grpc)).as("the new process's socket file stays").isTrue();
                    assertThat(next.openSockets()).isEqualTo(1);
                    ManagedChannel d = io.grpc.Grpc.newChannelBuilder(next.target(),
                            io.grpc.InsecureChannelCredentials.create()).build();
                    try {
                        EventRecorder again = EventRecorder.subscribe(DgramGrpc.newStub(d), id);
                        assertThat(again.announcedId()).isEqualTo(id);
                        again.close();
                    } finally {
                        d.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                    }
                }
            } finally {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void takingOverWhereNobodyListensFailsWithTheReason() {
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("127.0.0.1:0")
                .takeOver(dir.resolve("nobody.sock"))))
                .isInstanceOf(IOException.class).hasMessageContaining("nobody.sock").hasMessageContaining("connect");
    }

    /** Re-attaches to {@code id} on the old daemon, once its calls are taken again (a few tries at most). */
    private EventRecorder awaitReattached(String id) throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            EventRecorder r = EventRecorder.subscribe(DgramGrpc.newStub(channel), id);
            try {
                assertThat(r.announcedId()).isEqualTo(id);
                return r;
            } catch (AssertionError | ExecutionException e) {
                r.close(); // the gate opens a moment after the taker went away
            }
        }
        throw new AssertionError("could not re-attach to " + id + " on the old daemon");
    }

    private static void send(DatagramSocket from, int port, String text) throws IOException {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }
}
