package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * An operation of a socket other than a send (its creation, bind, connect, setTTL, close, ...),
 * issued alone by its {@link OperationQueue}: only once every earlier operation was answered.
 */
final class Barrier {
    final String name;
    /** Completes once answered (or given up): the operations behind it go then. */
    final CompletableFuture<Void> done = new CompletableFuture<>();
    /** Makes the call; set before the barrier is queued. */
    Runnable start;
    /** Fails the caller when the call is never made (the socket is gone); may be null. */
    Consumer<DgramException> abort;
    /** The caller stopped waiting: the call is no longer made if it has not started. */
    volatile boolean cancelled;
    /** Until when it may be made again while the daemon restarts. */
    final StreamRestart.Deadline restart = new StreamRestart.Deadline();

    Barrier(String name) {
        this.name = name;
    }
}
