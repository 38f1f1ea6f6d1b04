package dev.atrium.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Under concurrency, every caller gets its own results, in its own order, from batches within the limits. */
class BatcherProperties {
    /** An input: who sent it, where in its request, and its length. */
    record Input(int request, int index, int length) {}

    @Property(tries = 40)
    void resultsReturnToTheirCallersInOrder_andBatchesStayWithinTheLimits(
            @ForAll @Size(min = 1, max = 24) List<@Size(min = 1, max = 6) List<@IntRange(min = 1, max = 64) Integer>> requests,
            @ForAll @IntRange(min = 1, max = 8) int maxBatchSize,
            @ForAll @IntRange(min = 16, max = 256) int maxBatchTokens,
            @ForAll @IntRange(min = 1, max = 3) int instances,
            @ForAll @IntRange(min = 0, max = 2) int delayMillis) throws Exception {
        List<List<Input>> batches = Collections.synchronizedList(new ArrayList<>());
        Batcher<Input, String> batcher = new Batcher<>("property", new Batcher.Settings(maxBatchSize, maxBatchTokens,
                Duration.ofMillis(delayMillis), 10_000, instances, 1.0, Duration.ofSeconds(30)), Input::length,
                batch -> {
                    batches.add(List.copyOf(batch));
                    return batch.stream().map(BatcherProperties::result).toList();
                }, Batcher.Observer.NONE);
        try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<List<String>>> answers = new ArrayList<>();
            for (int r = 0; r < requests.size(); r++) {
                List<Input> inputs = new ArrayList<>();
                for (int i = 0; i < requests.get(r).size(); i++) {
                    inputs.add(new Input(r, i, requests.get(r).get(i)));
                }
                answers.add(callers.submit(() -> batcher.submit("owner" + inputs.getFirst().request(), inputs).await()));
            }
            for (int r = 0; r < requests.size(); r++) {
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < requests.get(r).size(); i++) {
                    expected.add(result(new Input(r, i, requests.get(r).get(i))));
                }
                assertThat(answers.get(r).get()).containsExactlyElementsOf(expected);
            }
        } finally {
            batcher.close();
        }
        assertThat(batches.stream().mapToInt(List::size).sum()).as("every input ran once")
                .isEqualTo(requests.stream().mapToInt(List::size).sum());
        for (List<Input> batch : batches) {
            int longest = batch.stream().mapToInt(Input::length).max().orElseThrow();
            int shortest = batch.stream().mapToInt(Input::length).min().orElseThrow();
            assertThat(batch.size()).isLessThanOrEqualTo(maxBatchSize);
            if (batch.size() > 1) {
                assertThat((long) batch.size() * longest).isLessThanOrEqualTo(maxBatchTokens);
                assertThat(longest).isLessThanOrEqualTo((int) (shortest * Batcher.LENGTH_RATIO));
            }
        }
    }

    private static String result(Input input) {
        return input.request() + "/" + input.index() + "/" + input.length();
    }
}
