package dev.dgramd.daemon.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.budget.EventBudget.Outcome;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The daemon-wide event budget's rules: per socket, per principal, and the reserved last quarter. */
class EventBudgetTest {
    static final long LIMIT = 8L << 20;
    static final int CHUNK = 1024;

    private static long fill(EventBudget.Account a) {
        long taken = 0;
        while (a.tryReserve(CHUNK) == Outcome.TAKEN) {
            taken += CHUNK;
        }
        return taken;
    }

    @Test
    void aSocketHoldsAtMostItsOwnBoundAndThatIsTheListenersDrop() {
        EventBudget budget = new EventBudget(LIMIT, 256 * 1024);
        EventBudget.Account a = budget.open("alice");
        assertThat(fill(a)).isEqualTo(256 * 1024);
        assertThat(a.tryReserve(CHUNK)).isEqualTo(Outcome.SOCKET_FULL);
        a.release(CHUNK);
        assertThat(a.tryReserve(CHUNK)).isEqualTo(Outcome.TAKEN);
        assertThat(budget.used()).isEqualTo(256 * 1024);
    }

    @Test
    void oneFloodedPrincipalTakesAtMostHalfAndLeavesRoomForOthers() {
        EventBudget budget = new EventBudget(LIMIT, LIMIT);
        List<EventBudget.Account> flood = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            flood.add(budget.open("mallory"));
        }
        for (EventBudget.Account a : flood) {
            fill(a);
        }
        // The first socket takes three eighths; each other one only its first 64 KiB.
        assertThat(flood.get(0).held()).isEqualTo(LIMIT / 2 / 4 * 3);
        assertThat(flood.get(7).held()).isEqualTo(EventBudget.GUARANTEE);
        assertThat(budget.used("mallory")).isLessThanOrEqualTo(LIMIT / 2);
        // A quiet socket of mallory still gets its first 64 KiB, up to mallory's half.
        EventBudget.Account quiet = budget.open("mallory");
        assertThat(quiet.tryReserve(EventBudget.GUARANTEE)).isEqualTo(Outcome.TAKEN);
        assertThat(quiet.tryReserve(CHUNK)).isEqualTo(Outcome.BUDGET_FULL);
        // Another principal fills the shared three quarters, beyond its sockets' first bytes.
        EventBudget.Account bob = budget.open("bob");
        long bobTook = fill(bob);
        assertThat(bobTook).isGreaterThanOrEqualTo(LIMIT / 4 * 3 - budget.used("mallory") - CHUNK);
        assertThat(budget.used()).isLessThanOrEqualTo(LIMIT / 4 * 3);
        // The last quarter is for sockets' first 64 KiB: a new socket of a third principal gets them.
        EventBudget.Account carol = budget.open("carol");
        assertThat(carol.tryReserve(EventBudget.GUARANTEE)).isEqualTo(Outcome.TAKEN);
        assertThat(carol.tryReserve(CHUNK)).isEqualTo(Outcome.BUDGET_FULL);
    }

    @Test
    void theCeilingHoldsWhateverTheNumberOfSockets() {
        EventBudget budget = new EventBudget(LIMIT, LIMIT);
        for (int i = 0; i < 1000; i++) {
            fill(budget.open("p" + (i % 10)));
            assertThat(budget.used()).isLessThanOrEqualTo(LIMIT);
        }
        assertThat(budget.used()).isGreaterThan(LIMIT - EventBudget.GUARANTEE);
    }

    @Test
    void closingGivesEverythingBackAndRefusesMore() {
        EventBudget budget = new EventBudget(LIMIT, LIMIT);
        EventBudget.Account a = budget.open("alice");
        EventBudget.Account b = budget.open("alice");
        fill(a);
        fill(b);
        a.close();
        a.close();
        assertThat(a.held()).isZero();
        assertThat(a.tryReserve(1)).isEqualTo(Outcome.SOCKET_FULL);
        assertThat(budget.used()).isEqualTo(b.held()).isEqualTo(budget.used("alice"));
        b.close();
        assertThat(budget.used()).isZero();
        assertThat(budget.used("alice")).isZero();
    }

    @Test
    void boundsBelowTheirMinimumAreRefused() {
        assertThatThrownBy(() -> new EventBudget(EventBudget.MIN_LIMIT - 1, LIMIT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1048576");
        assertThatThrownBy(() -> new EventBudget(LIMIT, EventBudget.GUARANTEE - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 65536");
        assertThat(EventBudget.defaultLimit()).isEqualTo(Math.max(EventBudget.MIN_LIMIT,
                Runtime.getRuntime().maxMemory() / 4));
    }
}
