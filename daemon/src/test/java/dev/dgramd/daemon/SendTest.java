package dev.dgramd.daemon;

import static dev.dgramd.proto.v1.SocketEvent.EventCase.CLOSE;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.LISTENING;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.MESSAGE;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.GetSendQueueCountRequest;
import dev.dgramd.proto.v1.GetSendQueueSizeRequest;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The unary Send RPC and 'message' events. */
class SendTest extends DaemonTestBase {

    private static SendRequest send(String id, byte[] data, int port, String address) {
        return SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFrom(data)).setPort(port)
                .setAddress(address).build();
    }

    @Test
    void sendOnAnUnboundSocketBindsItFirstOnAllInterfaces() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);

        int bytes = stub().send(send(id, "hello".getBytes(StandardCharsets.UTF_8), peer.getLocalPort(), "127.0.0.1"))
                .getBytes();
        assertThat(bytes).isEqualTo(5);

        var listening = events.next(LISTENING).getListening().getAddress();
        assertThat(listening.getAddress()).isEqualTo("0.0.0.0");
        DatagramPacket got = receive(peer);
        assertThat(new String(got.getData(), 0, got.getLength(), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(got.getPort()).isEqualTo(listening.getPort());
    }

    @Test
    void udp6ReachesIpv4PeersThroughIpv4MappedAddressesAsInNode() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP6);
        stub().send(send(id, new byte[] {6}, peer.getLocalPort(), "::ffff:127.0.0.1"));
        assertThat(receive(peer).getData()[0]).isEqualTo((byte) 6);
    }

    @Test
    void defaultAddressIsLoopbackAndHostNamesResolve() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().send(send(id, new byte[] {1}, peer.getLocalPort(), ""));
        stub().send(send(id, new byte[] {2}, peer.getLocalPort(), "localhost"));
        assertThat(receive(peer).getData()[0]).isEqualTo((byte) 1);
        assertThat(receive(peer).getData()[0]).isEqualTo((byte) 2);
    }

    @Test
    void incomingDatagramsBecomeMessageEventsWithRinfo() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        events.next(LISTENING);

        DatagramSocket peer = peer("127.0.0.1");
        byte[] big = new byte[60_000];
        Arrays.fill(big, (byte) 7);
        sendTo(peer, "one".getBytes(StandardCharsets.UTF_8), "127.0.0.1", port);
        sendTo(peer, new byte[0], "127.0.0.1", port);
        sendTo(peer, big, "127.0.0.1", port);

        Message one = events.next(MESSAGE).getMessage();
        assertThat(one.getData().toStringUtf8()).isEqualTo("one");
        assertThat(one.getRinfo().getAddress()).isEqualTo("127.0.0.1");
        assertThat(one.getRinfo().getFamily()).isEqualTo("IPv4");
        assertThat(one.getRinfo().getPort()).isEqualTo(peer.getLocalPort());
        assertThat(one.getRinfo().getSize()).isEqualTo(3);

        Message empty = events.next(MESSAGE).getMessage();
        assertThat(empty.getData().size()).isZero();
        assertThat(empty.getRinfo().getSize()).isZero();

        Message large = events.next(MESSAGE).getMessage();
        assertThat(large.getData().toByteArray()).isEqualTo(big);
    }

    @Test
    void emptyDatagramIsSent() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        assertThat(stub().send(send(id, new byte[0], peer.getLocalPort(), "127.0.0.1")).getBytes()).isZero();
        assertThat(receive(peer).getLength()).isZero();
    }

    @Test
    void largestDatagramsPassAndOneByteMoreIsEmsgsize() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        peer.setReceiveBufferSize(1 << 20);
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        assertThat(stub().send(send(id, new byte[65_507], peer.getLocalPort(), "127.0.0.1")).getBytes())
                .isEqualTo(65_507);
        assertThat(receive(peer).getLength()).isEqualTo(65_507);

        ErrorInfo info = expectError("EMSGSIZE", Status.Code.INVALID_ARGUMENT,
                () -> stub().send(send(id, new byte[65_508], peer.getLocalPort(), "127.0.0.1")));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "send").containsEntry("errno", "-90")
                .containsEntry("address", "127.0.0.1");
    }

    @Test
    void oversizeSendOnAnUnboundSocketBindsFirstThenFailsEmsgsize() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        expectError("EMSGSIZE", Status.Code.INVALID_ARGUMENT,
                () -> stub().send(send(id, new byte[65_520], 9, "127.0.0.1")));
        events.next(LISTENING); // as Node: the implicit bind happens, the kernel refuses the datagram
        assertThat(stub().address(AddressRequest.newBuilder().setSocketId(id).build()).getPort()).isPositive();
    }

    @Test
    void udp6SendsAndReceivesOnLoopback() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP6);
        EventRecorder events = events(id);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("::1").build())
                .getAddress().getPort();
        events.next(LISTENING);
        DatagramSocket peer = peer("::1");
        sendTo(peer, "six".getBytes(StandardCharsets.UTF_8), "::1", port);
        Message m = events.next(MESSAGE).getMessage();
        assertThat(m.getRinfo().getAddress()).isEqualTo("::1");
        assertThat(m.getRinfo().getFamily()).isEqualTo("IPv6");

        stub().send(send(id, "back".getBytes(StandardCharsets.UTF_8), peer.getLocalPort(), "::1"));
        assertThat(receive(peer).getLength()).isEqualTo(4);
        expectError("EMSGSIZE", Status.Code.INVALID_ARGUMENT,
                () -> stub().send(send(id, new byte[65_528], peer.getLocalPort(), "::1")));
    }

    @Test
    void udp6DualStackShowsIpv4PeersAsMappedAddresses() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP6);
        EventRecorder events = events(id);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).build()).getAddress().getPort();
        events.next(LISTENING);
        DatagramSocket peer = peer("127.0.0.1");
        sendTo(peer, new byte[] {9}, "127.0.0.1", port);
        Message m = events.next(MESSAGE).getMessage();
        assertThat(m.getRinfo().getAddress()).isEqualTo("::ffff:127.0.0.1");
        assertThat(m.getRinfo().getFamily()).isEqualTo("IPv6");
    }

    @Test
    void badPortsAreRejected() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        for (int port : new int[] {0, -1, 65_536}) {
            expectError("ERR_SOCKET_BAD_PORT", Status.Code.INVALID_ARGUMENT,
                    () -> stub().send(send(id, new byte[1], port, "127.0.0.1")));
        }
    }

    @Test
    void wrongFamilyAddressIsEinval() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo info = expectError("EINVAL", Status.Code.INVALID_ARGUMENT,
                () -> stub().send(send(id, new byte[1], 9, "::1")));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "send");
    }

    @Test
    void unknownAndMalformedHostsAreEnotfound() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        for (String host : new String[] {"no-such-host.invalid", "not an address!", "\u2603", "300.1.2.3.4.5"}) {
            ErrorInfo info = expectError("ENOTFOUND", Status.Code.NOT_FOUND,
                    () -> stub().send(send(id, new byte[1], 9, host)));
            assertThat(info.getMetadataMap()).containsEntry("syscall", "getaddrinfo");
        }
    }

    @Test
    void sendAfterCloseIsNotRunning() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        events.next(CLOSE);
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.FAILED_PRECONDITION,
                () -> stub().send(send(id, new byte[1], 9, "127.0.0.1")));
    }

    @Test
    void sendQueueIsEmptyOnceSendsAreAnswered() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().send(send(id, new byte[100], 9, "127.0.0.1"));
        assertThat(stub().getSendQueueSize(GetSendQueueSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isZero();
        assertThat(stub().getSendQueueCount(GetSendQueueCountRequest.newBuilder().setSocketId(id).build()).getCount()).isZero();
    }

    @Test
    void closeWhileTheImplicitBindIsPendingStillSendsFirst() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        var sent = async.withDeadlineAfter(TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        var result = new java.util.concurrent.CompletableFuture<Integer>();
        sent.send(send(id, "last".getBytes(StandardCharsets.UTF_8), peer.getLocalPort(), "localhost"),
                new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(dev.dgramd.proto.v1.SendResponse r) {
                        result.complete(r.getBytes());
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        assertThat(result.get(TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(4);
        assertThat(receive(peer).getLength()).isEqualTo(4);
        events.next(LISTENING);
        events.next(CLOSE);
    }
}
