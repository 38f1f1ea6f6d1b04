package dev.atrium.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressWatchTest {
    private final AtomicLong now = new AtomicLong();
    private final ProgressWatch watch = new ProgressWatch(Duration.ofSeconds(30), now::get);

    @Test
    void idle_isNeverStalled() {
        now.addAndGet(Duration.ofHours(1).toNanos());
        assertThat(watch.isStalled()).isFalse();
    }

    @Test
    void pendingWorkWithoutProgress_isStalledAfterTheThreshold() {
        watch.accepted();
        now.addAndGet(Duration.ofSeconds(29).toNanos());
        assertThat(watch.isStalled()).isFalse();
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        assertThat(watch.isStalled()).isTrue();
        watch.progressed();
        assertThat(watch.isStalled()).isFalse();
    }

    @Test
    void tokensKeepItLive_andFinishingClearsIt() {
        watch.accepted();
        for (int i = 0; i < 10; i++) {
            now.addAndGet(Duration.ofSeconds(20).toNanos());
            watch.progressed();
            assertThat(watch.isStalled()).isFalse();
        }
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertThat(watch.isStalled()).isTrue();
        watch.finished();
        now.addAndGet(Duration.ofMinutes(5).toNanos());
        assertThat(watch.isStalled()).isFalse();
    }

    @Test
    void waitingRequests_startTheClockWhenTheFirstArrives() {
        now.addAndGet(Duration.ofMinutes(10).toNanos());
        watch.accepted();
        assertThat(watch.isStalled()).isFalse();
        watch.accepted();
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertThat(watch.isStalled()).isTrue();
    }
}
