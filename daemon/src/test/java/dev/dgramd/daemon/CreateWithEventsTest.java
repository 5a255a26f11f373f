package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SocketEvent;
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
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)).build());
        String id = call.announcedId();
        assertThat(id).hasSize(32);
        assertThat(daemon.openSockets()).isEqualTo(before + 1);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        assertThat(call.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort()).isEqualTo(port);
        stub().close(CloseRequest.newBuilder().setSocketId(id).build());
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
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)).build());
        assertThatThrownBy(() -> both.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        assertThat(bad.announced()).isFalse();
        assertThat(daemon.openSockets()).isEqualTo(before);
    }

    @Test
    void createWithBindBindsTheNewSocketAndSaysSoAsAnEvent() throws Exception {
        int before = daemon.openSockets();
        EventRecorder call = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4))
                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1")).build());
        String id = call.announcedId();
        int port = call.next(SocketEvent.EventCase.LISTENING).getListening().getAddress().getPort();
        assertThat(port).isPositive();
        assertThat(stub().address(AddressRequest.newBuilder().setSocketId(id).build()).getPort()).isEqualTo(port);
        assertThat(daemon.openSockets()).isEqualTo(before + 1);

        // A second one on the same port: EADDRINUSE as an 'error' event; the socket stays, unbound.
        EventRecorder taken = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4))
                .setBind(BindRequest.newBuilder().setAddress("127.0.0.1").setPort(port)).build());
        String second = taken.announcedId();
        SocketEvent error = taken.next(SocketEvent.EventCase.ERROR);
        assertThat(error.getError().getError().getCode()).isEqualTo("EADDRINUSE");
        assertThat(error.getError().getError().getSyscall()).isEqualTo("bind");
        assertThat(errorInfo(catchThrowable(() -> stub().address(AddressRequest.newBuilder().setSocketId(second).build())))
                .getReason()).isEqualTo("EBADF");

        for (String s : new String[] {id, second}) {
            stub().close(CloseRequest.newBuilder().setSocketId(s).build());
        }
        call.next(SocketEvent.EventCase.CLOSE);
        taken.next(SocketEvent.EventCase.CLOSE);
        assertThat(daemon.openSockets()).isEqualTo(before);
    }

    @Test
    void aBadBindPortOrABindWithoutCreateFailsTheCallAndCreatesNothing() {
        int before = daemon.openSockets();
        EventRecorder badPort = open(EventsRequest.newBuilder()
                .setCreate(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4))
                .setBind(BindRequest.newBuilder().setPort(65_536)).build());
        assertThatThrownBy(() -> badPort.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .satisfies(t -> assertThat(errorInfo(t).getReason()).isEqualTo("ERR_SOCKET_BAD_PORT"));
        EventRecorder bindOnly = open(EventsRequest.newBuilder().setSocketId("x")
                .setBind(BindRequest.newBuilder()).build());
        assertThatThrownBy(() -> bindOnly.done().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .satisfies(t -> assertThat(errorInfo(t).getReason()).isEqualTo("ERR_INVALID_ARG_VALUE"));
        assertThat(badPort.announced()).isFalse();
        assertThat(daemon.openSockets()).isEqualTo(before);
    }
}
