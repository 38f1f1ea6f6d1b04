package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.tenancy.Limits;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TokensInheritanceStrategy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Rate limits in this process, with Bucket4j. Each key and each tenant with limits has a meter: a request
 * bucket and a token bucket refilled whole once per window (so what remains never rises within a window),
 * and a count of requests at once. A request must pass every meter it belongs to; what one meter took is
 * given back when a later one refuses.
 */
public final class LocalRateLimiter implements RateLimiter {

    /** The most keys and tenants whose counters are kept at once; the least recently used go first. */
    static final int MAX_METERS = 100_000;

    private final Defaults defaults;
    /**
     * Counters of the keys and tenants seen lately: bounded, and dropped an hour (or two windows) after their last
     * request, when their windows have long refilled.
     */
    private final Cache<String, Meter> meters;

    public LocalRateLimiter(RateLimiter.Defaults defaults) {
        this.defaults = requireNonNull(defaults, "defaults is null");
        Duration idle = defaults.window().multipliedBy(2).compareTo(Duration.ofHours(1)) > 0
                ? defaults.window().multipliedBy(2) : Duration.ofHours(1);
        this.meters = Caffeine.newBuilder().maximumSize(MAX_METERS).expireAfterAccess(idle).build();
    }

    /**
     * One key's or tenant's counters. When its limits change (a key updated), the counters carry on: what was
     * used in the current window stays used, and requests in flight stay counted.
     */
    private static final class Meter {
        volatile Limits limits;
        volatile Bucket requests;
        volatile Bucket tokens;
        final AtomicInteger inFlight = new AtomicInteger();

        Meter(Limits limits, Duration window) {
            this.limits = limits;
            this.requests = limits.rpm() == null ? null : bucket(limits.rpm(), window);
            this.tokens = limits.tpm() == null ? null : bucket(limits.tpm(), window);
        }

        /** New limits over the same window: consumption kept, capacity changed. */
        synchronized void change(Limits changed, Duration window) {
            requests = rebucket(requests, changed.rpm(), window);
            tokens = rebucket(tokens, changed.tpm(), window);
            limits = changed;
        }

        private static Bucket rebucket(Bucket bucket, Integer capacity, Duration window) {
            if (capacity == null) {
                return null;
            }
            if (bucket == null) {
                return bucket(capacity, window);
            }
            bucket.replaceConfiguration(configuration(capacity, window), TokensInheritanceStrategy.ADDITIVE);
            return bucket;
        }

        private static Bucket bucket(long capacity, Duration window) {
            return Bucket.builder()
                    .addLimit(limit -> limit.capacity(capacity).refillIntervally(capacity, window))
                    .build();
        }

        private static BucketConfiguration configuration(long capacity, Duration window) {
            return BucketConfiguration.builder()
                    .addLimit(limit -> limit.capacity(capacity).refillIntervally(capacity, window))
                    .build();
        }
    }

    @Override
    public Permit admit(Caller caller) {
        List<Meter> applicable = new ArrayList<>(2);
        for (Map.Entry<String, Limits> meter : defaults.meters(caller).entrySet()) {
            applicable.add(meter(meter.getKey(), meter.getValue()));
        }

        int entered = 0;
        try {
            for (Meter meter : applicable) {
                entered++;
                Integer max = meter.limits.maxConcurrent();
                if (max != null && meter.inFlight.incrementAndGet() > max) {
                    throw AtriumException.retryable(ErrorCode.RATE_LIMITED_REQUESTS,
                            "too many requests at once: the limit is " + max, 1);
                }
            }
            for (int i = 0; i < applicable.size(); i++) {
                Bucket bucket = applicable.get(i).requests;
                if (bucket == null) {
                    continue;
                }
                ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
                if (!probe.isConsumed()) {
                    refund(applicable.subList(0, i), meter -> meter.requests, 1);
                    throw refused(ErrorCode.RATE_LIMITED_REQUESTS, "rate limit reached: "
                            + applicable.get(i).limits.rpm() + " requests per " + window(), probe, applicable);
                }
            }
        } catch (AtriumException e) {
            leave(applicable.subList(0, entered));
            throw e;
        }
        return new LocalPermit(applicable);
    }

    private final class LocalPermit implements Permit {
        private final List<Meter> meters;
        private final AtomicBoolean closed = new AtomicBoolean();

