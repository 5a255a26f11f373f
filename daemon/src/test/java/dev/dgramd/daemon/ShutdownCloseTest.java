package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 15, item 5: when the daemon stops, a socket's 'close' goes out ahead of the 'message'
 * events still queued for a reader that is behind (they are dropped and counted), so the stream
 * ends with 'close' even if its reader would need far longer than the shutdown takes to read the queue.
 */
class ShutdownCloseTest {
    static final int PAYLOAD = 100;
    static final long QUEUED_AT_LEAST = 3L << 20;
    static final long TIMEOUT_SECONDS = 20;

    private Dgramd daemon;
    private ManagedChannel control;
    private ManagedChannel slow;

    @AfterEach
    void stop() throws Exception {
        for (ManagedChannel c : new ManagedChannel[] {slow, control}) {
            if (c != null) {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void closeOvertakesTheQueueOfAReaderThatIsBehind() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        control = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        slow = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().flowControlWindow(65_536).build();
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(control)
                .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        EventRecorder reader = EventRecorder.subscribe(DgramGrpc.newStub(slow), id, true); // reads nothing yet
        int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                .getAddress().getPort();

        // Fill the socket's queue: far more than the transport can hold for the reader.
        long queued = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        try (DatagramChannel peer = DatagramChannel.open()) {
            ByteBuffer payload = ByteBuffer.allocate(PAYLOAD);
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            while (queued < QUEUED_AT_LEAST) {
                for (int i = 0; i < 1000; i++) {
                    payload.clear();
                    peer.send(payload, to);
                }
                queued = AdminGrpc.newBlockingStub(control).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .listSockets(ListSocketsRequest.getDefaultInstance()).getSockets(0).getBufferedEventBytes();
                if (System.nanoTime() > deadline) {
                    fail("the socket's queue holds only %d bytes after %d s", queued, TIMEOUT_SECONDS);
                }
            }
        }

        // Stop while the reader is behind; its reading starts once the sockets are closed.
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(daemon::close);
        awaitNoSockets();
        reader.request(Integer.MAX_VALUE);
        int messages = 0;
        for (SocketEvent e = reader.next(); e.getEventCase() != EventCase.CLOSE; e = reader.next()) {
            assertThat(e.getEventCase()).isIn(EventCase.LISTENING, EventCase.MESSAGE);
            messages += e.getEventCase() == EventCase.MESSAGE ? 1 : 0;
        }
        reader.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS); // completed, not cancelled
        stopped.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        long queuedMessages = queued / (PAYLOAD + 64);
        assertThat(messages).as("messages read after the stop began, of about %d queued", queuedMessages)
                .isLessThan((int) (queuedMessages / 2));
        assertThat(reader.dropped()).as("the drops are counted on the stream").isGreaterThan(queuedMessages / 2);
    }

    private void awaitNoSockets() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (daemon.openSockets() > 0) {
            if (System.nanoTime() > deadline) {
                fail("the daemon did not close its sockets within %d s", TIMEOUT_SECONDS);
            }
            Thread.onSpinWait();
        }
    }
}
