package dev.dgramd.daemon.policy;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketGuard;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a {@link Policy}: each principal's socket quota, a {@link SocketGuard} per socket, and the
 * audit log. Every refusal is logged once on the {@code dgramd.audit} logger, as one line starting
 * {@code audit:}; a burst of refusals on one socket (or of one principal's socket creations) is
 * summarised at most once a second with the number of lines left out.
 */
public final class Enforcer {
    static final Logger AUDIT = LoggerFactory.getLogger("dgramd.audit");

    private final Policy policy;
    private final ConcurrentMap<String, AuditLimiter> createLimiters = new ConcurrentHashMap<>();

    public Enforcer(Policy policy) {
        this.policy = policy;
    }

    /** The policy applied. */
    public Policy policy() {
        return policy;
    }

    /** How many open sockets {@code principal} may hold. */
    public int maxSockets(String principal) {
        return policy.rules(principal).maxSockets();
    }

    /**
     * Null when a socket of {@code principal} may ask to wait {@code keepAlive} for a new Events
     * stream, else the EACCES refusal naming quotas.maxKeepAliveSeconds (audited by the caller).
     */
    public DgramError checkKeepAlive(String principal, java.time.Duration keepAlive) {
        int max = policy.rules(principal).maxKeepAliveSeconds();
        if (keepAlive.compareTo(java.time.Duration.ofSeconds(max)) <= 0) {
            return null;
        }
        return DgramError.refused(DgramError.Refusal.FORBIDDEN, dev.dgramd.daemon.udp.SystemError.EACCES, "socket",
                null, 0, "keep-alive " + keepAlive.toMillis() + " ms is above quotas.maxKeepAliveSeconds " + max);
    }

    /** True when {@code principal} may use the Admin service. */
    public boolean isAdmin(String principal) {
        return policy.isAdmin(principal);
    }

    /** A new guard for socket {@code socketId} of {@code principal}, with its own rate buckets. */
    public SocketGuard guard(String principal, String socketId) {
        return new PolicyGuard(policy.rules(principal), principal, socketId, System::nanoTime);
    }

    /** Logs an audit line when {@code failure} of {@code op} is a policy or quota refusal; else does nothing. */
    public void audit(String principal, String socketId, String op, Throwable failure) {
        DgramError e = DgramError.causeOf(failure);
        if (e != null && e.refusal() != null) {
            createLimiters.computeIfAbsent(principal, p -> new AuditLimiter())
                    .log(principal, socketId, op, e, System.nanoTime());
        }
    }
}
