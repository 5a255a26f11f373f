package dev.dgramd.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * KeepAlive under churn: a holder taken while the keep-alive thread lingers wakes nothing, and the
 * thread must then stay (the JVM held) until that holder lets go, and end after it.
 */
class KeepAliveLingerTest {
    @Test
    void aHolderTakenDuringTheLingerKeepsTheThreadUntilReleased() throws InterruptedException {
        int before = KeepAlive.count();
        KeepAlive first = new KeepAlive();
        first.hold(true);
        Thread thread = keepAliveThread();
        assertNotNull(thread, "a held KeepAlive runs a dgramd-keepalive thread");
        first.hold(false); // the thread lingers (when nothing else holds)
        KeepAlive second = new KeepAlive();
        second.hold(true); // within the linger: no wake-up
        // Well past the linger: the thread must still be there, the count being positive.
        thread.join(50 * KeepAlive.LINGER_MILLIS);
        assertTrue(thread.isAlive(), "the keep-alive thread ended while a holder held");
        assertFalse(thread.isDaemon());
        assertEquals(before + 1, KeepAlive.count());
        second.hold(false);
        if (before == 0) {
            thread.join(10_000);
            assertFalse(thread.isAlive(), "the keep-alive thread outlived every holder");
        }
    }

    /** The running keep-alive thread (one of an earlier test that is just ending is waited out). */
    private static Thread keepAliveThread() throws InterruptedException {
        java.util.List<Thread> found = new java.util.ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("dgramd-keepalive") && t.isAlive()) {
                found.add(t);
            }
        }
        if (found.size() > 1) {
            for (Thread t : found) {
                t.join(1_000);
            }
            found.removeIf(t -> !t.isAlive());
        }
        return found.isEmpty() ? null : found.get(0);
    }
}
