package dev.dgramd.daemon.policy;

import java.util.function.LongSupplier;

/**
 * A rate limit: tokens flow in at {@code ratePerSecond} up to {@code burst}, and each admitted
 * datagram takes some (one per datagram, or its size in bytes). The bucket starts full.
 *
 * <p>An amount larger than the burst is admitted when the bucket is full, and leaves the bucket in
 * debt: with 1,000 bytes/s, a 5,000-byte datagram sent from a full bucket delays the next until
 * 5 s' worth of tokens has flowed back. So a low byte rate slows big datagrams down but never
 * refuses them forever, and the long-run rate still holds.
 *
 * <p>A rate of 0 means unlimited: {@link #tryTake} always succeeds and never reads the clock.
 *
 * <p>Not thread-safe: each socket's buckets are used only on that socket's event-loop thread.
 */
public final class TokenBucket {
    private static final double NANOS_PER_SECOND = 1_000_000_000.0;

    private final long ratePerSecond;
    private final long burst;
    private final LongSupplier nanoTime;
    private double tokens;
    private long refilledAt;

    /**
     * A bucket that holds one second's worth of tokens ({@code burst = ratePerSecond}).
     *
     * @throws IllegalArgumentException if {@code ratePerSecond} is negative
     */
    public TokenBucket(long ratePerSecond, LongSupplier nanoTime) {
        this(ratePerSecond, Math.max(ratePerSecond, 1), nanoTime);
    }

    /**
     * @param ratePerSecond tokens added per second; 0 for unlimited
     * @param burst the most tokens the bucket holds (ignored when unlimited)
     * @param nanoTime the clock, {@code System::nanoTime} outside tests
     * @throws IllegalArgumentException if {@code ratePerSecond} is negative, or {@code burst} is
     *     below 1 for a limited rate
     */
    public TokenBucket(long ratePerSecond, long burst, LongSupplier nanoTime) {
        if (ratePerSecond < 0) {
            throw new IllegalArgumentException("ratePerSecond must be >= 0, got " + ratePerSecond);
        }
        if (ratePerSecond > 0 && burst < 1) {
            throw new IllegalArgumentException("burst must be >= 1, got " + burst);
        }
        this.ratePerSecond = ratePerSecond;
        this.burst = burst;
        this.nanoTime = nanoTime;
        this.tokens = burst;
        this.refilledAt = ratePerSecond > 0 ? nanoTime.getAsLong() : 0;
    }

    /**
     * Takes {@code amount} tokens if there are that many, or if the bucket is full (see the class
     * comment for amounts above the burst). Allocates nothing.
     *
     * @return whether the tokens were taken; if not, the bucket is unchanged
     * @throws IllegalArgumentException if {@code amount} is negative
     */
    public boolean tryTake(long amount) {
        if (amount < 0) {
            throw new IllegalArgumentException("amount must be >= 0, got " + amount);
        }
        if (ratePerSecond == 0) {
            return true;
        }
        long now = nanoTime.getAsLong();
        long elapsed = now - refilledAt;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + (double) elapsed * ratePerSecond / NANOS_PER_SECOND);
            refilledAt = now;
        }
        if (tokens < Math.min(amount, burst)) {
            return false;
        }
        tokens -= amount;
        return true;
    }
}