        LocalPermit(List<Meter> meters) {
            this.meters = meters;
        }

        @Override
        public void takeTokens(long tokens) {
            if (tokens <= 0) {
                return;
            }
            for (Meter meter : meters) {
                if (meter.tokens != null && tokens > meter.limits.tpm()) {
                    throw AtriumException.invalidParam("input", "this request needs " + tokens + " tokens, more than"
                            + " the " + meter.limits.tpm() + " tokens per " + window() + " its key or tenant may use;"
                            + " split it into smaller requests").withHeaders(status().headers());
                }
            }
            for (int i = 0; i < meters.size(); i++) {
                Bucket bucket = meters.get(i).tokens;
                if (bucket == null) {
                    continue;
                }
                ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(tokens);
                if (!probe.isConsumed()) {
                    refund(meters.subList(0, i), meter -> meter.tokens, tokens);
                    throw refused(ErrorCode.RATE_LIMITED_TOKENS, "rate limit reached: " + meters.get(i).limits.tpm()
                            + " tokens per " + window() + ", and this request needs " + tokens, probe, meters);
                }
            }
        }

        @Override
        public RateLimitStatus status() {
            return LocalRateLimiter.status(meters);
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                leave(meters);
            }
        }
    }

    private Meter meter(String id, Limits limits) {
        Meter meter = meters.get(id, key -> new Meter(limits, defaults.window()));
        if (!meter.limits.equals(limits)) {
            meter.change(limits, defaults.window());
        }
        return meter;
    }

    private static void leave(List<Meter> entered) {
        for (Meter meter : entered) {
            if (meter.limits.maxConcurrent() != null) {
                meter.inFlight.decrementAndGet();
            }
        }
    }

    private static void refund(List<Meter> taken, java.util.function.Function<Meter, Bucket> which, long amount) {
        for (Meter meter : taken) {
            Bucket bucket = which.apply(meter);
            if (bucket != null) {
                bucket.addTokens(amount);
            }
        }
    }

    private static AtriumException refused(ErrorCode code, String message, ConsumptionProbe probe, List<Meter> meters) {
        int seconds = (int) Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
        List<java.util.Map.Entry<String, String>> headers = new ArrayList<>(status(meters).headers());
        headers.add(java.util.Map.entry("retry-after-ms", Long.toString(Math.max(1, probe.getNanosToWaitForRefill() / 1_000_000))));
        return AtriumException.retryable(code, message + "; retry in " + seconds + " s", seconds).withHeaders(headers);
    }

    /** The tightest standing of the meters: the one with the fewest requests (and tokens) left. */
    private static RateLimitStatus status(List<Meter> meters) {
        Bucket requests = tightest(meters, meter -> meter.requests);
        Bucket tokens = tightest(meters, meter -> meter.tokens);
        Meter requestMeter = owner(meters, requests, true);
        Meter tokenMeter = owner(meters, tokens, false);
        return new RateLimitStatus(
                requestMeter == null ? 0 : requestMeter.limits.rpm(),
                requests == null ? 0 : requests.getAvailableTokens(),
                reset(requests, requestMeter == null ? 0 : requestMeter.limits.rpm()),
                tokenMeter == null ? 0 : tokenMeter.limits.tpm(),
                tokens == null ? 0 : tokens.getAvailableTokens(),
                reset(tokens, tokenMeter == null ? 0 : tokenMeter.limits.tpm()));
    }

    private static Bucket tightest(List<Meter> meters, java.util.function.Function<Meter, Bucket> which) {
        Bucket tightest = null;
        for (Meter meter : meters) {
            Bucket bucket = which.apply(meter);
            if (bucket != null && (tightest == null || bucket.getAvailableTokens() < tightest.getAvailableTokens())) {
                tightest = bucket;
            }
        }
        return tightest;
    }

    private static Meter owner(List<Meter> meters, Bucket bucket, boolean requests) {
        for (Meter meter : meters) {
            if (bucket != null && (requests ? meter.requests : meter.tokens) == bucket) {
                return meter;
            }
        }
        return null;
    }

    private static Duration reset(Bucket bucket, long capacity) {
        if (bucket == null || capacity == 0) {
            return Duration.ZERO;
        }
        return Duration.ofNanos(bucket.estimateAbilityToConsume(capacity).getNanosToWaitForRefill());
    }

    private String window() {
        return defaults.windowName();
    }
}
