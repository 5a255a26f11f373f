package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.dgramd.client.internal.Errors;
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link SocketState}'s transitions and the Node errors it throws, without a daemon. */
class SocketStateTest {
    private static final AddressInfo LOCAL = new AddressInfo("127.0.0.1", "IPv4", 41234);
    private static final AddressInfo PEER = new AddressInfo("10.0.0.1", "IPv4", 53);

    private final List<SocketState> made = new ArrayList<>();

    /** A new state, released after the test (a bound one holds the JVM otherwise). */
    private SocketState fresh() {
        SocketState s = new SocketState();
        made.add(s);
        return s;
    }

    @AfterEach
    void release() {
        made.forEach(SocketState::closed);
        made.forEach(s -> assertThat(s.holdsJvm()).isFalse());
    }

    private static String code(ThrowingCallable call) {
        DgramException e = catchThrowableOfType(DgramException.class, call);
        assertThat(e).as("a DgramException").isNotNull();
        return e.code();
    }

    private static SocketState bound(SocketState s) {
        s.beginBind();
        s.bindAnswered(LOCAL, null);
        return s;
    }

    private static SocketState connected(SocketState s) {
        s.beginConnect();
        s.connectAnswered(PEER, null);
        return s;
    }

    // ------------------------------------------------------------------------------------ bind

