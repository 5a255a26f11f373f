package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.EventBatch;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Events with {@code create}: a socket created and its events streamed in one call. */
class CreateWithEventsTest extends DaemonTestBase {

    /** The batches of one Events call, and how it ended. */
    private static final class Batches implements StreamObserver<EventBatch> {
        final LinkedBlockingQueue<EventBatch> batches = new LinkedBlockingQueue<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();

        @Override
        public void onNext(EventBatch value) {
            batches.add(value);
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(null);
        }

        EventBatch next() throws InterruptedException {
            EventBatch b = batches.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(b).as("a batch within %s s", TIMEOUT_SECONDS).isNotNull();
            return b;
        }
    }

    private static Batches open(EventsRequest request) {
        Batches b = new Batches();
        async.events(request, b);
        return b;
    }

    @Test
    void theFirstBatchAnnouncesTheSocketAndItsEventsFollowOnTheSameStream() throws Exception {
        Batches call = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.UDP4)).build());
        EventBatch first = call.next();
        String id = first.getSocketId();
        assertThat(id).hasSize(32);
        int before = daemon.openSockets();
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        SocketEvent listening = first.getEventsCount() > 0 ? first.getEvents(0) : call.next().getEvents(0);
        assertThat(listening.getListening().getAddress().getPort()).isEqualTo(port);
        stub().close(SocketRequest.newBuilder().setSocketId(id).build());
        assertThat(call.next().getEvents(0).getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
        call.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(daemon.openSockets()).isEqualTo(before - 1);
    }

    @Test
    void creationFailuresEndTheCallAsCreateSocketWouldAndLeaveNothingOpen() {
        int before = daemon.openSockets();
        Batches bad = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setTypeValue(7)).build());
        assertThatThrownBy(() -> bad.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .satisfies(t -> assertThat(errorInfo(t).getReason()).isEqualTo("ERR_SOCKET_BAD_TYPE"));
        Batches both = open(EventsRequest.newBuilder().setSocketId("x")
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.UDP4)).build());
        assertThatThrownBy(() -> both.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        assertThat(bad.batches).isEmpty();
        assertThat(daemon.openSockets()).isEqualTo(before);
    }
}
