package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.errorInfo;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.grpc.MalformedMessages;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Request bodies that are no protobuf of the method's request type (issue 15): INVALID_ARGUMENT with
 * ErrorInfo {@value MalformedMessages#REASON}, no SEVERE stack trace from gRPC, one summarised log line
 * per second of a burst, and the daemon keeps serving (a streaming call already running included).
 */
class MalformedMessageTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;
    /** Bytes no protobuf message parses: a field tag whose varint never ends. */
    private static final byte[] GARBAGE = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
            (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private Dgramd daemon;
    private ManagedChannel channel;
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final List<LogRecord> grpcLog = new ArrayList<>();
    private final Handler grpcHandler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                synchronized (grpcLog) {
                    grpcLog.add(record);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void start() throws Exception {
        lines.start();
        ((Logger) LoggerFactory.getLogger(MalformedMessages.class)).addAppender(lines);
        java.util.logging.Logger.getLogger("io.grpc").addHandler(grpcHandler);
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        java.util.logging.Logger.getLogger("io.grpc").removeHandler(grpcHandler);
        ((Logger) LoggerFactory.getLogger(MalformedMessages.class)).detachAppender(lines);
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @Test
    void aBurstOfMalformedUnaryRequestsIsAnsweredInvalidArgumentAndLoggedInSummary() throws Exception {
        MethodDescriptor<byte[], byte[]> create = raw(DgramGrpc.getCreateSocketMethod());
        int sent = 300;
        long started = System.nanoTime();
        for (int i = 0; i < sent; i++) {
            StatusRuntimeException e = (StatusRuntimeException) org.assertj.core.api.Assertions.catchThrowable(
                    () -> ClientCalls.blockingUnaryCall(channel, create,
                            CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS), GARBAGE));
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            if (i == 0) {
                ErrorInfo info = errorInfo(e);
                assertThat(info.getReason()).isEqualTo(MalformedMessages.REASON);
                assertThat(info.getDomain()).isEqualTo("dgramd");
                assertThat(e.getStatus().getDescription()).startsWith("malformed CreateSocketRequest message: ");
            }
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

        assertThat(lines.list).as("one line a second at most").hasSizeBetween(1, (int) seconds + 2);
        assertThat(lines.list.get(0).getFormattedMessage()).startsWith("malformed request message:")
                .contains("method=dgramd.v1.Dgram/CreateSocket");
        assertThat(lines.list).allSatisfy(line -> assertThat(line.getThrowableProxy()).isNull());
        synchronized (grpcLog) {
            assertThat(grpcLog).as("gRPC's own warnings").isEmpty();
        }
        // the Admin service is guarded too, and the daemon still answers well-formed calls
        StatusRuntimeException admin = (StatusRuntimeException) org.assertj.core.api.Assertions.catchThrowable(
                () -> ClientCalls.blockingUnaryCall(channel, raw(AdminGrpc.getListSocketsMethod()),
                        CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS), GARBAGE));
        assertThat(errorInfo(admin).getReason()).isEqualTo(MalformedMessages.REASON);
        assertThat(DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId())
                .isNotEmpty();
    }

    @Test
    void aMalformedBatchEndsARunningSendStreamWithInvalidArgument() throws Exception {
        String id = DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        ClientCall<byte[], byte[]> call = channel.newCall(raw(DgramGrpc.getSendStreamMethod()), CallOptions.DEFAULT);
        CompletableFuture<byte[]> firstResults = new CompletableFuture<>();
        CompletableFuture<Status> closed = new CompletableFuture<>();
        CompletableFuture<Metadata> trailers = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                firstResults.complete(message);
            }

            @Override
            public void onClose(Status status, Metadata t) {
                trailers.complete(t);
                closed.complete(status);
            }
        }, new Metadata());
        call.request(10);
        byte[] good = SendStreamRequest.newBuilder().setSocketId(id).addDatagrams(OutboundDatagram.newBuilder().setId(1)
                .setPort(9).setAddress("127.0.0.1").setData(com.google.protobuf.ByteString.copyFromUtf8("x"))).build()
                .toByteArray();
        call.sendMessage(good);
        assertThat(firstResults.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isNotEmpty(); // the stream runs
        call.sendMessage(GARBAGE);

        Status status = closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        ErrorInfo info = errorInfo(status.asRuntimeException(trailers.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)));
        assertThat(info.getReason()).isEqualTo(MalformedMessages.REASON);
        assertThat(status.getDescription()).startsWith("malformed SendStreamRequest message: ");
        synchronized (grpcLog) {
            assertThat(grpcLog).as("gRPC's own warnings").isEmpty();
        }
        // and the daemon goes on serving
        assertThat(DgramGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId())
                .isNotEmpty();
    }

    /** {@code method} with its messages as bytes, so a test can send what it likes. */
    private static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> method) {
        return method.toBuilder(BYTES, BYTES).build();
    }
}
