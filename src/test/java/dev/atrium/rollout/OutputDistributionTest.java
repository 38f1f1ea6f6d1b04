package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class OutputDistributionTest {
    @Test
    void classes_binEachLabelInTheModelsOrder() {
        OutputDistribution.Classes classes = new OutputDistribution.Classes(List.of("sports", "cooking", "computers"));
        assertThat(classes.bins()).isEqualTo(3);
        assertThat(classes.bin("sports")).isEqualTo(OptionalInt.of(0));
        assertThat(classes.bin("computers")).isEqualTo(OptionalInt.of(2));
        assertThat(classes.bin("gardening")).isEmpty();
        assertThatThrownBy(() -> new OutputDistribution.Classes(List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void classes_ofManyLabels_keepTheMostFrequentAndGroupTheRest() {
        OutputDistribution.Classes all = new OutputDistribution.Classes(List.of("a", "b", "c", "d", "e"));
        long[] counts = {1, 9, 5, 9, 0};
        OutputDistribution.Classes grouped = OutputDistribution.Classes.grouped(all, counts, 3);
        // b and d are the most frequent; they keep the model's order
        assertThat(grouped.labels()).containsExactly("b", "d", OutputDistribution.Classes.OTHER);
        assertThat(grouped.bin("d")).isEqualTo(OptionalInt.of(1));
        assertThat(grouped.bin("a")).isEqualTo(OptionalInt.of(2));
        assertThat(grouped.bin("never-seen")).isEqualTo(OptionalInt.of(2));
        assertThat(grouped.regroup(all, counts)).containsExactly(9, 9, 6);
        assertThat(OutputDistribution.Classes.grouped(all, counts, 5)).isSameAs(all);
    }

    @Test
    void deciles_ofOneToOneHundred_cutEveryTenth() {
        double[] values = IntStream.rangeClosed(1, 100).asDoubleStream().toArray();
        OutputDistribution.Deciles deciles = OutputDistribution.Deciles.of(values);
        assertThat(deciles.cuts()).containsExactly(11.0, 21.0, 31.0, 41.0, 51.0, 61.0, 71.0, 81.0, 91.0);
        assertThat(deciles.bins()).isEqualTo(10);
        long[] counts = new long[10];
        for (double value : values) {
            counts[deciles.bin(value)]++;
        }
        // the baseline's own values fall a tenth in each bin
        assertThat(counts).containsOnly(10);
        // values outside the baseline's range land in the end bins; a cut starts its bin
        assertThat(deciles.bin(-5)).isZero();
        assertThat(deciles.bin(1_000)).isEqualTo(9);
        assertThat(deciles.bin(11)).isEqualTo(1);
        assertThat(deciles.bin(10.999)).isZero();
    }

    @Test
    void deciles_ofRepeatedValues_mergeEqualCuts() {
        double[] values = new double[100];
        java.util.Arrays.fill(values, 0, 50, 1.0);
        java.util.Arrays.fill(values, 50, 100, 2.0);
        OutputDistribution.Deciles deciles = OutputDistribution.Deciles.of(values);
        assertThat(deciles.cuts()).containsExactly(1.0, 2.0);
        assertThat(deciles.bins()).isEqualTo(3);
        assertThat(deciles.bin(1.0)).isEqualTo(1);
        assertThat(deciles.bin(2.0)).isEqualTo(2);
        assertThat(deciles.bin(0.5)).isZero();
    }

    @Test
    void deciles_asStored_roundTripAndMustAscend() {
        OutputDistribution.Deciles deciles = OutputDistribution.Deciles.at(List.of(0.5, 0.7, 0.9));
        assertThat(deciles.bins()).isEqualTo(4);
        assertThat(deciles.bin(0.8)).isEqualTo(2);
        assertThatThrownBy(() -> OutputDistribution.Deciles.at(List.of(0.5, 0.5)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OutputDistribution.Deciles.of(new double[0]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
