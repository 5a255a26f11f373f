package dev.dgramd.client.internal;

import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one socket's tasks one at a time, in submission order, on a shared pool. A
 * {@link #gate gate} holds back the tasks after it until its future completes, without holding a
 * thread. After {@value #BUDGET} tasks in a row the runner yields the pool thread to other sockets.
 */
final class SerialExecutor implements Executor {
    private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);
    private static final int BUDGET = 64;
    private static final ThreadLocal<SerialExecutor> CURRENT = new ThreadLocal<>();

    private final Executor pool;
    private final Queue<Object> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    SerialExecutor(Executor pool) {
        this.pool = pool;
    }

    /** True when the calling thread is running a task of any SerialExecutor. */
    static boolean inListenerThread() {
        return CURRENT.get() != null;
    }

    /** True when the calling thread is running a task of this executor. */
    boolean inThisExecutor() {
        return CURRENT.get() == this;
    }

    @Override
    public void execute(Runnable task) {
        queue.add(task);
        schedule();
    }

    /** Tasks submitted after this run only once {@code future} has completed (either way). */
    void gate(CompletableFuture<?> future) {
        if (!future.isDone()) {
            queue.add(future);
            schedule();
        }
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            submit();
        }
    }

    private void submit() {
        try {
            pool.execute(this::drain);
        } catch (RejectedExecutionException e) {
            log.debug("listener pool shut down; {} task(s) dropped", queue.size());
            queue.clear();
            scheduled.set(false);
        }
    }

    private void drain() {
        SerialExecutor previous = CURRENT.get();
        CURRENT.set(this);
        try {
            for (int i = 0; i < BUDGET; i++) {
                Object head = queue.peek();
                if (head == null) {
                    scheduled.set(false);
                    if (queue.isEmpty() || !scheduled.compareAndSet(false, true)) {
                        return;
                    }
                    continue;
                }
                if (head instanceof CompletableFuture<?> gate) {
                    if (!gate.isDone()) {
                        // stay scheduled; resume when the gate opens
                        gate.whenComplete((v, t) -> submit());
                        return;
                    }
                    queue.poll();
                    continue;
                }
                queue.poll();
                try {
                    ((Runnable) head).run();
                } catch (Throwable t) {
                    log.error("uncaught exception in a dgram socket listener", t);
                }
            }
            submit();
        } finally {
            CURRENT.set(previous);
        }
    }
}
