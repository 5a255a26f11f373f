package dev.dgramd.daemon.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A {@link SocketObserver} that keeps a socket's events, in order, for a test to take with bounded waits. */
final class Recorder implements SocketObserver {
    private final BlockingQueue<SocketEvent> events = new LinkedBlockingQueue<>();

    @Override
    public void onEvent(SocketEvent event) {
        events.add(event instanceof SocketEvent.Message m ? m.owned() : event); // kept past the burst
    }

    @Override
    public void onBurstEnd() {
    }

    /** The next event; fails the test when none comes within {@link UdpSocketSuite#TIMEOUT_SECONDS}. */
    SocketEvent next() throws InterruptedException {
        SocketEvent e = events.poll(UdpSocketSuite.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(e).as("an event within %s s", UdpSocketSuite.TIMEOUT_SECONDS).isNotNull();
        return e;
    }

    /** The next event, which must be a {@code type}. */
    <T extends SocketEvent> T next(Class<T> type) throws InterruptedException {
        SocketEvent e = next();
        assertThat(e).as("the next event").isInstanceOf(type);
        return type.cast(e);
    }

    /** The next event, which must be an 'error' with {@code code}. */
    DgramError nextError(String code) throws InterruptedException {
        DgramError error = next(SocketEvent.Error.class).error();
        assertThat(error.code()).as("the 'error' event's code (%s)", error.getMessage()).isEqualTo(code);
        return error;
    }

    /**
     * The events recorded so far and not yet taken. Complete only when the caller knows every event
     * it expects was emitted (after the future of the operation that emits it, or after
     * {@link UdpSocket#closeFuture}: the socket emits before it completes those).
     */
    List<SocketEvent> drain() {
        List<SocketEvent> rest = new ArrayList<>();
        events.drainTo(rest);
        return rest;
    }
}
