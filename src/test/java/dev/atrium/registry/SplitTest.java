package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How a split picks: sticky callers keep their version, moving the weights moves only the callers the boundary
 * passes, two models' splits place one caller independently, and weights are checked.
 */
class SplitTest {
    private static final int USERS = 10_000;

    private static int[] picks(Split split, String salt) {
        int[] versions = new int[USERS];
        for (int u = 0; u < USERS; u++) {
            versions[u] = split.pick(new Split.Routing("key", "user-" + u), salt);
        }
        return versions;
    }

    @Test
    void movingTheWeights_movesOnlyTheCallersTheBoundaryPasses() {
        int[] before = picks(new Split(Map.of(1, 90, 2, 10), Split.Sticky.USER), "m:production");
        int[] after = picks(new Split(Map.of(1, 80, 2, 20), Split.Sticky.USER), "m:production");
        int moved = 0;
        int onTwo = 0;
        for (int u = 0; u < USERS; u++) {
            if (before[u] == 2) {
                assertThat(after[u]).as("a canary user stays a canary when the canary grows").isEqualTo(2);
            }
            moved += before[u] != after[u] ? 1 : 0;
            onTwo += after[u] == 2 ? 1 : 0;
        }
        // about a tenth of the users move, about a fifth are on version 2 (binomial, 99.9%: ±3.29σ)
        assertThat(moved).isBetween(901, 1099);
        assertThat(onTwo).isBetween(1868, 2132);
        assertThat(picks(new Split(Map.of(1, 90, 2, 10), Split.Sticky.USER), "m:production")).isEqualTo(before);
    }

    @Test
    void twoModelsSplits_placeOneCallerIndependently() {
        int[] first = picks(new Split(Map.of(1, 50, 2, 50), Split.Sticky.USER), "a:production");
        int[] second = picks(new Split(Map.of(1, 50, 2, 50), Split.Sticky.USER), "b:production");
        int same = 0;
        for (int u = 0; u < USERS; u++) {
            same += first[u] == second[u] ? 1 : 0;
        }
        assertThat(same).as("half agree by chance, not all").isBetween(4800, 5200);
    }

    @Test
    void withoutAUser_aUserStickySplitKeepsTheKey_andAKeyStickyOneIgnoresTheUser() {
        Split byUser = new Split(Map.of(1, 50, 2, 50), Split.Sticky.USER);
        Split byKey = new Split(Map.of(1, 50, 2, 50), Split.Sticky.KEY);
        for (int k = 0; k < 50; k++) {
            Split.Routing routing = new Split.Routing("key-" + k, null);
            int version = byUser.pick(routing, "m:a");
            assertThat(byUser.pick(new Split.Routing("key-" + k, null), "m:a")).isEqualTo(version);
            int keyed = byKey.pick(new Split.Routing("key-" + k, "one"), "m:a");
            assertThat(byKey.pick(new Split.Routing("key-" + k, "another"), "m:a")).isEqualTo(keyed);
        }
    }

    @Test
    void weightsOutOfRange_areRefused() {
        assertThatThrownBy(() -> new Split(Map.of(1, 0), Split.Sticky.NONE)).isInstanceOf(AtriumException.class);
        assertThatThrownBy(() -> new Split(Map.of(), Split.Sticky.NONE)).isInstanceOf(AtriumException.class);
        assertThatThrownBy(() -> new Split(Map.of(1, Split.MAX_WEIGHT + 1), Split.Sticky.NONE))
                .isInstanceOf(AtriumException.class);
        assertThatThrownBy(() -> Split.Sticky.fromWireName("sometimes")).isInstanceOf(AtriumException.class);
    }
}
