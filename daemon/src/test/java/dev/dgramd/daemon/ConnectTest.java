package dev.dgramd.daemon;

import static dev.dgramd.proto.v1.SocketEvent.EventCase.CONNECT;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.ERROR;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.LISTENING;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.MESSAGE;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.DisconnectRequest;
import dev.dgramd.proto.v1.RemoteAddressRequest;
import dev.dgramd.proto.v1.RemoteAddressResponse;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import java.net.DatagramSocket;
import org.junit.jupiter.api.Test;

/** Connect, Disconnect, RemoteAddress. */
class ConnectTest extends DaemonTestBase {

    private static ConnectRequest connect(String id, int port, String address) {
        return ConnectRequest.newBuilder().setSocketId(id).setPort(port).setAddress(address).build();
    }

    private static SendRequest send(String id, int port, String address) {
        return SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFromUtf8("x")).setPort(port)
                .setAddress(address).build();
    }

    @Test
    void connectBindsThenConnectsAndSendsGoToThePeer() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);

        AddressInfo remote = stub().connect(connect(id, peer.getLocalPort(), "")).getRemote();
        assertThat(remote.getAddress()).isEqualTo("127.0.0.1");
        assertThat(remote.getPort()).isEqualTo(peer.getLocalPort());
        events.next(LISTENING);
        assertThat(events.next(CONNECT).getConnect().getRemote()).isEqualTo(remote);
        // RemoteAddressResponse has AddressInfo's fields and numbers: its bytes read as one are the same peer.
        assertThat(AddressInfo.parseFrom(stub().remoteAddress(RemoteAddressRequest.newBuilder().setSocketId(id).build())
                .toByteString())).isEqualTo(remote);

        assertThat(stub().send(send(id, 0, "")).getBytes()).isEqualTo(1);
        receive(peer);

        int local = stub().address(AddressRequest.newBuilder().setSocketId(id).build()).getPort();
        sendTo(peer, new byte[] {5}, "127.0.0.1", local);
        assertThat(events.next(MESSAGE).getMessage().getRinfo().getPort()).isEqualTo(peer.getLocalPort());
    }

    @Test
    void connectedSocketRejectsAnExplicitDestinationAndASecondConnect() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().connect(connect(id, 9, "127.0.0.1"));
        expectError("ERR_SOCKET_DGRAM_IS_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().send(send(id, 9, "127.0.0.1")));
        expectError("ERR_SOCKET_DGRAM_IS_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().connect(connect(id, 9, "127.0.0.1")));
    }

    @Test
    void disconnectThenSendsNeedADestinationAgainAndRemoteAddressFails() throws Exception {
        DatagramSocket peer = peer("127.0.0.1");
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().connect(connect(id, 9, "127.0.0.1"));
        stub().disconnect(DisconnectRequest.newBuilder().setSocketId(id).build());
        expectError("ERR_SOCKET_DGRAM_NOT_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().remoteAddress(RemoteAddressRequest.newBuilder().setSocketId(id).build()));
        expectError("ERR_SOCKET_DGRAM_NOT_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().disconnect(DisconnectRequest.newBuilder().setSocketId(id).build()));
        expectError("ERR_SOCKET_BAD_PORT", Status.Code.INVALID_ARGUMENT, () -> stub().send(send(id, 0, "")));
        stub().send(send(id, peer.getLocalPort(), "127.0.0.1"));
        receive(peer);
        // and it can connect again
        stub().connect(connect(id, peer.getLocalPort(), "127.0.0.1"));
        stub().send(send(id, 0, ""));
        receive(peer);
    }

    @Test
    void remoteAddressAndDisconnectOnANeverConnectedSocket() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        expectError("ERR_SOCKET_DGRAM_NOT_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().remoteAddress(RemoteAddressRequest.newBuilder().setSocketId(id).build()));
        expectError("ERR_SOCKET_DGRAM_NOT_CONNECTED", Status.Code.FAILED_PRECONDITION, () -> stub().disconnect(DisconnectRequest.newBuilder().setSocketId(id).build()));
    }

    @Test
    void badConnectPorts() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        for (int port : new int[] {0, -1, 65_536}) {
            expectError("ERR_SOCKET_BAD_PORT", Status.Code.INVALID_ARGUMENT, () -> stub().connect(connect(id, port, "")));
        }
    }

    @Test
    void connectToAnUnknownHostEmitsEnotfoundAndLeavesTheSocketDisconnected() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        expectError("ENOTFOUND", Status.Code.NOT_FOUND, () -> stub().connect(connect(id, 9, "no-such-host.invalid")));
        events.next(LISTENING);
        assertThat(events.next(ERROR).getError().getError().getSyscall()).isEqualTo("getaddrinfo");
        expectError("ERR_SOCKET_DGRAM_NOT_CONNECTED", Status.Code.FAILED_PRECONDITION,
                () -> stub().remoteAddress(RemoteAddressRequest.newBuilder().setSocketId(id).build()));
        stub().connect(connect(id, 9, "127.0.0.1"));
        events.next(CONNECT);
    }

    @Test
    void connectedSocketReportsAnUnreachablePortAsEconnrefusedOnRecvmsg() throws Exception {
        int closedPort;
        try (DatagramSocket gone = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = gone.getLocalPort();
        }
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        stub().connect(connect(id, closedPort, "127.0.0.1"));
        events.next(LISTENING);
        events.next(CONNECT);
        stub().send(send(id, 0, "")); // the ICMP port unreachable comes back to the connected socket
        var error = events.next(ERROR).getError().getError();
        assertThat(error.getCode()).isEqualTo("ECONNREFUSED");
        assertThat(error.getSyscall()).isEqualTo("recvmsg");
        // as in Node, the socket stays usable
        assertThat(stub().send(send(id, 0, "")).getBytes()).isEqualTo(1);
    }

    @Test
    void udp6ConnectDefaultsToIpv6Loopback() throws Exception {
        DatagramSocket peer = peer("::1");
        String id = create(SocketType.SOCKET_TYPE_UDP6);
        AddressInfo remote = stub().connect(connect(id, peer.getLocalPort(), "")).getRemote();
        assertThat(remote.getAddress()).isEqualTo("::1");
        assertThat(remote.getFamily()).isEqualTo("IPv6");
        stub().send(send(id, 0, ""));
        receive(peer);
    }
}
