package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.StoreUnavailable;
import dev.atrium.tenancy.Limits;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate limits counted in the PostgreSQL store, so that replicas together admit no more than each limit: one round
 * trip admits a request against all its meters ({@code atrium_admit}, migration V22), one takes its tokens
 * ({@code atrium_take_tokens}), and one gives back its places when it had a concurrency limit. Windows are fixed
 * and aligned to the epoch by the database's clock, so every replica counts the same window; a place held by a
 * replica that died is given back when its lease expires.
 *
 * <p>When the store cannot be reached, requests are refused (503 with {@code Retry-After}), unless the operator
 * chose to fail open for rate limits: then they are admitted without a rate check and counted (budgets never fail
 * open: they need the store to reserve).
 */
public final class StoreRateLimiter implements RateLimiter {
    private static final Logger LOG = LoggerFactory.getLogger(StoreRateLimiter.class);

    private final Jdbi jdbi;
    private final Defaults defaults;
    private final Duration lease;
    private final boolean failOpen;
    private final Runnable onFailOpen;

    /**
     * @param lease how long a place in a concurrency limit is held when its request is never seen to end
     * @param failOpen whether requests are admitted without a rate check while the store cannot be reached
     * @param onFailOpen told of each such request, for metrics
     */
    public StoreRateLimiter(Jdbi jdbi, Defaults defaults, Duration lease, boolean failOpen, Runnable onFailOpen) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
        this.lease = requireNonNull(lease, "lease is null");
        this.failOpen = failOpen;
        this.onFailOpen = requireNonNull(onFailOpen, "onFailOpen is null");
    }

    /** A meter of one request: its id and limits, in the order the store is told them. */
    private record Meter(String id, Limits limits) {}

    /** What the store answered: 0 or the 1-based meter that refused; per meter what is left (null: no limit). */
    private record Answer(int refused, boolean byConcurrency, long nowMicros, long windowStartMicros,
            Long[] remaining) {}

    @Override
    public Permit admit(Caller caller) {
        List<Meter> meters = meters(caller);
        String leaseId = UUID.randomUUID().toString();
        Answer[] tokensLeft = new Answer[1];
        Answer answer;
        try {
            answer = jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM atrium_admit(:meters, :rpm,"
                            + " :tpm, :concurrent, :lease, :window, :lease_us)")
                    .bindArray("meters", String.class, ids(meters))
                    .bindArray("rpm", Long.class, limits(meters, Limits::rpm))
                    .bindArray("tpm", Long.class, limits(meters, Limits::tpm))
                    .bindArray("concurrent", Long.class, limits(meters, Limits::maxConcurrent))
                    .bind("lease", leaseId)
                    .bind("window", windowMicros())
                    .bind("lease_us", lease.toNanos() / 1000)
                    .map((rs, ctx) -> {
                        Answer requests = new Answer(rs.getInt("refused"), rs.getBoolean("by_concurrency"),
                                rs.getLong("now_us"), rs.getLong("window_start_us"), longs(rs, "remaining"));
                        tokensLeft[0] = new Answer(0, false, requests.nowMicros(), requests.windowStartMicros(),
                                longs(rs, "tokens_left"));
                        return requests;
                    })
                    .one());
        } catch (JdbiException e) {
            return unreachable(e, meters);
        }
        if (answer.refused() == 0) {
            boolean leased = meters.stream().anyMatch(meter -> meter.limits().maxConcurrent() != null);
            StorePermit permit = new StorePermit(meters, leased ? leaseId : null);
            permit.requests = answer;
            permit.tokens = tokensLeft[0];
            return permit;
        }
        Meter refusing = meters.get(answer.refused() - 1);
        if (answer.byConcurrency()) {
            throw AtriumException.retryable(ErrorCode.RATE_LIMITED_REQUESTS,
                    "too many requests at once: the limit is " + refusing.limits().maxConcurrent(), 1);
        }
        RateLimitStatus status = standing(meters);
        throw refused(ErrorCode.RATE_LIMITED_REQUESTS, "rate limit reached: " + refusing.limits().rpm()
                + " requests per " + defaults.windowName(), answer, status);
    }

    private Permit unreachable(JdbiException e, List<Meter> meters) {
        if (!StoreUnavailable.causedBy(e)) {
            throw e;
        }
        if (!failOpen) {
            throw StoreUnavailable.refusal();
        }
        onFailOpen.run();
        LOG.debug("the store cannot be reached: a request is admitted without a rate check (fail-open)");
        return new StorePermit(meters, null) {
            @Override
            public void takeTokens(long tokens) {
                checkWholeWindow(meters, tokens, status());
            }
        };
    }

    private class StorePermit implements Permit {
        private final List<Meter> meters;
        private final String leaseId;
        private final AtomicBoolean closed = new AtomicBoolean();
        volatile Answer requests;
        volatile Answer tokens;

        StorePermit(List<Meter> meters, String leaseId) {
            this.meters = meters;
            this.leaseId = leaseId;
        }

        @Override
        public void takeTokens(long count) {
            if (count <= 0) {
                return;
            }
            checkWholeWindow(meters, count, status());
            Answer answer;
            try {
                answer = jdbi.withHandle(handle -> handle.createQuery(
                                "SELECT * FROM atrium_take_tokens(:meters, :tpm, :tokens, :window)")
                        .bindArray("meters", String.class, ids(meters))
                        .bindArray("tpm", Long.class, limits(meters, Limits::tpm))
                        .bind("tokens", count)
                        .bind("window", windowMicros())
                        .map((rs, ctx) -> new Answer(rs.getInt("refused"), false, rs.getLong("now_us"),
                                rs.getLong("window_start_us"), longs(rs, "remaining")))
                        .one());
            } catch (JdbiException e) {
                if (failOpen && StoreUnavailable.causedBy(e)) {
                    onFailOpen.run();
                    return;
                }
                throw StoreUnavailable.causedBy(e) ? StoreUnavailable.refusal() : e;
            }
            if (answer.refused() != 0) {
                Meter refusing = meters.get(answer.refused() - 1);
                RateLimitStatus status = standing(meters);
                throw refused(ErrorCode.RATE_LIMITED_TOKENS, "rate limit reached: " + refusing.limits().tpm()
                        + " tokens per " + defaults.windowName() + ", and this request needs " + count, answer, status);
            }
            tokens = answer;
        }

        @Override
        public RateLimitStatus status() {
            return StoreRateLimiter.this.status(meters, requests, tokens);
        }

        @Override
        public void close() {
            if (leaseId == null || !closed.compareAndSet(false, true)) {
                return;
            }
            try {
                jdbi.useHandle(handle -> handle.createUpdate("DELETE FROM rate_leases WHERE lease = :lease")
                        .bind("lease", leaseId).execute());
            } catch (JdbiException e) {
                // the lease expires on its own
                LOG.warn("cannot give back a concurrency place (it expires in {}): {}", lease, e.getMessage());
            }
        }
    }

    private void checkWholeWindow(List<Meter> meters, long tokens, RateLimitStatus status) {
        for (Meter meter : meters) {
            Integer tpm = meter.limits().tpm();
            if (tpm != null && tokens > tpm) {
                throw AtriumException.invalidParam("input", "this request needs " + tokens + " tokens, more than"
                        + " the " + tpm + " tokens per " + defaults.windowName() + " its key or tenant may use;"
                        + " split it into smaller requests").withHeaders(status.headers());
            }
        }
    }

    /** Where the meters stand, read without taking anything (for a refusal's headers). */
    private RateLimitStatus standing(List<Meter> meters) {
        try {
            return jdbi.withHandle(handle -> handle.createQuery(
                            "SELECT * FROM atrium_rate_standing(:meters, :rpm, :tpm, :window)")
                    .bindArray("meters", String.class, ids(meters))
                    .bindArray("rpm", Long.class, limits(meters, Limits::rpm))
                    .bindArray("tpm", Long.class, limits(meters, Limits::tpm))
                    .bind("window", windowMicros())
                    .map((rs, ctx) -> {
                        long now = rs.getLong("now_us");
                        long start = rs.getLong("window_start_us");
                        return status(meters, new Answer(0, false, now, start, longs(rs, "requests_left")),
                                new Answer(0, false, now, start, longs(rs, "tokens_left")));
                    })
                    .one());
        } catch (JdbiException e) {
            return status(meters, null, null);
        }
    }

    /** The tightest standing of the meters, from the last answers about requests and tokens. */
    private RateLimitStatus status(List<Meter> meters, Answer requests, Answer tokens) {
        int requestMeter = tightest(meters, requests, Limits::rpm);
        int tokenMeter = tightest(meters, tokens, Limits::tpm);
        return new RateLimitStatus(
                requestMeter < 0 ? 0 : meters.get(requestMeter).limits().rpm(),
                requestMeter < 0 ? 0 : Math.max(0, requests.remaining()[requestMeter]),
                reset(requests),
                tokenMeter < 0 ? 0 : meters.get(tokenMeter).limits().tpm(),
                tokenMeter < 0 ? 0 : Math.max(0, tokens.remaining()[tokenMeter]),
                reset(tokens));
    }

    private static int tightest(List<Meter> meters, Answer answer, Function<Limits, Integer> limit) {
        int tightest = -1;
        if (answer == null) {
            return tightest;
        }
        for (int i = 0; i < meters.size() && i < answer.remaining().length; i++) {
            Long left = answer.remaining()[i];
            if (left != null && limit.apply(meters.get(i).limits()) != null
                    && (tightest < 0 || left < answer.remaining()[tightest])) {
                tightest = i;
            }
        }
        return tightest;
    }

    private Duration reset(Answer answer) {
        if (answer == null) {
            return Duration.ZERO;
        }
        long endMicros = answer.windowStartMicros() + windowMicros();
        return Duration.ofNanos(Math.max(0, endMicros - answer.nowMicros()) * 1000);
    }

    private AtriumException refused(ErrorCode code, String message, Answer answer, RateLimitStatus status) {
        long waitMillis = Math.max(1, (answer.windowStartMicros() + windowMicros() - answer.nowMicros()) / 1000);
        int seconds = (int) Math.max(1, (waitMillis + 999) / 1000);
        List<Map.Entry<String, String>> headers = new ArrayList<>(status.headers());
        headers.add(Map.entry("retry-after-ms", Long.toString(waitMillis)));
        return AtriumException.retryable(code, message + "; retry in " + seconds + " s", seconds).withHeaders(headers);
    }

    private List<Meter> meters(Caller caller) {
        return defaults.meters(caller).entrySet().stream().map(e -> new Meter(e.getKey(), e.getValue())).toList();
    }

    private long windowMicros() {
        return defaults.window().toNanos() / 1000;
    }

    private static List<String> ids(List<Meter> meters) {
        return meters.stream().map(Meter::id).toList();
    }

    private static List<Long> limits(List<Meter> meters, Function<Limits, Integer> which) {
        return meters.stream().map(meter -> which.apply(meter.limits())).map(v -> v == null ? null : v.longValue())
                .collect(java.util.stream.Collectors.toList());
    }

    private static Long[] longs(ResultSet rs, String column) throws SQLException {
        Array array = rs.getArray(column);
        if (array == null) {
            return new Long[0];
        }
        Object values = array.getArray();
        return values instanceof Long[] longs ? longs : Arrays.stream((Object[]) values)
                .map(v -> v == null ? null : ((Number) v).longValue()).toArray(Long[]::new);
    }
}
