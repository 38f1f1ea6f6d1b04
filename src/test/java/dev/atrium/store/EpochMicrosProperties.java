package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The stored form keeps the order of instants and reads back as the instant truncated to the microsecond. */
class EpochMicrosProperties {
    @Provide
    Arbitrary<Instant> instants() {
        // seconds well inside what the store keeps, nanoseconds of every digit count
        return Combinators.combine(Arbitraries.longs().between(-9_000_000_000_000L, 9_000_000_000_000L),
                Arbitraries.oneOf(Arbitraries.integers().between(0, 999_999_999),
                        Arbitraries.of(0, 1, 999, 1_000, 999_999, 1_000_000, 999_999_999)))
                .as(Instant::ofEpochSecond);
    }

    @Property(tries = 2000)
    void of_readBack_isTheInstantTruncatedToTheMicrosecond(@ForAll("instants") Instant instant) {
        assertThat(EpochMicros.toInstant(EpochMicros.of(instant))).isEqualTo(instant.truncatedTo(ChronoUnit.MICROS));
        assertThat(EpochMicros.truncate(EpochMicros.truncate(instant))).isEqualTo(EpochMicros.truncate(instant));
    }

    @Property(tries = 2000)
    void of_keepsTheOrderOfInstants(@ForAll("instants") Instant a, @ForAll("instants") Instant b) {
        if (a.isBefore(b)) {
            assertThat(EpochMicros.of(a)).isLessThanOrEqualTo(EpochMicros.of(b));
            // a range [a, b) holds exactly the stored times t with a <= t < b
            assertThat(EpochMicros.bound(a)).isLessThanOrEqualTo(EpochMicros.bound(b));
        }
        long t = EpochMicros.of(b);
        assertThat(t >= EpochMicros.bound(a)).isEqualTo(!EpochMicros.toInstant(t).isBefore(a));
    }
}
