package dev.dgramd.daemon.policy;

import dev.dgramd.daemon.udp.DgramError;

/**
 * Writes audit lines for one source of refusals, at most one a second: the refusals in between are
 * counted and the count goes on the next line, so a flood of refused sends cannot flood the log.
 * Thread-safe.
 */
final class AuditLimiter {
    private static final long INTERVAL_NANOS = 1_000_000_000L;

    private long lastLine = Long.MIN_VALUE;
    private long suppressed;

    synchronized void log(String principal, String socketId, String op, DgramError refusal, long now) {
        if (lastLine != Long.MIN_VALUE && now - lastLine < INTERVAL_NANOS) {
            suppressed++;
            return;
        }
        lastLine = now;
        long left = suppressed;
        suppressed = 0;
        String target = refusal.address() == null ? "-"
                : refusal.port() > 0 ? refusal.address() + ":" + refusal.port() : refusal.address();
        Enforcer.AUDIT.warn("audit: refused principal={} socket={} op={} code={} kind={} target={} rule=\"{}\""
                        + " suppressed_since_last={}",
                principal, socketId == null ? "-" : socketId, op, refusal.code(),
                refusal.refusal().name().toLowerCase(java.util.Locale.ROOT), target, refusal.rule(), left);
    }
}
