package dev.atrium.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TimeoutsTest {
    private final Timeouts timeouts = new Timeouts("timeouts-test");

    @Test
    void after_firesOnceItsTimeHasPassed() throws Exception {
        CountDownLatch fired = new CountDownLatch(1);
        long start = System.nanoTime();
        timeouts.after(Duration.ofMillis(50), fired::countDown);
        assertThat(fired.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(50).toNanos());
        assertThat(timeouts.pending()).isZero();
    }

    @Test
    void cancel_beforeItsTime_theActionNeverRuns() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Timeouts.Timeout timeout = timeouts.after(Duration.ofMillis(30), runs::incrementAndGet);
        timeout.cancel();
        CountDownLatch later = new CountDownLatch(1);
        timeouts.after(Duration.ofMillis(100), later::countDown);
        assertThat(later.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(runs).hasValue(0);
    }

    @Test
    void anEarlierTimeout_addedWhileTheThreadSleepsTowardALaterOne_firesInItsTime() throws Exception {
        timeouts.after(Duration.ofMinutes(10), () -> { });
        Thread.sleep(50); // the thread now sleeps toward ten minutes from now
        CountDownLatch fired = new CountDownLatch(1);
        timeouts.after(Duration.ofMillis(20), fired::countDown);
        assertThat(fired.await(2, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void manyThreadsAddingAndCancelling_firesExactlyTheOnesNotCancelled() throws Exception {
        AtomicInteger fired = new AtomicInteger();
        AtomicInteger cancelledFired = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 500; i++) {
                    if (i % 2 == 0) {
                        timeouts.after(Duration.ofMillis(i % 7), fired::incrementAndGet);
                    } else {
                        timeouts.after(Duration.ofSeconds(30), cancelledFired::incrementAndGet).cancel();
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (fired.get() < 16 * 250 && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertThat(fired).hasValue(16 * 250);
        assertThat(cancelledFired).hasValue(0);
        assertThat(timeouts.pending()).isZero();
    }

    @Test
    void anActionThatThrows_doesNotStopTheOthers() throws Exception {
        timeouts.after(Duration.ofMillis(1), () -> {
            throw new IllegalStateException("boom");
        });
        CountDownLatch fired = new CountDownLatch(1);
        timeouts.after(Duration.ofMillis(20), fired::countDown);
        assertThat(fired.await(2, TimeUnit.SECONDS)).isTrue();
    }
}
