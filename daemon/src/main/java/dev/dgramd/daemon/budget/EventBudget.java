package dev.dgramd.daemon.budget;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon-wide ceiling on bytes of events held for Events readers: events queued while a reader
 * is absent or behind, and batches handed to gRPC that its transport has not yet written. Every
 * socket draws from it through its own {@link Account}; whatever the traffic, the bytes held by all
 * accounts together never exceed {@link #limit()}.
 *
 * <p>Fairness, so that one flooded principal or socket cannot starve the others:
 * <ul>
 *   <li>a socket holds at most its own bound ({@code perSocket}, the {@code --max-queued-event-bytes});
 *   <li>a principal holds at most half the budget, and a socket's bytes beyond its first
 *       {@value #GUARANTEE} only while its principal holds less than three eighths of it (three
 *       quarters of its half);
 *   <li>beyond its first {@value #GUARANTEE}, a socket takes only while the whole daemon holds
 *       less than three quarters of the budget. The last quarter is kept for sockets' first
 *       {@value #GUARANTEE}, so a quiet socket of any principal still finds room under a flood
 *       on other sockets (until that quarter too is full of other sockets' first bytes).
 * </ul>
 *
 * <p>Lock-free: an account is used by one thread at a time (its socket's event loop) and shares only
 * two atomic counters, its principal's and the daemon's; a refusal writes none of them.
 */
public final class EventBudget {
    /** Bytes of each socket that may use the reserved last quarter of the budget. */
    public static final int GUARANTEE = 64 * 1024;
    /** The least budget {@link #EventBudget(long, long)} accepts. */
    public static final long MIN_LIMIT = 1L << 20;

    /** What {@link Account#tryReserve} did. */
    public enum Outcome {
        /** The bytes were taken. */
        TAKEN,
        /** Refused: the socket holds its own bound (its reader is absent or behind). */
        SOCKET_FULL,
        /** Refused: the daemon-wide budget, or the principal's share of it, is full. */
        BUDGET_FULL
    }

    private final long limit;
    private final long sharedLimit;
    private final long principalLimit;
    private final long principalSharedLimit;
    private final long perSocket;
    private final AtomicLong used = new AtomicLong();
    private final ConcurrentHashMap<String, Share> principals = new ConcurrentHashMap<>();

    /**
     * @param limit the ceiling, bytes, at least {@link #MIN_LIMIT}
     * @param perSocket the most one socket may hold, bytes, at least {@link #GUARANTEE}
     * @throws IllegalArgumentException when a bound is below its minimum
     */
    public EventBudget(long limit, long perSocket) {
        if (limit < MIN_LIMIT) {
            throw new IllegalArgumentException("the event budget must be >= " + MIN_LIMIT + " bytes, got " + limit);
        }
        if (perSocket < GUARANTEE) {
            throw new IllegalArgumentException("the per-socket bound must be >= " + GUARANTEE + " bytes, got "
                    + perSocket);
        }
        this.limit = limit;
        this.sharedLimit = limit / 4 * 3;
        this.principalLimit = limit / 2;
        this.principalSharedLimit = principalLimit / 4 * 3;
        this.perSocket = perSocket;
    }

    /**
     * The default ceiling: a quarter of the JVM's maximum heap ({@link Runtime#maxMemory()}), at
     * least {@link #MIN_LIMIT}. Queued payloads are heap arrays that outlive young collections, so
     * the collector copies them and needs as much free again; gRPC's transport holds the batches
     * it is writing in direct memory, which the JVM bounds by the heap size too; and the rest of the
     * daemon (sockets, channels, gRPC calls) needs the remainder.
     */
    public static long defaultLimit() {
        return Math.max(MIN_LIMIT, Runtime.getRuntime().maxMemory() / 4);
    }

    /** The ceiling, bytes. */
    public long limit() {
        return limit;
    }

    /** Bytes held now by every account; from any thread. */
    public long used() {
        return used.get();
    }

    /** The most one socket may hold. */
    public long perSocket() {
        return perSocket;
    }

    /**
     * A new account for one socket of {@code principal}. Use it from one thread at a time and
     * {@link Account#close()} it when the socket is gone.
     */
    public Account open(String principal) {
        Share share = principals.compute(principal, (p, s) -> {
            Share live = s == null ? new Share(p) : s;
            live.sockets++;
            return live;
        });
        return new Account(share);
    }

    /** Bytes held now by {@code principal}'s sockets; from any thread. */
    public long used(String principal) {
        Share s = principals.get(principal);
        return s == null ? 0 : s.used.get();
    }

    private void leave(Share share) {
        principals.computeIfPresent(share.principal, (p, s) -> --s.sockets == 0 ? null : s);
    }

    /** One principal's part of the budget. */
    private static final class Share {
        final String principal;
        final AtomicLong used = new AtomicLong();
        int sockets; // guarded by the map's compute

        Share(String principal) {
            this.principal = principal;
        }
    }

    /** One socket's part of the budget. Not thread-safe: its socket's event loop uses it ({@link #held()} excepted). */
    public final class Account implements AutoCloseable {
        private final Share share;
        private volatile long held; // single writer (the socket's loop); volatile for held() from anywhere
        private boolean closed;

        private Account(Share share) {
            this.share = share;
        }

        /**
         * Takes {@code bytes} from the budget when the rules above allow it.
         *
         * @return {@link Outcome#TAKEN}, or why nothing was taken ({@link Outcome#SOCKET_FULL} also
         *     once the account is closed)
         */
        public Outcome tryReserve(long bytes) {
            long after = held + bytes;
            if (closed || after > perSocket) {
                return Outcome.SOCKET_FULL;
            }
            boolean guaranteed = after <= GUARANTEE;
            if (!take(share.used, bytes, guaranteed ? principalLimit : principalSharedLimit)) {
                return Outcome.BUDGET_FULL;
            }
            if (!take(used, bytes, guaranteed ? limit : sharedLimit)) {
                share.used.addAndGet(-bytes);
                return Outcome.BUDGET_FULL;
            }
            held = after;
            return Outcome.TAKEN;
        }

        /** Gives back {@code bytes} taken earlier (at most what the account holds). */
        public void release(long bytes) {
            long n = Math.min(bytes, held);
            if (n <= 0) {
                return;
            }
            held -= n;
            share.used.addAndGet(-n);
            used.addAndGet(-n);
        }

        /** Bytes this account holds; from any thread. */
        public long held() {
            return held;
        }

        /** Gives back everything and leaves the budget; later reservations fail. Idempotent. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            release(held);
            closed = true;
            leave(share);
        }

        private boolean take(AtomicLong counter, long bytes, long max) {
            if (counter.get() + bytes > max) {
                return false; // the common refusal under a flood writes nothing shared
            }
            if (counter.addAndGet(bytes) > max) {
                counter.addAndGet(-bytes);
                return false;
            }
            return true;
        }
    }
}
