package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SessionClose;
import dev.dgramd.proto.v1.SessionDetach;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SessionOpen;
import dev.dgramd.proto.v1.SessionRequest;
import dev.dgramd.proto.v1.SessionResponse;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.DatagramSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Session call: many sockets' event streams, with their create, bind and close, on one call. */
class SessionTest extends DaemonTestBase {

    private SessionRecorder session() {
        SessionRecorder s = new SessionRecorder(async);
        sessions.add(s);
        return s;
    }

    private final List<SessionRecorder> sessions = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void closeSessions() {
        sessions.forEach(SessionRecorder::close);
    }

    private static int port(SocketEvent listening) {
        assertThat(listening.getEventCase()).isEqualTo(SocketEvent.EventCase.LISTENING);
        return listening.getListening().getAddress().getPort();
    }

    @Test
    void aSlotCreatesBindsReceivesAndCloses() throws Exception {
        SessionRecorder s = session();
        s.openBound(7, 4);
        String id = s.id(7);
        int port = port(s.next(7));
        DatagramSocket peer = peer("127.0.0.1");
        sendTo(peer, "hi".getBytes(), "127.0.0.1", port);
        SocketEvent m = s.next(7);
        assertThat(m.getMessage().getData().toStringUtf8()).isEqualTo("hi");
        assertThat(m.getMessage().getRinfo().getPort()).isEqualTo(peer.getLocalPort());
        // A socket on a Session is a socket like any other: unary calls name it.
        assertThat(stub().address(dev.dgramd.proto.v1.AddressRequest.newBuilder().setSocketId(id).build()).getPort())
                .isEqualTo(port);

        s.closeSlot(7);
        assertThat(s.next(7).getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
        assertThat(s.awaitEnd(7).getCode()).isZero();
        expectError("ERR_SOCKET_DGRAM_NOT_RUNNING", Status.Code.FAILED_PRECONDITION,
                () -> stub().address(dev.dgramd.proto.v1.AddressRequest.newBuilder().setSocketId(id).build()));

        s.requests.onCompleted(); // no slot open: the call completes
        s.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void manySlotsOnOneCallAndTheCallCompletesOnceAllEnded() throws Exception {
        SessionRecorder s = session();
        int n = 200; // more than the opens the daemon does at once
        for (int slot = 1; slot <= n; slot++) {
            s.openBound(slot, 2);
        }
        java.util.Set<Integer> ports = new java.util.HashSet<>();
        for (int slot = 1; slot <= n; slot++) {
            s.id(slot);
            ports.add(port(s.next(slot)));
        }
        assertThat(ports).hasSize(n);
        for (int slot = 1; slot <= n; slot++) {
            s.closeSlot(slot);
        }
        s.requests.onCompleted(); // half-close while the slots are still open: completes after their ends
        for (int slot = 1; slot <= n; slot++) {
            assertThat(s.next(slot).getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
            assertThat(s.awaitEnd(slot).getCode()).isZero();
        }
        s.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        // Each slot's end is its last message.
        List<Integer> seen = new ArrayList<>(s.order);
        for (int slot = 1; slot <= n; slot++) {
            assertThat(seen.lastIndexOf(slot)).isLessThan(seen.indexOf(-slot));
        }
    }

    @Test
    void aSlotWithoutCreditHoldsNoOtherSlotBack() throws Exception {
        SessionRecorder s = session();
        s.openBound(1, 1); // its one credit goes on the announcement (with 'listening')
        s.openBound(2, 4);
        int port1 = port(s.next(1));
        int port2 = port(s.next(2));
        DatagramSocket peer = peer("127.0.0.1");
        sendTo(peer, "one".getBytes(), "127.0.0.1", port1);
        sendTo(peer, "two".getBytes(), "127.0.0.1", port2);
        assertThat(s.next(2).getMessage().getData().toStringUtf8()).isEqualTo("two");
        assertThat(s.events(1)).as("slot 1 has no credit left").isEmpty();
        s.credit(1, 1);
        assertThat(s.next(1).getMessage().getData().toStringUtf8()).isEqualTo("one");
    }

    @Test
    void aFailedOpenEndsItsSlotWithTheErrorAndTheCallGoesOn() throws Exception {
        SessionRecorder s = session();
        s.open(3, EventsRequest.newBuilder().setCreate(CreateSocketRequest.getDefaultInstance()).build(), 1);
        SessionEnd end = s.awaitEnd(3);
        assertThat(end.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(end.getMessage()).contains("Bad socket type");
        com.google.rpc.Status details = com.google.rpc.Status.parseFrom(end.getDetails());
        assertThat(details.getDetails(0).unpack(ErrorInfo.class).getReason()).isEqualTo("ERR_SOCKET_BAD_TYPE");

        s.open(4, EventsRequest.newBuilder().setSocketId("no-such-socket").build(), 1);
        assertThat(s.awaitEnd(4).getCode()).isEqualTo(Status.Code.NOT_FOUND.value());

        s.openBound(3, 1); // the number is free again
        s.id(3);
    }

    @Test
    void slotZeroOrAnOpenSlotAgainFailsTheCall() throws Exception {
        SessionRecorder s = session();
        s.openBound(1, 1);
        String id = s.id(1);
        s.openBound(1, 1);
        assertThatThrownBy(() -> s.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(errorInfo(e).getReason()).isEqualTo("ERR_INVALID_ARG_VALUE");
                });
        awaitDetached(channel, id); // its socket is an orphan: still open, no stream
        assertThat(ids()).contains(id);
        stub().close(dev.dgramd.proto.v1.CloseRequest.newBuilder().setSocketId(id).build());

        SessionRecorder zero = session();
        zero.openBound(0, 1);
        assertThatThrownBy(() -> zero.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(errorInfo(e).getReason()).isEqualTo("ERR_INVALID_ARG_VALUE"));
    }

    @Test
    void detachLeavesAnOrphanThatAnEventsCallTakesBack() throws Exception {
        SessionRecorder s = session();
        s.openBound(5, 2);
        String id = s.id(5);
        int port = port(s.next(5));
        s.detach(5);
        assertThat(s.awaitEnd(5).getCode()).isEqualTo(Status.Code.CANCELLED.value());
        awaitDetached(channel, id);
        sendTo(peer("127.0.0.1"), "kept".getBytes(), "127.0.0.1", port);

        EventRecorder again = events(id);
        assertThat(again.next().getMessage().getData().toStringUtf8()).isEqualTo("kept");
        stub().close(dev.dgramd.proto.v1.CloseRequest.newBuilder().setSocketId(id).build());
        assertThat(again.next().getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
    }

    @Test
    void aCancelledCallLeavesItsSocketsOrphans() throws Exception {
        SessionRecorder s = session();
        s.openBound(1, 1);
        s.openBound(2, 1);
        String a = s.id(1);
        String b = s.id(2);
        s.close();
        awaitDetached(channel, a);
        awaitDetached(channel, b);
        assertThat(ids()).contains(a, b);
        for (String id : List.of(a, b)) {
            stub().close(dev.dgramd.proto.v1.CloseRequest.newBuilder().setSocketId(id).build());
        }
    }

    @Test
    void aCloseSentWithItsOpenClosesTheSocketOnceItExists() throws Exception {
        SessionRecorder s = session();
        s.openBound(9, 4);
        s.closeSlot(9); // before the announcement can have come back
        String id = s.id(9);
        List<SocketEvent.EventCase> seen = new ArrayList<>();
        while (seen.isEmpty() || seen.get(seen.size() - 1) != SocketEvent.EventCase.CLOSE) {
            seen.add(s.next(9).getEventCase());
        }
        // The close may come before the bind is done: then no 'listening' (as Node's close during a bind).
        assertThat(seen.subList(0, seen.size() - 1)).containsOnly(SocketEvent.EventCase.LISTENING);
        assertThat(s.awaitEnd(9).getCode()).isZero();
        assertThat(ids()).doesNotContain(id);
    }

    @Test
    void underCloseEndsSlotTheCloseBatchIsTheSlotsEnd() throws Exception {
        SessionRecorder s = session();
        s.openBound(1, 4, true);
        s.id(1);
        assertThat(s.next(1).getEventCase()).isEqualTo(SocketEvent.EventCase.LISTENING);
        s.closeSlot(1);
        assertThat(s.next(1).getEventCase()).isEqualTo(SocketEvent.EventCase.CLOSE);
        // The number is free once 'close' came: opening it again is no duplicate.
        s.open(1, EventsRequest.newBuilder().setCreate(CreateSocketRequest.getDefaultInstance()).build(), 1, true);
        // A failure still ends its slot with a SessionEnd.
        assertThat(s.awaitEnd(1).getDetails()).isNotEmpty();
        s.openBound(2, 4, true);
        s.id(2);
        s.closeSlot(2);
        s.requests.onCompleted(); // completes once slot 2's 'close' ended it, with no SessionEnd
        s.done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(s.events(2)).extracting(SocketEvent::getEventCase)
                .containsExactly(SocketEvent.EventCase.LISTENING, SocketEvent.EventCase.CLOSE);
        assertThat(s.order).containsOnlyOnce(-1).doesNotContain(-2);
        assertThat(s.order.stream().filter(n -> n == 2).count()).isPositive();
    }

    private static List<String> ids() {
        return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList().stream()
                .map(x -> x.getSocketId()).toList();
    }
}
