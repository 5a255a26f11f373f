package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

/**
 * SO_BROADCAST on the loopback network's broadcast address (127.255.255.255, never anything else):
 * as in Node 20, a send there fails with EACCES (syscall send) until setBroadcast(true).
 */
class BroadcastTest extends DaemonTestBase {
    private static final String LOOPBACK_BROADCAST = "127.255.255.255";

    @Test
    void broadcastNeedsTheFlag() throws Exception {
        String receiver = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder receiverEvents = events(receiver);
        AddressInfo bound = bind(receiver, "");
        assertThat(bound.getAddress()).isEqualTo("0.0.0.0");
        int port = bound.getPort();
        receiverEvents.next(EventCase.LISTENING);

        String sender = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder senderEvents = events(sender);
        int senderPort = bind(sender, "127.0.0.1").getPort();
        senderEvents.next(EventCase.LISTENING);

        ErrorInfo denied = expectError("EACCES", Status.Code.PERMISSION_DENIED,
                () -> send(sender, "without-flag", port));
        assertThat(denied.getMetadataMap())
                .containsEntry("syscall", "send")
                .containsEntry("errno", "-13")
                .containsEntry("address", LOOPBACK_BROADCAST)
                .containsEntry("port", Integer.toString(port));

        stub().setBroadcast(flag(sender, true));
        assertThat(send(sender, "with-flag", port)).isEqualTo("with-flag".length());

        // The first datagram the receiver sees is the one sent with the flag.
        Message m = receiverEvents.next(EventCase.MESSAGE).getMessage();
        assertThat(m.getData().toStringUtf8()).isEqualTo("with-flag");
        assertThat(m.getRinfo().getAddress()).isEqualTo("127.0.0.1");
        assertThat(m.getRinfo().getPort()).isEqualTo(senderPort);

        // Clearing the flag denies broadcast again.
        stub().setBroadcast(flag(sender, false));
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> send(sender, "flag-cleared", port));

        // A failed Send is answered as the RPC's status only, never emitted as 'error': the sender's
        // next event after 'listening' is 'close'.
        stub().close(CloseRequest.newBuilder().setSocketId(sender).build());
        senderEvents.next(EventCase.CLOSE);
    }

    @Test
    void setBroadcastOnUnboundSocketFailsWithEbadf() {
        String s = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo e = expectError("EBADF", Status.Code.FAILED_PRECONDITION, () -> stub().setBroadcast(flag(s, true)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "setBroadcast");
    }

    private AddressInfo bind(String id, String address) {
        return stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress(address).build()).getAddress();
    }

    private int send(String id, String text, int port) {
        return stub().send(SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFromUtf8(text))
                .setPort(port).setAddress(LOOPBACK_BROADCAST).build()).getBytes();
    }

    private static SetBroadcastRequest flag(String id, boolean flag) {
        return SetBroadcastRequest.newBuilder().setSocketId(id).setFlag(flag).build();
    }
}
