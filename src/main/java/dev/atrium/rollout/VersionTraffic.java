package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.engine.VersionKey;
import dev.atrium.metering.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * How each model version's calls end and how long they take, over a recent window: what a rollout compares a
 * canary with its baseline by, and what a version's monitoring shows.
 *
 * <p>Design: per version a ring of one-second buckets covering {@link #RETENTION}; each bucket counts calls,
 * errors and latencies in a log-scale histogram (four bins per doubling from 0.1 ms, so a percentile read from it
 * is within 19% of the true one). A bucket is reused when its second comes round again, so memory per version is
 * fixed and recording allocates nothing once a version's ring exists. Versions not called for the retention are
 * forgotten (a bounded cache). Recording is lock-free and may race a reader: a window read while calls are being
 * recorded may miss the calls of that instant.
 *
 * <p>Errors are calls the model failed: engine and upstream failures and deadlines. A client that went away is
 * not the model's error.
 */
public final class VersionTraffic {
    /** How far back a window may reach. */
    public static final Duration RETENTION = Duration.ofMinutes(15);
    private static final int SECONDS = (int) RETENTION.toSeconds();
    /** Latency bins: four per doubling from 0.1 ms; the last holds everything longer (over ~28 minutes). */
    private static final int BINS = 96;
    private static final double FIRST_MICROS = 100;
    private static final int COUNTS = 3;
    private static final int CALLS = 0;
    private static final int ERRORS = 1;
    private static final int EPOCH = 2;

    private final Clock clock;
    private final Cache<VersionKey, Ring> rings;

    public VersionTraffic(Clock clock) {
        this.clock = requireNonNull(clock, "clock is null");
        this.rings = Caffeine.newBuilder().maximumSize(10_000).expireAfterAccess(RETENTION).build();
    }

    /**
     * A window's figures for one version.
     *
     * @param latencies the latency histogram's bins that hold calls, fastest first
     */
    public record Window(long calls, long errors, Optional<Duration> p50, Optional<Duration> p90,
            Optional<Duration> p99, List<LatencyBin> latencies) {
        public static final Window EMPTY = new Window(0, 0, Optional.empty(), Optional.empty(), Optional.empty(),
                List.of());

        public Window {
            requireNonNull(p50, "p50 is null");
            requireNonNull(p90, "p90 is null");
            requireNonNull(p99, "p99 is null");
            latencies = List.copyOf(latencies);
        }

        /** Errors per call; 0 when there were no calls. */
        public double errorRate() {
            return calls == 0 ? 0 : (double) errors / calls;
        }
    }

    /** Calls whose latency was at most {@code upTo} (and above the previous bin's). */
    public record LatencyBin(Duration upTo, long calls) {
        public LatencyBin {
            requireNonNull(upTo, "upTo is null");
        }
    }

    /** Records one call of the version that reached its model, as it ended, and how long it took. */
    public void record(VersionKey version, Outcome outcome, Duration latency) {
        requireNonNull(outcome, "outcome is null");
        long second = clock.millis() / 1000;
        rings.get(version, key -> new Ring()).record(second, isError(outcome), latency.toNanos() / 1000);
    }

    /** The version's calls over the last {@code span} (at most {@link #RETENTION}), this second included. */
    public Window window(VersionKey version, Duration span) {
        Ring ring = rings.getIfPresent(version);
        if (ring == null) {
            return Window.EMPTY;
        }
        int seconds = (int) Math.clamp(span.toSeconds(), 1, SECONDS);
        return ring.window(clock.millis() / 1000, seconds);
    }

    static boolean isError(Outcome outcome) {
        return switch (outcome) {
            case OK, CLIENT_CANCELLED -> false;
            case DEADLINE, ENGINE_ERROR, UPSTREAM_ERROR -> true;
        };
    }

    static int bin(long micros) {
        if (micros < FIRST_MICROS) {
            return 0;
        }
        int bin = 1 + (int) Math.floor(4 * (Math.log(micros / FIRST_MICROS) / Math.log(2)));
        return Math.min(bin, BINS - 1);
    }

    /** The upper edge of a bin, in microseconds: what a percentile falling in it reads as. */
    static double binEdgeMicros(int bin) {
        return FIRST_MICROS * Math.pow(2, bin / 4.0);
    }

    /** One version's buckets: slot s holds second {@code epoch} where epoch % SECONDS == s. */
    private static final class Ring {
        private final AtomicReferenceArray<AtomicLongArray> buckets = new AtomicReferenceArray<>(SECONDS);

        void record(long second, boolean error, long micros) {
            AtomicLongArray bucket = bucket(second);
            bucket.incrementAndGet(CALLS);
            if (error) {
                bucket.incrementAndGet(ERRORS);
            }
            bucket.incrementAndGet(COUNTS + bin(micros));
        }

        private AtomicLongArray bucket(long second) {
            int slot = (int) (second % SECONDS);
            while (true) {
                AtomicLongArray bucket = buckets.get(slot);
                if (bucket != null && bucket.get(EPOCH) == second) {
                    return bucket;
                }
                AtomicLongArray fresh = new AtomicLongArray(COUNTS + BINS);
                fresh.set(EPOCH, second);
                // a stale bucket (a second that came round again) is replaced whole, so no count of it survives
                if (bucket == null || bucket.get(EPOCH) < second) {
                    if (buckets.compareAndSet(slot, bucket, fresh)) {
                        return fresh;
                    }
                } else {
                    return bucket; // a newer second owns the slot already: a record this late is dropped there
                }
            }
        }

        Window window(long now, int seconds) {
            long calls = 0;
            long errors = 0;
            long[] histogram = new long[BINS];
            for (long second = now - seconds + 1; second <= now; second++) {
                AtomicLongArray bucket = buckets.get((int) (second % SECONDS));
                if (bucket == null || bucket.get(EPOCH) != second) {
                    continue;
                }
                calls += bucket.get(CALLS);
                errors += bucket.get(ERRORS);
                for (int bin = 0; bin < BINS; bin++) {
                    histogram[bin] += bucket.get(COUNTS + bin);
                }
            }
            List<LatencyBin> latencies = new ArrayList<>();
            for (int bin = 0; bin < BINS; bin++) {
                if (histogram[bin] > 0) {
                    latencies.add(new LatencyBin(edge(bin), histogram[bin]));
                }
            }
            return new Window(calls, errors, percentile(histogram, 0.50), percentile(histogram, 0.90),
                    percentile(histogram, 0.99), latencies);
        }

        private static Optional<Duration> percentile(long[] histogram, double quantile) {
            long total = 0;
            for (long count : histogram) {
                total += count;
            }
            if (total == 0) {
                return Optional.empty();
            }
            long rank = (long) Math.ceil(quantile * total);
            long seen = 0;
            for (int bin = 0; bin < BINS; bin++) {
                seen += histogram[bin];
                if (seen >= rank) {
                    return Optional.of(edge(bin));
                }
            }
            return Optional.of(edge(BINS - 1));
        }

        private static Duration edge(int bin) {
            return Duration.ofNanos(Math.round(binEdgeMicros(bin) * 1000));
        }
    }
}
