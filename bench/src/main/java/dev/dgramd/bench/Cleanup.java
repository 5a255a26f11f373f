package dev.dgramd.bench;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What the bench must undo whatever happens: spawned processes, daemons, event loops. Closed in
 * reverse order at the end of a run and, should the JVM be stopped first, by a shutdown hook.
 */
final class Cleanup implements AutoCloseable {
    private final Deque<AutoCloseable> stack = new ArrayDeque<>();
    private final Thread hook = new Thread(this::closeQuietly, "dgramd-bench-cleanup");
    private boolean closed;

    Cleanup() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Registers {@code c} and returns it. */
    synchronized <T extends AutoCloseable> T add(T c) {
        if (closed) {
            closeOne(c);
            throw new IllegalStateException("bench is shutting down");
        }
        stack.push(c);
        return c;
    }

    /** Closes {@code c} now (if registered) and forgets it. */
    void closeNow(AutoCloseable c) {
        synchronized (this) {
            stack.remove(c);
        }
        closeOne(c);
    }

    private void closeQuietly() {
        while (true) {
            AutoCloseable c;
            synchronized (this) {
                closed = true;
                c = stack.poll();
            }
            if (c == null) {
                return;
            }
            closeOne(c);
        }
    }

    private static void closeOne(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            System.err.println("cleanup: " + c + ": " + e);
        }
    }

    @Override
    public void close() {
        closeQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook is running or ran
        }
    }
}
