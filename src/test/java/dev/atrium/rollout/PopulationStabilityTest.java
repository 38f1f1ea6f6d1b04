package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PopulationStabilityTest {
    @Test
    void index_ofTheSameShares_isZero() {
        assertThat(PopulationStability.index(new long[] {50, 30, 20}, new long[] {500, 300, 200})).isZero();
    }

    @Test
    void index_ofKnownShares_isTheSumOfEachBinsTerm() {
        // (0.1-0.25)ln(0.4) + (0.2-0.25)ln(0.8) + (0.3-0.25)ln(1.2) + (0.4-0.25)ln(1.6)
        assertThat(PopulationStability.index(new long[] {25, 25, 25, 25}, new long[] {10, 20, 30, 40}))
                .isCloseTo(0.228217, within(1e-6));
        // a small sample's wobble stays far below the usual 0.2 alarm
        assertThat(PopulationStability.index(new long[] {20, 20, 20}, new long[] {17, 22, 21}))
                .isCloseTo(0.012116, within(1e-6));
    }

    @Test
    void index_withAnEmptyBin_isFiniteByTheEpsilonFloor() {
        // the empty bin counts as a share of 1e-4: (0.5-1)ln(0.5) + (0.5-1e-4)ln(0.5/1e-4)
        assertThat(PopulationStability.index(new long[] {100, 0}, new long[] {50, 50}))
                .isCloseTo(4.604318, within(1e-6));
        assertThat(PopulationStability.index(new long[] {1, 1, 1}, new long[] {0, 3, 0}))
                .isCloseTo(6.138605, within(1e-6));
    }

    @Test
    void index_isSymmetricInItsArguments() {
        long[] a = {10, 20, 30, 40};
        long[] b = {40, 30, 20, 10};
        assertThat(PopulationStability.index(a, b)).isCloseTo(PopulationStability.index(b, a), within(1e-12));
    }

    @Test
    void index_ofMismatchedOrEmptyHistograms_isRefused() {
        assertThatThrownBy(() -> PopulationStability.index(new long[] {1, 2}, new long[] {1, 2, 3}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PopulationStability.index(new long[] {0, 0}, new long[] {1, 2}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PopulationStability.index(new long[] {1, -1}, new long[] {1, 2}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
