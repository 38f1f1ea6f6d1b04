package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class EpochMicrosTest {
    @Test
    void of_nanoseconds_truncatesTowardsThePast() {
        assertThat(EpochMicros.of(Instant.parse("1970-01-01T00:00:00.000001999Z"))).isEqualTo(1);
        assertThat(EpochMicros.of(Instant.parse("1969-12-31T23:59:59.999999999Z"))).isEqualTo(-1);
        assertThat(EpochMicros.truncate(Instant.parse("1969-12-31T23:59:59.999999999Z")))
                .isEqualTo(Instant.parse("1969-12-31T23:59:59.999999Z"));
    }

    @Test
    void toInstant_ofEveryStoredForm_roundTrips() {
        for (long micros : new long[] {Long.MIN_VALUE, -1_000_001, -1, 0, 1, 1_796_083_199_999_999L, Long.MAX_VALUE}) {
            assertThat(EpochMicros.of(EpochMicros.toInstant(micros))).isEqualTo(micros);
        }
    }

    @Test
    void of_outsideWhatTheStoreKeeps_isRefused() {
        assertThatThrownBy(() -> EpochMicros.of(Instant.MAX)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EpochMicros.of(EpochMicros.MIN.minusNanos(1))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bound_roundsUpAndClamps() {
        assertThat(EpochMicros.bound(Instant.parse("1970-01-01T00:00:00.000001001Z"))).isEqualTo(2);
        assertThat(EpochMicros.bound(Instant.parse("1970-01-01T00:00:00.000001Z"))).isEqualTo(1);
        assertThat(EpochMicros.bound(Instant.MAX)).isEqualTo(Long.MAX_VALUE);
        assertThat(EpochMicros.bound(Instant.MIN)).isEqualTo(Long.MIN_VALUE);
    }
}
