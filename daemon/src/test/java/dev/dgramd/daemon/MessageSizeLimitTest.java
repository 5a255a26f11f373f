package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --max-message-bytes}: a request message over it fails its call with RESOURCE_EXHAUSTED and
 * an ErrorInfo (reason ERR_DGRAMD_MESSAGE_TOO_LARGE) a client can branch on; on a SendStream that
 * ends the stream; the daemon goes on serving.
 */
class MessageSizeLimitTest {
    private static final int LIMIT = 131_072; // the smallest --max-message-bytes
    private static final long TIMEOUT_SECONDS = 10;

    private static Dgramd daemon;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()).maxMessageBytes(LIMIT));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    private static DgramGrpc.DgramBlockingStub stub() {
        return DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void aSendStreamBatchOverTheLimitEndsTheStreamWithMessageTooLarge() throws Exception {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            SendStreamRecorder stream = SendStreamRecorder.open(channel);
            StreamObserver<SendStreamRequest> requests = stream.requests();
            requests.onNext(batch(id, peer.getLocalPort(), 1, 1, 100));
            SendStreamResponse first = stream.next(); // the small batch's results
            assertThat(first.getResults(0).hasError()).isFalse();

            requests.onNext(batch(id, peer.getLocalPort(), 2, 3, 60_000)); // 180 kB in one message
            Throwable failure = stream.end().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertTooLarge(failure);
            assertThat(stream.poll()).as("nothing of the large batch was answered").isNull();
        }
        // the daemon goes on; so does the socket
        assertThat(stub().send(SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFromUtf8("x"))
                .setPort(9).setAddress("127.0.0.1").build()).getBytes()).isEqualTo(1);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    @Test
    void aUnaryRequestOverTheLimitFailsWithMessageTooLarge() {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                .getSocketId();
        SendRequest big = SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFrom(new byte[LIMIT]))
                .setPort(9).setAddress("127.0.0.1").build();
        assertTooLarge(catchThrowableOfType(StatusRuntimeException.class, () -> stub().send(big)));
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    @Test
    void aMessageOverTwiceTheLimitIsRefusedByTheTransportWithoutDetails() {
        SendRequest huge = SendRequest.newBuilder().setSocketId("none").setData(ByteString.copyFrom(new byte[2 * LIMIT]))
                .build();
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> stub().send(huge));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(StatusProto.fromThrowable(e) == null || StatusProto.fromThrowable(e).getDetailsCount() == 0).isTrue();
    }

    private static SendStreamRequest batch(String socket, int port, long firstId, int count, int size) {
        SendStreamRequest.Builder b = SendStreamRequest.newBuilder().setSocketId(socket);
        for (int i = 0; i < count; i++) {
            b.addDatagrams(OutboundDatagram.newBuilder().setId(firstId + i).setData(ByteString.copyFrom(new byte[size]))
                    .setPort(port).setAddress("127.0.0.1"));
        }
        return b.build();
    }

    private static void assertTooLarge(Throwable failure) {
        assertThat(failure).isInstanceOf(StatusRuntimeException.class);
        assertThat(Status.fromThrowable(failure).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        com.google.rpc.Status status = StatusProto.fromThrowable(failure);
        assertThat(status).as("grpc-status-details-bin").isNotNull();
        assertThat(status.getMessage()).contains("--max-message-bytes");
        ErrorInfo info = status.getDetailsList().stream().filter(a -> a.is(ErrorInfo.class)).findFirst()
                .map(MessageSizeLimitTest::unpack).orElseThrow();
        assertThat(info.getReason()).isEqualTo("ERR_DGRAMD_MESSAGE_TOO_LARGE");
        assertThat(info.getDomain()).isEqualTo("dgramd");
    }

    private static ErrorInfo unpack(Any any) {
        try {
            return any.unpack(ErrorInfo.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
