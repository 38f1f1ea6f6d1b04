package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.VersionKey;
import dev.atrium.metering.Outcome;
import dev.atrium.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class VersionTrafficTest {
    private static final VersionKey ONE = new VersionKey(1, "m", 1);
    private static final VersionKey TWO = new VersionKey(1, "m", 2);

    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-02T10:00:00Z"));
    private final VersionTraffic traffic = new VersionTraffic(clock);

    @Test
    void window_countsCallsAndErrorsPerVersion() {
        for (int i = 0; i < 80; i++) {
            traffic.record(ONE, Outcome.OK, Duration.ofMillis(10));
        }
        for (int i = 0; i < 20; i++) {
            traffic.record(ONE, Outcome.UPSTREAM_ERROR, Duration.ofMillis(10));
        }
        traffic.record(ONE, Outcome.CLIENT_CANCELLED, Duration.ofMillis(10));
        traffic.record(TWO, Outcome.DEADLINE, Duration.ofSeconds(2));

        VersionTraffic.Window one = traffic.window(ONE, Duration.ofMinutes(1));
        assertThat(one.calls()).isEqualTo(101);
        assertThat(one.errors()).isEqualTo(20);
        assertThat(traffic.window(TWO, Duration.ofMinutes(1)).errorRate()).isEqualTo(1.0);
        assertThat(traffic.window(new VersionKey(2, "n", 1), Duration.ofMinutes(1))).isEqualTo(
                VersionTraffic.Window.EMPTY);
    }

    @Test
    void window_percentilesWithinABin() {
        for (int i = 1; i <= 1000; i++) {
            traffic.record(ONE, Outcome.OK, Duration.ofMillis(i));
        }
        VersionTraffic.Window window = traffic.window(ONE, Duration.ofSeconds(10));
        // the true p50 is 500 ms and p99 990 ms; a bin's upper edge is at most 19% above what fell in it
        assertThat(window.p50().orElseThrow().toMillis()).isBetween(500L, 600L);
        assertThat(window.p99().orElseThrow().toMillis()).isBetween(990L, 1180L);
        assertThat(window.p90().orElseThrow().toMillis()).isBetween(900L, 1071L);
        // the histogram holds every call, in bins of rising edges
        assertThat(window.latencies().stream().mapToLong(VersionTraffic.LatencyBin::calls).sum()).isEqualTo(1000);
        assertThat(window.latencies()).isSortedAccordingTo(java.util.Comparator.comparing(
                VersionTraffic.LatencyBin::upTo));
    }

    @Test
    void window_forgetsCallsOlderThanTheSpan() {
        traffic.record(ONE, Outcome.ENGINE_ERROR, Duration.ofMillis(5));
        clock.advance(Duration.ofSeconds(30));
        traffic.record(ONE, Outcome.OK, Duration.ofMillis(5));

        assertThat(traffic.window(ONE, Duration.ofSeconds(10)).calls()).isEqualTo(1);
        assertThat(traffic.window(ONE, Duration.ofSeconds(31)).errors()).isEqualTo(1);
        // a second that comes round the ring again starts from nothing
        clock.advance(VersionTraffic.RETENTION);
        traffic.record(ONE, Outcome.OK, Duration.ofMillis(5));
        assertThat(traffic.window(ONE, VersionTraffic.RETENTION).calls()).isEqualTo(1);
        assertThat(traffic.window(ONE, VersionTraffic.RETENTION).errors()).isZero();
    }
}
