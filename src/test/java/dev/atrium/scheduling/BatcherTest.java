package dev.atrium.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The batcher's behaviour (not its speed), with a runner that records what it was given. */
class BatcherTest {
    /** Items are their own lengths. */
    private static final Batcher.Shape<Integer> LENGTHS = item -> item;

    private final List<List<Integer>> batches = Collections.synchronizedList(new ArrayList<>());
    private final CountDownLatch gate = new CountDownLatch(1);
    private Batcher<Integer, String> batcher;

    @AfterEach
    void close() {
        gate.countDown();
        if (batcher != null) {
            batcher.close();
        }
    }

    private Batcher<Integer, String> batcher(int maxBatchSize, int maxTokens, Duration delay, int capacity,
            int instances, Duration deadline, boolean gated) {
        batcher = new Batcher<>("test", new Batcher.Settings(maxBatchSize, maxTokens, delay, capacity, instances, 0.5,
                deadline), LENGTHS, batch -> {
                    batches.add(List.copyOf(batch));
                    if (gated) {
                        gate.await(10, TimeUnit.SECONDS);
                    }
                    return batch.stream().map(item -> "r" + item).toList();
                }, Batcher.Observer.NONE);
        return batcher;
    }

    @Test
    void oneRequestsInputs_areSplitIntoBatchesWithinTheLimits_andComeBackInOrder() {
        batcher(4, 64, Duration.ZERO, 100, 1, Duration.ofSeconds(10), false);
        List<Integer> items = List.of(10, 12, 11, 40, 10, 13, 12, 11, 10, 41);
        assertThat(batcher.submit("a", items).await()).containsExactlyElementsOf(items.stream().map(i -> "r" + i).toList());
        assertThat(batches).allSatisfy(batch -> {
            assertThat(batch.size()).isLessThanOrEqualTo(4);
            int longest = Collections.max(batch);
            assertThat(batch.size() * longest).as("padded tokens of %s", batch).isLessThanOrEqualTo(64);
            assertThat(longest).isLessThanOrEqualTo((int) (Collections.min(batch) * Batcher.LENGTH_RATIO));
        });
        assertThat(batches.stream().mapToInt(List::size).sum()).isEqualTo(items.size());
        assertThat(batches).as("the long inputs never ride with the short ones").noneSatisfy(batch ->
                assertThat(batch).anyMatch(item -> item < 20).anyMatch(item -> item >= 40));
    }

    @Test
    void anItemLongerThanTheTokenBudget_runsAlone() {
        batcher(8, 16, Duration.ZERO, 100, 1, Duration.ofSeconds(10), false);
        assertThat(batcher.submit("a", List.of(100)).await()).containsExactly("r100");
        assertThat(batches).containsExactly(List.of(100));
    }

    @Test
    void aLoneRequest_waitsNoLongerThanTheQueueDelay() {
        batcher(8, 1000, Duration.ofMillis(300), 100, 1, Duration.ofSeconds(10), false);
        long start = System.nanoTime();
        batcher.submit("a", List.of(5)).await();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(waited).as("it waited for company, but no longer than the delay").isBetween(250L, 1000L);

        batches.clear();
        start = System.nanoTime();
        batcher.submit("a", List.of(5, 5, 5, 5, 5, 5, 5, 5)).await();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("a full batch does not wait")
                .isLessThan(250L);
        assertThat(batches).containsExactly(List.of(5, 5, 5, 5, 5, 5, 5, 5));
    }

