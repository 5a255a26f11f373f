package dev.dgramd.daemon;

import static dev.dgramd.proto.v1.SocketEvent.EventCase.CLOSE;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.ERROR;
import static dev.dgramd.proto.v1.SocketEvent.EventCase.LISTENING;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AddressResponse;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.GetSendBufferSizeRequest;
import dev.dgramd.proto.v1.SetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.SetSendBufferSizeRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** CreateSocket, Bind, Address, Close and the events they emit. */
class CreateBindCloseTest extends DaemonTestBase {

    private static BindRequest bind(String id, int port, String address) {
        return BindRequest.newBuilder().setSocketId(id).setPort(port).setAddress(address).build();
    }

    @Test
    void bindEmitsListeningWithTheBoundAddressThenCloseEmitsCloseAndEndsTheStream() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);

        AddressInfo bound = stub().bind(bind(id, 0, "127.0.0.1")).getAddress();
        assertThat(bound.getAddress()).isEqualTo("127.0.0.1");
        assertThat(bound.getFamily()).isEqualTo("IPv4");
        assertThat(bound.getPort()).isBetween(1, 65_535);

        SocketEvent listening = events.next(LISTENING);
        assertThat(listening.getListening().getAddress()).isEqualTo(bound);
        // AddressResponse has AddressInfo's fields and numbers: its bytes read as one are the same address.
        assertThat(AddressInfo.parseFrom(stub().address(AddressRequest.newBuilder().setSocketId(id).build()).toByteString()))
                .isEqualTo(bound);

        assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
        events.next(CLOSE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(events.poll()).isNull();
    }

    @Test
    void closeIsIdempotentAndLaterCallsFailNotRunning() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = events(id);
        assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
        assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isTrue();
        events.next(CLOSE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.FAILED_PRECONDITION, () -> stub().bind(bind(id, 0, "")));
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.FAILED_PRECONDITION, () -> stub().address(AddressRequest.newBuilder().setSocketId(id).build()));
    }

    @Test
    void unknownSocketIdIsNotFoundWithNotRunning() {
        for (String id : new String[] {"", "nope", "\u00e9\u00e8\u2603", "0".repeat(10_000)}) {
            expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.NOT_FOUND, () -> stub().address(AddressRequest.newBuilder().setSocketId(id).build()));
            expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.NOT_FOUND, () -> stub().close(CloseRequest.newBuilder().setSocketId(id).build()));
        }
    }

    @Test
    void socketIdsAreLongRandomAndDistinct() {
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        String b = create(SocketType.SOCKET_TYPE_UDP4);
        assertThat(a).hasSize(32).isNotEqualTo(b);
    }

    @Test
    void unspecifiedTypeIsRejected() {
        expectError("ERR_SOCKET_BAD_TYPE", Status.Code.INVALID_ARGUMENT,
                () -> stub().createSocket(CreateSocketRequest.getDefaultInstance()));
    }

    @Test
    void addressOfAnUnboundSocketIsEbadf() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo info = expectError("EBADF", Status.Code.FAILED_PRECONDITION, () -> stub().address(AddressRequest.newBuilder().setSocketId(id).build()));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "getsockname").containsEntry("errno", "-9");
    }

    @Test
    void bindTwiceIsAlreadyBound() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().bind(bind(id, 0, "127.0.0.1"));
        expectError("ERR_SOCKET_ALREADY_BOUND", Status.Code.FAILED_PRECONDITION, () -> stub().bind(bind(id, 0, "")));
    }

    @Test
    void portsOutOfRangeAreBadPort() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        for (int port : new int[] {-1, 65_536, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            expectError("ERR_SOCKET_BAD_PORT", Status.Code.INVALID_ARGUMENT, () -> stub().bind(bind(id, port, "")));
        }
        assertThat(stub().bind(bind(id, 0, "127.0.0.1")).getAddress().getPort()).isPositive();
    }

    @Test
    void portInUseIsEaddrinuseAsStatusAndErrorEventAndTheSocketCanBindAgain() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int port = taken.getLocalPort();
            String id = create(SocketType.SOCKET_TYPE_UDP4);
            EventRecorder events = events(id);
            ErrorInfo info = expectError("EADDRINUSE", Status.Code.ALREADY_EXISTS,
                    () -> stub().bind(bind(id, port, "127.0.0.1")));
            assertThat(info.getMetadataMap()).containsEntry("syscall", "bind").containsEntry("errno", "-98")
                    .containsEntry("address", "127.0.0.1").containsEntry("port", Integer.toString(port));

            SocketEvent error = events.next(ERROR);
            assertThat(error.getError().getError().getCode()).isEqualTo("EADDRINUSE");
            assertThat(error.getError().getError().getMessage()).isEqualTo("bind EADDRINUSE 127.0.0.1:" + port);

            stub().bind(bind(id, 0, "127.0.0.1"));
            events.next(LISTENING);
        }
    }

    @Test
    void bindToAnAddressNoInterfaceHasIsEaddrnotavail() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        // TEST-NET-1 (RFC 5737): never assigned locally; nothing is sent.
        expectError("EADDRNOTAVAIL", Status.Code.INVALID_ARGUMENT, () -> stub().bind(bind(id, 0, "192.0.2.1")));
    }

    @Test
    void bindToAnUnknownHostIsEnotfound() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo info = expectError("ENOTFOUND", Status.Code.NOT_FOUND,
                () -> stub().bind(bind(id, 0, "no-such-host.invalid")));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "getaddrinfo");
    }

    @Test
    void bindToAHostNameResolvesIt() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        assertThat(stub().bind(bind(id, 0, "localhost")).getAddress().getAddress()).isEqualTo("127.0.0.1");
    }

    @Test
    void bindAWrongFamilyLiteralIsEinval() {
        String udp4 = create(SocketType.SOCKET_TYPE_UDP4);
        expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().bind(bind(udp4, 0, "::1")));
        String udp6 = create(SocketType.SOCKET_TYPE_UDP6);
        expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().bind(bind(udp6, 0, "127.0.0.1")));
    }

    @Test
    void udp6BindsOnLoopback() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP6);
        EventRecorder events = events(id);
        AddressInfo bound = stub().bind(bind(id, 0, "::1")).getAddress();
        assertThat(bound.getAddress()).isEqualTo("::1");
        assertThat(bound.getFamily()).isEqualTo("IPv6");
        assertThat(events.next(LISTENING).getListening().getAddress()).isEqualTo(bound);
    }

    @Test
    void reuseAddrLetsTwoSocketsShareAPort() {
        CreateSocketRequest reuse = CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).setReuseAddr(true).build();
        String a = create(reuse);
        int port = stub().bind(bind(a, 0, "127.0.0.1")).getAddress().getPort();
        String b = create(reuse);
        assertThat(stub().bind(bind(b, port, "127.0.0.1")).getAddress().getPort()).isEqualTo(port);
    }

    @Test
    void bufferSizes() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        expectError("ERR_SOCKET_BUFFER_SIZE", Status.Code.FAILED_PRECONDITION, () -> stub().getRecvBufferSize(GetRecvBufferSizeRequest.newBuilder().setSocketId(id).build()));
        expectError("ERR_SOCKET_BUFFER_SIZE", Status.Code.FAILED_PRECONDITION, () -> stub().getSendBufferSize(GetSendBufferSizeRequest.newBuilder().setSocketId(id).build()));
        stub().bind(bind(id, 0, "127.0.0.1"));
        SetRecvBufferSizeRequest.Builder setRecv = SetRecvBufferSizeRequest.newBuilder().setSocketId(id);
        SetSendBufferSizeRequest.Builder setSend = SetSendBufferSizeRequest.newBuilder().setSocketId(id);
        assertThat(stub().setRecvBufferSize(setRecv.setSize(8192).build()).getSize()).isEqualTo(16_384);
        assertThat(stub().getRecvBufferSize(GetRecvBufferSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isEqualTo(16_384);
        assertThat(stub().setSendBufferSize(setSend.setSize(8192).build()).getSize()).isEqualTo(16_384);
        assertThat(stub().getSendBufferSize(GetSendBufferSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isEqualTo(16_384);
        for (long bad : new long[] {-1, 1L << 31}) {
            expectError("ERR_SOCKET_BAD_BUFFER_SIZE", Status.Code.INVALID_ARGUMENT,
                    () -> stub().setRecvBufferSize(setRecv.setSize(bad).build()));
        }
    }

    @Test
    void createWithBufferSizesAppliesThemAtBind() {
        String id = create(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                .setRecvBufferSize(10_000).setSendBufferSize(12_000).build());
        stub().bind(bind(id, 0, "127.0.0.1"));
        assertThat(stub().getRecvBufferSize(GetRecvBufferSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isEqualTo(20_000);
        assertThat(stub().getSendBufferSize(GetSendBufferSizeRequest.newBuilder().setSocketId(id).build()).getSize()).isEqualTo(24_000);
    }

    @Test
    void eventsBeforeSubscribingAreKeptWhileTheSocketIsOpen() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().bind(bind(id, 0, "127.0.0.1"));
        EventRecorder events = events(id);
        events.next(LISTENING);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        events.next(CLOSE);
        events.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void eventsOfASocketClosedBeforeAnyoneSubscribedAreGone() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        EventRecorder events = events(id);
        assertThat(events.done()).failsWithin(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .satisfies(e -> assertThat(errorInfo(e.getCause()).getReason()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING"));
    }
}
