package dev.dgramd.client.internal;

/**
 * Keeps the JVM alive while any ref'd socket is bound (or binding) and not closed, as a bound
 * dgram socket keeps a Node process alive: one non-daemon thread parks while the count is
 * positive. gRPC's and the listeners' threads are daemon threads, so nothing else holds the JVM.
 */
public final class KeepAlive {
    private static final Object LOCK = new Object();
    private static int count;

    private boolean held;

    /** A holder that holds nothing yet. */
    public KeepAlive() {}

    /** Holds (or releases) this holder's share of the keep-alive; idempotent. */
    public void hold(boolean want) {
        synchronized (LOCK) {
            if (want == held) {
                return;
            }
            held = want;
            if (want) {
                if (count++ == 0) {
                    Thread t = new Thread(KeepAlive::park, "dgramd-keepalive");
                    t.setDaemon(false);
                    t.start();
                }
            } else if (--count == 0) {
                LOCK.notifyAll();
            }
        }
    }

    /** How many holders hold the JVM now (for tests and diagnostics). */
    public static int count() {
        synchronized (LOCK) {
            return count;
        }
    }

    private static void park() {
        synchronized (LOCK) {
            while (count > 0) {
                try {
                    LOCK.wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
