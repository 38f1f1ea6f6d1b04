package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StratifiedSplitTest {
    /** 100 of class 0, 30 of class 1, 5 of class 2, 1 of class 3, interleaved. */
    private static int[] classes() {
        int[] classes = new int[136];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = i < 100 ? 0 : i < 130 ? 1 : i < 135 ? 2 : 3;
        }
        // interleave deterministically so that classes are not in blocks
        int[] mixed = new int[classes.length];
        for (int i = 0; i < classes.length; i++) {
            mixed[(i * 37) % classes.length] = classes[i];
        }
        return mixed;
    }

    @Test
    void of_keepsEachClassShareAndCoversEveryExampleOnce() {
        int[] classes = classes();

        StratifiedSplit split = StratifiedSplit.of(classes, 0.2, 7);

        // round(100 * 0.2) = 20, round(30 * 0.2) = 6, round(5 * 0.2) = 1, a class of one stays in training
        assertThat(count(classes, split.validation(), 0)).isEqualTo(20);
        assertThat(count(classes, split.validation(), 1)).isEqualTo(6);
        assertThat(count(classes, split.validation(), 2)).isEqualTo(1);
        assertThat(count(classes, split.validation(), 3)).isZero();
        assertThat(IntStream.concat(IntStream.of(split.train()), IntStream.of(split.validation())).sorted().toArray())
                .isEqualTo(IntStream.range(0, classes.length).toArray());
        assertThat(split.train()).isSorted();
        assertThat(split.validation()).isSorted();
    }

    @Test
    void of_sameSeedSameSplit_otherSeedOtherSplit() {
        int[] classes = classes();

        assertThat(StratifiedSplit.of(classes, 0.2, 7)).isEqualTo(StratifiedSplit.of(classes, 0.2, 7));
        assertThat(StratifiedSplit.of(classes, 0.2, 8).validation())
                .isNotEqualTo(StratifiedSplit.of(classes, 0.2, 7).validation());
    }

    @Test
    void of_tinyOrLargeFraction_leavesAtLeastOneInEachPart() {
        int[] pairs = {0, 0, 1, 1};

        assertThat(StratifiedSplit.of(pairs, 0.01, 1).validation()).hasSize(2);
        assertThat(StratifiedSplit.of(pairs, 0.99, 1).train()).hasSize(2);
    }

    @Test
    void of_badFraction_refused() {
        assertThatThrownBy(() -> StratifiedSplit.of(new int[] {0, 1}, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StratifiedSplit.of(new int[] {0, 1}, 1, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StratifiedSplit.of(new int[] {0, -1}, 0.5, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static long count(int[] classes, int[] indices, int c) {
        return IntStream.of(indices).filter(i -> classes[i] == c).count();
    }
}
