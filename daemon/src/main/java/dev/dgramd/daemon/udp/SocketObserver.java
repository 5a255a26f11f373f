package dev.dgramd.daemon.udp;

/**
 * Receives a socket's events, in order, on the socket's event loop.
 * Implementations must not block.
 */
public interface SocketObserver {

    /**
     * Called for every event, in emission order. A {@link SocketEvent.Message#borrowed() borrowed}
     * 'message' is valid only until the next {@link #onBurstEnd} returns: an observer that keeps it
     * longer keeps {@link SocketEvent.Message#owned()}.
     */
    void onEvent(SocketEvent event);

    /**
     * The kernel dropped {@code datagrams} more on this socket (its receive buffer was full), as
     * last read from it; reported at most a few times a second, between events. Does nothing by default.
     */
    default void onKernelDrops(long datagrams) {
    }

    /**
     * Called when a burst of events ends (after a read loop, or after a non-message event): a good
     * time to flush, and the last moment a borrowed 'message' of the burst is valid.
     */
    void onBurstEnd();
}
