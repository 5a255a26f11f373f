package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketRequest;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Events with {@code create}: a socket created and its events streamed in one call. */
class CreateWithEventsTest extends DaemonTestBase {

    private static EventRecorder open(EventsRequest request) {
        return EventRecorder.open(async, request, false);
    }

    @Test
    void theFirstBatchAnnouncesTheSocketAndItsEventsFollowOnTheSameStream() throws Exception {
        int before = daemon.openSockets();
        EventRecorder call = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.UDP4)).build());
        String id = call.announcedId();
        assertThat(id).hasSize(32);
        assertThat(daemon.openSockets()).isEqualTo(before + 1);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        assertThat(call.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort()).isEqualTo(port);
        stub().close(SocketRequest.newBuilder().setSocketId(id).build());
        call.next(SocketEvent.EventCase.CLOSE);
        call.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(daemon.openSockets()).isEqualTo(before);
    }

    @Test
    void creationFailuresEndTheCallAsCreateSocketWouldAndLeaveNothingOpen() {
        int before = daemon.openSockets();
        EventRecorder bad = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setTypeValue(7)).build());
        assertThatThrownBy(() -> bad.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .satisfies(t -> assertThat(errorInfo(t).getReason()).isEqualTo("ERR_SOCKET_BAD_TYPE"));
        EventRecorder both = open(EventsRequest.newBuilder().setSocketId("x")
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.UDP4)).build());
        assertThatThrownBy(() -> both.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        assertThat(bad.announced()).isFalse();
        assertThat(daemon.openSockets()).isEqualTo(before);
    }
}
