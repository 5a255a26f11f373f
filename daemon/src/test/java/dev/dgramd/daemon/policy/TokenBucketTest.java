package dev.dgramd.daemon.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token bucket against a clock the test moves by hand. */
class TokenBucketTest {
    private static final long MILLISECOND = 1_000_000;
    private static final long SECOND = 1_000_000_000;

    /** Starts far from zero so nothing depends on the clock starting at 0. */
    private final AtomicLong now = new AtomicLong(123_456_789_000L);

    @Test
    void startsFullAndAdmitsTheBurstAtOnce() {
        TokenBucket bucket = new TokenBucket(100, 10, now::get);

        for (int i = 0; i < 10; i++) {
            assertThat(bucket.tryTake(1)).as("datagram %d", i).isTrue();
        }
        assertThat(bucket.tryTake(1)).isFalse();
    }

    @Test
    void refillsAtTheRate() {
        TokenBucket bucket = new TokenBucket(100, 10, now::get);
        assertThat(bucket.tryTake(10)).isTrue();

        now.addAndGet(9 * MILLISECOND); // 0.9 tokens
        assertThat(bucket.tryTake(1)).isFalse();
        now.addAndGet(MILLISECOND); // 1.0
        assertThat(bucket.tryTake(1)).isTrue();
        assertThat(bucket.tryTake(1)).isFalse();

        now.addAndGet(50 * MILLISECOND); // 5
        assertThat(bucket.tryTake(6)).isFalse();
        assertThat(bucket.tryTake(5)).isTrue();
    }

    @Test
    void fractionsOfATokenAddUpAcrossChecks() {
        TokenBucket bucket = new TokenBucket(1, 1, now::get);
        assertThat(bucket.tryTake(1)).isTrue();

        for (int i = 0; i < 3; i++) {
            now.addAndGet(250 * MILLISECOND);
            assertThat(bucket.tryTake(1)).as("after %d ms", 250 * (i + 1)).isFalse();
        }
        now.addAndGet(250 * MILLISECOND);
        assertThat(bucket.tryTake(1)).isTrue();
    }

    @Test
    void neverHoldsMoreThanTheBurst() {
        TokenBucket bucket = new TokenBucket(1_000, 100, now::get);
        now.addAndGet(60 * SECOND);

        assertThat(bucket.tryTake(100)).isTrue();
        assertThat(bucket.tryTake(1)).isFalse();
    }

    @Test
    void theDefaultBurstIsOneSecondsWorth() {
        TokenBucket bucket = new TokenBucket(50, now::get);

        assertThat(bucket.tryTake(50)).isTrue();
        assertThat(bucket.tryTake(1)).isFalse();
        now.addAndGet(SECOND);
        assertThat(bucket.tryTake(51)).isTrue(); // above the burst, admitted because the bucket is full
    }

    @Test
    void anAmountAboveTheBurstPassesWhenFullAndIsPaidBackBeforeTheNext() {
        TokenBucket bucket = new TokenBucket(1_000, 1_000, now::get);

        assertThat(bucket.tryTake(5_000)).isTrue(); // 4,000 in debt
        now.addAndGet(4 * SECOND);
        assertThat(bucket.tryTake(1)).isFalse(); // back to 0
        now.addAndGet(SECOND - MILLISECOND);
        assertThat(bucket.tryTake(5_000)).isFalse(); // 999: not full yet
        now.addAndGet(MILLISECOND);
        assertThat(bucket.tryTake(5_000)).isTrue();
    }

    @Test
    void aRefusedTakeLeavesTheBucketAsItWas() {
        TokenBucket bucket = new TokenBucket(10, 10, now::get);
        assertThat(bucket.tryTake(8)).isTrue();

        assertThat(bucket.tryTake(3)).isFalse();
        assertThat(bucket.tryTake(2)).isTrue();
        assertThat(bucket.tryTake(1)).isFalse();
    }

    @Test
    void takingNothingAlwaysSucceeds() {
        TokenBucket bucket = new TokenBucket(10, 10, now::get);
        assertThat(bucket.tryTake(10)).isTrue();

        assertThat(bucket.tryTake(0)).isTrue();
    }

    @Test
    void aClockThatGoesBackwardsAddsNothing() {
        TokenBucket bucket = new TokenBucket(1_000, 10, now::get);
        assertThat(bucket.tryTake(10)).isTrue();

        now.addAndGet(-SECOND);
        assertThat(bucket.tryTake(1)).isFalse();
        now.addAndGet(SECOND + MILLISECOND); // 1 ms after the last refill: one token
        assertThat(bucket.tryTake(1)).isTrue();
        assertThat(bucket.tryTake(1)).isFalse();
    }

    @Test
    void rateZeroIsUnlimitedAndNeverReadsTheClock() {
        TokenBucket bucket = new TokenBucket(0, 0, () -> {
            throw new AssertionError("clock read");
        });

        for (int i = 0; i < 1_000; i++) {
            assertThat(bucket.tryTake(Long.MAX_VALUE)).isTrue();
        }
        assertThat(new TokenBucket(0, () -> {
            throw new AssertionError("clock read");
        }).tryTake(1)).isTrue();
    }

    @Test
    void highRatesAndLongIdleTimesDoNotOverflow() {
        TokenBucket bucket = new TokenBucket(Long.MAX_VALUE / 2, Long.MAX_VALUE / 2, now::get);
        assertThat(bucket.tryTake(Long.MAX_VALUE / 2)).isTrue();
        assertThat(bucket.tryTake(Long.MAX_VALUE / 4)).isFalse();

        now.addAndGet(365L * 24 * 3600 * SECOND);
        assertThat(bucket.tryTake(Long.MAX_VALUE / 2)).isTrue();
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> new TokenBucket(-1, 1, now::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("ratePerSecond must be >= 0, got -1");
        assertThatThrownBy(() -> new TokenBucket(10, 0, now::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("burst must be >= 1, got 0");
        TokenBucket bucket = new TokenBucket(10, 10, now::get);
        assertThatThrownBy(() -> bucket.tryTake(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("amount must be >= 0, got -1");
    }
}
