package dev.dgramd.daemon.udp;

/**
 * Receives a socket's events, in order, on the socket's event loop.
 * Implementations must not block.
 */
public interface SocketObserver {

    /** Called for every event, in emission order. */
    void onEvent(SocketEvent event);

    /** Called when a burst of events ends (after a read loop, or after a non-message event): a good time to flush. */
    void onBurstEnd();
}