    @Test
    void withoutDelay_requestsArrivingWhileTheInstanceIsBusy_shareTheNextBatch() throws Exception {
        batcher(8, 1000, Duration.ZERO, 100, 1, Duration.ofSeconds(10), true);
        Batcher<Integer, String>.Ticket first = batcher.submit("a", List.of(7));
        awaitBatches(1);
        List<Batcher<Integer, String>.Ticket> waiting = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            waiting.add(batcher.submit("b" + i, List.of(8)));
        }
        gate.countDown();
        assertThat(first.await()).containsExactly("r7");
        waiting.forEach(ticket -> assertThat(ticket.await()).containsExactly("r8"));
        assertThat(batches).containsExactly(List.of(7), List.of(8, 8, 8, 8, 8));
    }

    @Test
    void aFullQueue_refusesWith503_andAnOwnerBeyondItsShareWith429_bothWithRetryAfter() throws Exception {
        batcher(1, 1000, Duration.ZERO, 4, 1, Duration.ofSeconds(10), true);
        batcher.submit("a", List.of(1));
        awaitBatches(1);
        batcher.submit("a", List.of(2, 3));
        assertThatThrownBy(() -> batcher.submit("a", List.of(4))).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.QUEUE_SHARE_EXCEEDED);
            assertThat(e.code().httpStatus()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isPresent();
        });
        batcher.submit("b", List.of(5, 6));
        assertThatThrownBy(() -> batcher.submit("c", List.of(7))).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
            assertThat(e.code().httpStatus()).isEqualTo(503);
            assertThat(e.retryAfterSeconds()).isPresent();
        });
        assertThat(batcher.queueDepth()).isEqualTo(4);
    }

    @Test
    void aRequestPastItsDeadline_isRefused_andNeverRuns() throws Exception {
        batcher(8, 1000, Duration.ZERO, 100, 1, Duration.ofMillis(200), true);
        Batcher<Integer, String>.Ticket busy = batcher.submit("a", List.of(1));
        awaitBatches(1);
        Batcher<Integer, String>.Ticket late = batcher.submit("b", List.of(2, 3));
        assertThatThrownBy(late::await).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.QUEUE_TIMEOUT);
            assertThat(e.code().httpStatus()).isEqualTo(503);
        });
        assertThat(batcher.queueDepth()).as("its items left the queue").isZero();
        gate.countDown();
        busy.await();
        batcher.submit("c", List.of(4)).await();
        assertThat(batches).containsExactly(List.of(1), List.of(4));
    }

    @Test
    void anAbandonedRequest_neverRuns() throws Exception {
        batcher(8, 1000, Duration.ZERO, 100, 1, Duration.ofSeconds(10), true);
        Batcher<Integer, String>.Ticket busy = batcher.submit("a", List.of(1));
        awaitBatches(1);
        Batcher<Integer, String>.Ticket abandoned = batcher.submit("b", List.of(2, 3));
        abandoned.cancel();
        assertThat(batcher.queueDepth()).isZero();
        gate.countDown();
        busy.await();
        batcher.submit("c", List.of(4)).await();
        assertThat(batches).containsExactly(List.of(1), List.of(4));
    }

    @Test
    void aFailingBatch_failsItsRequestsOnly() {
        batcher = new Batcher<>("test", new Batcher.Settings(8, 1000, Duration.ZERO, 100, 1, 0.5, Duration.ofSeconds(5)),
                LENGTHS, batch -> {
                    if (batch.contains(13)) {
                        throw new AtriumException(ErrorCode.INVALID_REQUEST, "thirteen");
                    }
                    return batch.stream().map(item -> "r" + item).toList();
                }, Batcher.Observer.NONE);
        assertThatThrownBy(() -> batcher.submit("a", List.of(13)).await()).hasMessage("thirteen");
        assertThat(batcher.submit("a", List.of(12)).await()).containsExactly("r12");
    }

    @Test
    void closing_runsTheWaitingRequests_andRefusesNewOnes() throws Exception {
        batcher(8, 1000, Duration.ZERO, 100, 1, Duration.ofSeconds(10), true);
        batcher.submit("a", List.of(1));
        awaitBatches(1);
        Batcher<Integer, String>.Ticket waiting = batcher.submit("b", List.of(2));
        Thread closer = Thread.ofPlatform().start(batcher::close);
        while (!batcher.isClosed()) {
            Thread.sleep(1);
        }
        assertThatThrownBy(() -> batcher.submit("c", List.of(3))).isInstanceOfSatisfying(AtriumException.class,
                e -> assertThat(e.code().httpStatus()).isEqualTo(503));
        gate.countDown();
        assertThat(waiting.await()).containsExactly("r2");
        closer.join(5000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(batches).containsExactly(List.of(1), List.of(2));
        batcher = null;
    }

    private void awaitBatches(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (batches.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(batches).hasSizeGreaterThanOrEqualTo(count);
    }
}