    @Test
    void aNewSocketIsUnboundDisconnectedOpenAndHoldsNothing() {
        SocketState s = fresh();
        assertThat(s.holdsJvm()).isFalse();
        assertThat(s.isClosing()).isFalse();
        assertThat(s).hasToString("UNBOUND, DISCONNECTED");
        assertThatCode(s::requireOpen).doesNotThrowAnyException();
        DgramException e = catchThrowableOfType(DgramException.class, s::address);
        assertThat(e.code()).isEqualTo("EBADF");
        assertThat(e.syscall()).isEqualTo("getsockname");
        assertThat(code(s::remoteAddress)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(catchThrowableOfType(DgramException.class, () -> s.requireBound("setTTL")).syscall())
                .isEqualTo("setTTL");
        assertThat(code(() -> s.requireBoundForBufferSize("recv"))).isEqualTo("ERR_SOCKET_BUFFER_SIZE");
        assertThat(code(s::requireConnected)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
    }

    @Test
    void bindIsBindingUntilAnsweredThenBoundAtTheAnsweredAddress() {
        SocketState s = fresh();
        s.beginBind();
        assertThat(s.holdsJvm()).isTrue();
        assertThat(s).hasToString("BINDING, DISCONNECTED");
        assertThat(code(s::address)).as("not bound yet").isEqualTo("EBADF");
        assertThat(code(() -> s.requireBound("setBroadcast"))).isEqualTo("EBADF");
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");

        s.bindAnswered(LOCAL, null);
        assertThat(s.address()).isEqualTo(LOCAL);
        assertThatCode(() -> s.requireBound("setBroadcast")).doesNotThrowAnyException();
        assertThatCode(() -> s.requireBoundForBufferSize("send")).doesNotThrowAnyException();
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");
        assertThat(s.holdsJvm()).isTrue();
    }

    @Test
    void aFailedBindIsUnboundAgainAndMayBeRetried() {
        SocketState s = fresh();
        s.beginBind();
        s.bindAnswered(null, Errors.ebadf("bind"));
        assertThat(s.holdsJvm()).isFalse();
        assertThat(code(s::address)).isEqualTo("EBADF");
        assertThatCode(s::beginBind).doesNotThrowAnyException();
    }

    @Test
    void aBindAnswerAfterListeningChangesNothing() {
        SocketState s = fresh();
        s.beginBind();
        assertThat(s.listening(LOCAL)).isTrue();
        s.bindAnswered(null, Errors.ebadf("bind"));
        assertThat(s.address()).isEqualTo(LOCAL);
    }

    @Test
    void aBindAnsweredWithoutAnAddressKeepsTheOneListeningGave() {
        SocketState s = fresh();
        s.beginBind();
        s.listening(LOCAL);
        s.bindAnswered(null, null);
        assertThat(s.address()).isEqualTo(LOCAL);
    }

    @Test
    void bindChecksNotRunningBeforeAlreadyBound() {
        SocketState s = bound(fresh());
        s.beginClose();
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    void listeningBindsWhateverCameBeforeAndIsNotEmittedOnceClosing() {
        SocketState s = fresh();
        assertThat(s.listening(LOCAL)).isTrue();
        assertThat(s.address()).isEqualTo(LOCAL);
        assertThat(s.holdsJvm()).isTrue();
        s.beginClose();
        assertThat(s.listening(LOCAL)).isFalse();
    }

    @Test
    void aBindErrorEventUnbindsAnExplicitBindOnly() {
        SocketState explicit = fresh();
        explicit.beginBind();
        assertThat(explicit.bindFailed()).isTrue();
        assertThat(explicit.holdsJvm()).isFalse();
        assertThatCode(explicit::beginBind).doesNotThrowAnyException();

        SocketState implicit = fresh();
        implicit.prepareSend(true, 9, null, false);
        assertThat(implicit.bindFailed()).isTrue();
        assertThat(implicit.holdsJvm()).as("still binding implicitly").isTrue();
        assertThat(code(implicit::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");
    }

    @Test
    void aBindErrorEventOnceClosingIsNotEmittedAndChangesNothing() {
        SocketState s = fresh();
        s.beginBind();
        s.beginClose();
        assertThat(s.bindFailed()).isFalse();
        assertThat(s.holdsJvm()).as("binding until 'close'").isTrue();
    }

    @Test
    void membershipBindsImplicitlyOnlyAnUnboundSocket() {
        SocketState s = fresh();
        s.boundImplicitly();
        assertThat(s).hasToString("BINDING, DISCONNECTED");
        assertThat(s.holdsJvm()).isTrue();
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");

        SocketState b = bound(fresh());
        b.boundImplicitly();
        assertThat(b.address()).isEqualTo(LOCAL);
    }

    // ------------------------------------------------------------------------------- reconcile

    @Test
    void onlyAnImplicitBindIsReconciledAndOneQueryAtATime() {
        SocketState explicit = fresh();
        explicit.beginBind();
        assertThat(explicit.beginReconcile()).isFalse();
        assertThat(bound(fresh()).beginReconcile()).isFalse();
        assertThat(fresh().beginReconcile()).as("unbound").isFalse();

        SocketState s = fresh();
        s.boundImplicitly();
        assertThat(s.beginReconcile()).isTrue();
        assertThat(s.beginReconcile()).as("one already out").isFalse();
        s.reconcileAnswered(null, Errors.timeout("Address"));
        assertThat(s).as("unknown: still binding").hasToString("BINDING, DISCONNECTED");
        assertThat(s.beginReconcile()).isTrue();
        s.beginClose();
        s.reconcileAnswered(null, Errors.timeout("Address"));
        assertThat(s.beginReconcile()).as("closing").isFalse();
    }

    @Test
    void aReconcileBindsAtTheAnsweredAddressOrUnbindsOnEbadf() {
        SocketState found = fresh();
        found.boundImplicitly();
        found.beginReconcile();
        found.reconcileAnswered(LOCAL, null);
        assertThat(found.address()).isEqualTo(LOCAL);

        SocketState gone = fresh();
        gone.boundImplicitly();
        gone.beginReconcile();
        gone.reconcileAnswered(null, Errors.ebadf("getsockname"));
        assertThat(gone.holdsJvm()).isFalse();
        assertThatCode(gone::beginBind).as("unbound, and bind is explicit again").doesNotThrowAnyException();
        assertThat(gone.bindFailed()).isTrue();
        assertThat(gone.holdsJvm()).isFalse();
    }

    @Test
    void aReconcileAnsweredAfterListeningChangesNothing() {
        SocketState s = fresh();
        s.boundImplicitly();
        s.beginReconcile();
        s.listening(LOCAL);
        s.reconcileAnswered(null, Errors.ebadf("getsockname"));
        assertThat(s.address()).isEqualTo(LOCAL);
        assertThat(s.beginReconcile()).isFalse();
    }

    // --------------------------------------------------------------------------------- connect

    @Test
    void connectIsConnectingUntilAnsweredAndBindsImplicitly() {
        SocketState s = fresh();
        s.beginConnect();
        assertThat(s).hasToString("BINDING, CONNECTING");
        assertThat(s.holdsJvm()).isTrue();
        assertThat(code(s::beginConnect)).isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        assertThat(code(s::requireConnected)).as("still connecting").isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(code(s::remoteAddress)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");

        s.connectAnswered(PEER, null);
        assertThat(s.remoteAddress()).isEqualTo(PEER);
        assertThatCode(s::requireConnected).doesNotThrowAnyException();
        assertThat(code(s::beginConnect)).isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
    }

    @Test
    void connectOnABoundSocketKeepsItsAddress() {
        SocketState s = connected(bound(fresh()));
        assertThat(s.address()).isEqualTo(LOCAL);
        assertThat(s.remoteAddress()).isEqualTo(PEER);
    }

    @Test
    void aFailedConnectIsDisconnectedAndMayBeRetried() {
        SocketState s = fresh();
        s.beginConnect();
        s.connectAnswered(null, Errors.timeout("Connect"));
        assertThat(code(s::remoteAddress)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThatCode(s::beginConnect).doesNotThrowAnyException();
    }

    @Test
    void theConnectEventConnectsWhateverCameBeforeAndIsNotEmittedOnceClosing() {
        SocketState s = fresh();
        s.beginConnect();
        assertThat(s.connected(PEER)).isTrue();
        s.connectAnswered(null, Errors.timeout("Connect"));
        assertThat(s.remoteAddress()).as("a late answer changes nothing").isEqualTo(PEER);
        s.beginClose();
        assertThat(s.connected(PEER)).isFalse();
    }

    @Test
    void connectChecksIsConnectedBeforeNotRunning() {
        SocketState s = connected(fresh());
        s.beginClose();
        assertThat(code(s::beginConnect)).isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        SocketState closed = fresh();
        closed.beginClose();
        assertThat(code(closed::beginConnect)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(closed).hasToString("UNBOUND, DISCONNECTED, closed");
    }

    @Test
    void disconnectChecksNotConnectedBeforeNotRunningAndForgetsThePeer() {
        SocketState closed = fresh();
        closed.beginClose();
        assertThat(code(closed::requireConnected)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        SocketState closedConnected = connected(fresh());
        closedConnected.beginClose();
        assertThat(code(closedConnected::requireConnected)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");

        SocketState s = connected(bound(fresh()));
        s.disconnected();
        assertThat(code(s::remoteAddress)).isEqualTo("ERR_SOCKET_DGRAM_NOT_CONNECTED");
        assertThat(s.address()).isEqualTo(LOCAL);
        assertThatCode(s::beginConnect).doesNotThrowAnyException();
    }

    // ------------------------------------------------------------------------------------ send

    @Test
    void aSendOnAnUnboundSocketBindsItImplicitly() {
        SocketState s = fresh();
        SocketState.Send send = s.prepareSend(true, 9, "127.0.0.1", false);
        assertThat(send).isEqualTo(new SocketState.Send(false, 9, "127.0.0.1", null, false));
        assertThat(s).hasToString("BINDING, DISCONNECTED");
        assertThat(s.holdsJvm()).isTrue();
        assertThat(code(s::beginBind)).isEqualTo("ERR_SOCKET_ALREADY_BOUND");
    }

    @Test
    void anOversizedSendBindsNothingAndAnswersEmsgsizeForItsDestination() {
        SocketState s = fresh();
        SocketState.Send send = s.prepareSend(true, 9, "127.0.0.1", true);
        assertThat(s).hasToString("UNBOUND, DISCONNECTED");
        assertThat(s.holdsJvm()).isFalse();
        DgramException e = send.emsgsize();
        assertThat(e.code()).isEqualTo("EMSGSIZE");
        assertThat(e.getMessage()).isEqualTo("send EMSGSIZE 127.0.0.1:9");
    }

    @Test
    void aBadPortIsRefusedBeforeNotRunningAndBindsNothing() {
        SocketState s = fresh();
        assertThat(code(() -> s.prepareSend(true, 0, null, false))).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(code(() -> s.prepareSend(false, 0, null, false))).as("the connected form, unconnected")
                .isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(code(() -> s.prepareSend(true, 65536, null, false))).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(s).hasToString("UNBOUND, DISCONNECTED");
        assertThatCode(s::beginBind).doesNotThrowAnyException();

        SocketState closed = fresh();
        closed.beginClose();
        assertThat(code(() -> closed.prepareSend(true, -1, null, false))).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(code(() -> closed.prepareSend(true, 9, null, false))).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(closed).hasToString("UNBOUND, DISCONNECTED, closed");
    }

    @Test
    void aConnectedSocketSendsToItsPeerAndRefusesADestination() {
        SocketState s = connected(bound(fresh()));
        assertThat(s.prepareSend(false, 0, null, false)).isEqualTo(new SocketState.Send(true, 0, null, PEER, false));
        assertThat(s.prepareSend(true, 0, "", false)).as("no port, empty address")
                .isEqualTo(new SocketState.Send(true, 0, null, PEER, false));
        assertThat(code(() -> s.prepareSend(true, 9, null, false))).isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        assertThat(code(() -> s.prepareSend(true, 0, "127.0.0.1", false)))
                .isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        assertThat(s.prepareSend(false, 0, null, true).emsgsize().getMessage()).isEqualTo("send EMSGSIZE 10.0.0.1:53");

        s.beginClose();
        assertThat(code(() -> s.prepareSend(true, 9, null, false))).as("before not running")
                .isEqualTo("ERR_SOCKET_DGRAM_IS_CONNECTED");
        assertThat(code(() -> s.prepareSend(false, 0, null, false))).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    void aSendWhileBindingSaysSo() {
        SocketState s = fresh();
        s.beginBind();
        assertThat(s.prepareSend(true, 9, null, false).whileBinding()).as("bind() called, no outcome yet").isTrue();
        s.bindFailed();
        assertThat(s.prepareSend(true, 9, null, false).whileBinding()).as("after the bind's error: binds implicitly")
                .isFalse();
        assertThat(s.prepareSend(true, 9, null, false).whileBinding()).as("implicitly binding").isFalse();
    }

    @Test
    void aConnectingSocketIsNotConnectedForSend() {
        SocketState s = fresh();
        s.beginConnect();
        assertThat(code(() -> s.prepareSend(false, 0, null, false))).isEqualTo("ERR_SOCKET_BAD_PORT");
        assertThat(s.prepareSend(true, 9, null, false)).isEqualTo(new SocketState.Send(false, 9, null, null, false));
    }

    // ----------------------------------------------------------------------------------- close

    @Test
    void closeIsFinalAndRefusesWhatNeedsAnOpenSocket() {
        SocketState s = connected(bound(fresh()));
        s.beginClose();
        assertThat(s.isClosing()).isTrue();
        assertThat(code(s::beginClose)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(s.beginCloseIfOpen()).isFalse();
        assertThat(code(s::requireOpen)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(code(() -> s.requireBound("setTTL"))).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(code(() -> s.requireBoundForBufferSize("recv"))).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(code(s::address)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(code(s::remoteAddress)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        assertThat(s.holdsJvm()).as("until 'close' is emitted").isTrue();
        s.closed();
        assertThat(s.holdsJvm()).isFalse();
        s.ref(true);
        assertThat(s.holdsJvm()).as("never again").isFalse();
    }

    @Test
    void closeAsyncStartsTheCloseOnce() {
        SocketState s = fresh();
        assertThat(s.beginCloseIfOpen()).isTrue();
        assertThat(s.beginCloseIfOpen()).isFalse();
        assertThat(code(s::beginClose)).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    void theCloseEventClosesAnOpenSocketToo() {
        SocketState s = bound(fresh());
        s.closed();
        assertThat(s.isClosing()).isTrue();
        assertThat(s.holdsJvm()).isFalse();
        assertThat(s.beginCloseIfOpen()).isFalse();
    }

    // ------------------------------------------------------------------------------------- ref

    @Test
    void unrefReleasesTheJvmAndRefHoldsItAgainWhileBound() {
        SocketState s = fresh();
        s.ref(false);
        s.beginBind();
        assertThat(s.holdsJvm()).isFalse();
        s.ref(true);
        assertThat(s.holdsJvm()).isTrue();
        s.ref(true);
        assertThat(s.holdsJvm()).as("idempotent").isTrue();
        s.ref(false);
        assertThat(s.holdsJvm()).isFalse();
        s.ref(true);
        s.bindAnswered(null, Errors.ebadf("bind"));
        assertThat(s.holdsJvm()).as("unbound").isFalse();
    }

    @Test
    void toStringShowsTheBoundAddress() {
        SocketState s = connected(bound(fresh()));
        assertThat(s).hasToString("BOUND " + LOCAL + ", CONNECTED");
    }
}
