package dev.atrium.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The per-request batch plan: every input exactly once, limits held, little padding. */
class BatchPlanTest {
    @RepeatedTest(20)
    void planBatches_randomLengths_coverEveryInputOnceWithinTheLimits() {
        Random random = new Random();
        int count = 1 + random.nextInt(300);
        List<long[]> sequences = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sequences.add(new long[1 + random.nextInt(random.nextBoolean() ? 16 : 512)]);
        }
        List<int[]> batches = EmbeddingPipeline.planBatches(sequences);
        Set<Integer> seen = new HashSet<>();
        for (int[] batch : batches) {
            assertThat(batch.length).isBetween(1, 32);
            int longest = Arrays.stream(batch).map(i -> sequences.get(i).length).max().orElseThrow();
            int shortest = Arrays.stream(batch).map(i -> sequences.get(i).length).min().orElseThrow();
            assertThat((long) batch.length * longest).isLessThanOrEqualTo(Math.max(4096, longest));
            assertThat(shortest * 4L).isGreaterThanOrEqualTo(longest * 3L);
            for (int index : batch) {
                assertThat(seen.add(index)).as("input %d planned twice", index).isTrue();
            }
        }
        assertThat(seen).hasSize(count);
    }

    @Test
    void planBatches_shortSentences_shareBatches() {
        List<long[]> sequences = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            sequences.add(new long[12]);
        }
        assertThat(EmbeddingPipeline.planBatches(sequences)).hasSize(2);
    }
}
