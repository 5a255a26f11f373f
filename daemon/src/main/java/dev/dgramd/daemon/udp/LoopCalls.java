package dev.dgramd.daemon.udp;

import io.netty.channel.EventLoop;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;

/**
 * Runs a socket's work on its event loop and answers it with futures: a {@link DgramError} thrown by
 * the work fails the future with that error, any other exception with a system error, and a loop
 * that is gone with ERR_SOCKET_DGRAM_NOT_RUNNING.
 */
final class LoopCalls {
    private final EventLoop loop;

    LoopCalls(EventLoop loop) {
        this.loop = loop;
    }

    /** Runs {@code call} on the event loop (at once when already there). */
    <T> CompletableFuture<T> run(Callable<CompletableFuture<T>> call) {
        if (loop.inEventLoop()) {
            return invoke(call);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            loop.execute(() -> invoke(call).whenComplete((v, e) -> {
                if (e != null) {
                    result.completeExceptionally(e instanceof CompletionException ? e.getCause() : e);
                } else {
                    result.complete(v);
                }
            }));
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(DgramError.notRunning());
        }
        return result;
    }

    /**
     * Runs {@code then} on the event loop once {@code future} is done: at once when it already is and
     * this is the loop, else in a task of its own.
     */
    <T> void whenDone(CompletableFuture<T> future, BiConsumer<T, DgramError> then) {
        if (future.isDone() && loop.inEventLoop()) {
            complete(future, then);
        } else {
            future.whenComplete((v, e) -> loop.execute(() -> complete(future, then)));
        }
    }

    /** Hands a done {@code future}'s value, or its error as a DgramError, to {@code then}. */
    static <T> void complete(CompletableFuture<T> future, BiConsumer<T, DgramError> then) {
        DgramError error = failureOf(future);
        then.accept(error == null ? future.join() : null, error);
    }

    /** The error a completed lookup (or other step) failed with, as a DgramError; null if it succeeded. */
    static DgramError failureOf(CompletableFuture<?> done) {
        if (!done.isCompletedExceptionally()) {
            return null;
        }
        try {
            done.join();
            return null;
        } catch (CompletionException e) {
            DgramError error = DgramError.causeOf(e);
            return error != null ? error : DgramError.system(SystemError.of(e.getCause()), "getaddrinfo", null, 0);
        }
    }

    private static <T> CompletableFuture<T> invoke(Callable<CompletableFuture<T>> call) {
        try {
            return call.call();
        } catch (DgramError e) {
            return CompletableFuture.failedFuture(e);
        } catch (Exception e) {
            return CompletableFuture.failedFuture(DgramError.system(SystemError.of(e), "unknown", null, 0));
        }
    }
}
