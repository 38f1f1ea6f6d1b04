package dev.atrium.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;

/**
 * How the store keeps times: INTEGER microseconds since 1970-01-01T00:00:00Z, so that SQL compares and orders
 * them as numbers (text compared {@code "…00.123Z" < "…00Z"}). Every time is truncated to the microsecond
 * (towards the past) on its way in, so a value read back equals the value written; range filters clamp instead,
 * so any instant can bound a query.
 */
public final class EpochMicros {
    /** The earliest instant the store can keep (about 290,000 years before 1970). */
    public static final Instant MIN = Instant.EPOCH.plus(Long.MIN_VALUE, ChronoUnit.MICROS);
    /** The latest instant the store can keep (about 290,000 years after 1970), to the microsecond. */
    public static final Instant MAX = Instant.EPOCH.plus(Long.MAX_VALUE, ChronoUnit.MICROS);

    private EpochMicros() {}

    /** Whether the store can keep this instant. */
    public static boolean representable(Instant instant) {
        return !instant.isBefore(MIN) && !instant.isAfter(MAX);
    }

    /**
     * The instant as the store keeps it: truncated to the microsecond.
     *
     * @throws IllegalArgumentException outside [{@link #MIN}, {@link #MAX}]
     */
    public static Instant truncate(Instant instant) {
        return toInstant(of(instant));
    }

    /** {@link #truncate}, passing null through. */
    public static Instant truncateNullable(Instant instant) {
        return instant == null ? null : truncate(instant);
    }

    /**
     * The stored form: microseconds since the epoch, truncated towards the past.
     *
     * @throws IllegalArgumentException outside [{@link #MIN}, {@link #MAX}]
     */
    public static long of(Instant instant) {
        if (!representable(instant)) {
            throw new IllegalArgumentException("the time " + instant + " is outside what the store keeps ("
                    + MIN + " to " + MAX + ")");
        }
        // nanos are never negative in an Instant, so this floors; inside [MIN, MAX] the result fits a long (an
        // intermediate overflow at the very ends cancels: long arithmetic wraps modulo 2^64)
        return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
    }

    /** {@link #of}, passing null through. */
    public static Long ofNullable(Instant instant) {
        return instant == null ? null : of(instant);
    }

    /**
     * A range bound, for {@code time >= :from} and {@code time < :to}: the instant rounded up to the microsecond
     * (stored times are whole microseconds, so {@code t >= x} holds exactly when {@code t >= ceil(x)}), clamped
     * to what the store keeps.
     */
    public static long bound(Instant instant) {
        if (instant.isBefore(MIN)) {
            return Long.MIN_VALUE;
        }
        if (!instant.isBefore(MAX)) {
            return Long.MAX_VALUE;
        }
        return of(instant) + (instant.getNano() % 1_000 == 0 ? 0 : 1);
    }

    public static Instant toInstant(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    /** A NOT NULL time column. */
    public static Instant instant(ResultSet rs, String column) throws SQLException {
        long micros = rs.getLong(column);
        if (rs.wasNull()) {
            throw new SQLException("the time column " + column + " is null");
        }
        return toInstant(micros);
    }

    /** A nullable time column. */
    public static Instant nullableInstant(ResultSet rs, String column) throws SQLException {
        long micros = rs.getLong(column);
        return rs.wasNull() ? null : toInstant(micros);
    }

    /** A clock whose instants are already as the store keeps them. */
    public static Clock truncating(Clock clock) {
        return clock instanceof TruncatingClock ? clock : new TruncatingClock(clock);
    }

    private static final class TruncatingClock extends Clock {
        private final Clock clock;

        TruncatingClock(Clock clock) {
            this.clock = clock;
        }

        @Override
        public ZoneId getZone() {
            return clock.getZone();
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return new TruncatingClock(clock.withZone(zone));
        }

        @Override
        public Instant instant() {
            return truncate(clock.instant());
        }
    }
}
