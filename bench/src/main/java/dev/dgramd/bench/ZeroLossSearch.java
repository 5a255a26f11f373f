package dev.dgramd.bench;

/**
 * The zero-loss rate search (RFC 2544 style) of the inbound scenarios: a first trial flat out at
 * the generator's maximum; when it loses more than {@link Inbound#MAX_LOSS}, trials at fixed
 * offered rates, starting just under what the receiver managed under overload (within a twentieth
 * and nine tenths of the maximum, since a receiver that collapses under overload manages far less),
 * then between the highest rate that passed and the lowest that failed (geometric means while they
 * are far apart), until they are within {@code closeEnough} of each other or the trials run out.
 */
final class ZeroLossSearch {
    /** The lowest rate tried. */
    static final double FLOOR = 1_000;

    /** One trial at an offered rate (0: flat out), logged and reported as the caller wishes. */
    interface Trials<E extends Exception> {
        Inbound.Trial run(double rate) throws E;
    }

    /**
     * The outcome: the passing trial at the highest offered rate, or null when none passed;
     * {@code generatorBound} when the flat-out trial passed (the figure is then a lower bound).
     */
    record Result(Inbound.Trial best, boolean generatorBound) {}

    private ZeroLossSearch() {
    }

    static <E extends Exception> Result run(Trials<E> trials, int maxTrials, double closeEnough) throws E {
        Inbound.Trial first = trials.run(0);
        if (first.pass()) {
            return new Result(first, true);
        }
        Inbound.Trial best = null;
        double hi = first.offered();
        double lo = 0;
        double managed0 = first.received() * 1e9 / first.elapsedNanos();
        double guess = Math.max(hi * 0.05, Math.min(managed0 * 0.95, hi * 0.9));
        for (int t = 1; t < maxTrials; t++) {
            guess = Math.max(FLOOR, guess);
            Inbound.Trial tr = trials.run(guess);
            if (tr.pass()) {
                if (best == null || tr.offered() > best.offered()) {
                    best = tr;
                }
                lo = Math.max(lo, guess);
            } else {
                hi = Math.min(hi, guess);
                if (guess <= FLOOR) {
                    break;
                }
            }
            if (lo > 0 && hi / lo < closeEnough) {
                break;
            }
            if (lo > 0) {
                guess = midpoint(lo, hi);
            } else {
                // still no pass: go below what the receiver managed in this trial
                double managed = tr.received() * 1e9 / tr.elapsedNanos();
                guess = Math.max(guess * 0.25, Math.min(managed * 0.9, guess * 0.6));
            }
        }
        return new Result(best, false);
    }

    /**
     * The next guess between a passed rate and a failed one: the geometric mean while they are far
     * apart (the generator's maximum, GSO's, is many times any receiver's), else the arithmetic.
     */
    static double midpoint(double lo, double hi) {
        return hi / lo > 1.5 ? Math.sqrt(lo * hi) : (lo + hi) / 2;
    }
}
