package dev.dgramd.client.internal;

/**
 * Keeps the JVM alive while any ref'd socket is bound (or binding) and not closed, as a bound
 * dgram socket keeps a Node process alive: one non-daemon thread parks while the count is
 * positive. gRPC's and the listeners' threads are daemon threads, so nothing else holds the JVM.
 * When the count falls to zero the thread lingers {@value #LINGER_MILLIS} ms before it ends (so
 * the JVM may exit that much later than Node would), so that a program that closes and opens
 * sockets in a loop does not start a thread per socket. A holder taken while it lingers wakes
 * nothing: the thread sees the count when its linger ends (so churn costs no wake-up per socket).
 */
public final class KeepAlive {
    static final long LINGER_MILLIS = 20;
    private static final Object LOCK = new Object();
    private static int count;
    private static boolean parked; // a keep-alive thread runs
    private static boolean waiting; // it waits for the count to fall to zero (not lingering)

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
                // a lingering thread is not woken: it sees the count when its linger ends
                if (count++ == 0 && !parked) {
                    parked = true;
                    Thread t = new Thread(KeepAlive::park, "dgramd-keepalive");
                    t.setDaemon(false);
                    t.start();
                }
            } else if (--count == 0 && waiting) {
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
            try {
                while (true) {
                    waiting = true;
                    while (count > 0) {
                        LOCK.wait();
                    }
                    waiting = false;
                    long end = System.nanoTime() + LINGER_MILLIS * 1_000_000L;
                    long left;
                    while (count == 0 && (left = end - System.nanoTime()) > 0) {
                        LOCK.wait(Math.max(1, left / 1_000_000L));
                    }
                    if (count == 0) {
                        return;
                    }
                }
            } catch (InterruptedException e) {
                // ends the thread
            } finally {
                parked = false;
                waiting = false;
            }
        }
    }
}
