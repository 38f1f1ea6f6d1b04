package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.Database;
import dev.atrium.store.StoreLocation;
import dev.atrium.store.StoreUnavailable;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.Limits;
import dev.atrium.tenancy.Role;
import dev.atrium.tenancy.Tenant;
import dev.atrium.testing.PostgresServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rate limits counted in PostgreSQL, as replicas see them: each "replica" here is a limiter over a pool of its own
 * on one database. Together they admit no more than each limit; refusals carry {@code Retry-After} and the rate
 * headers; a store that cannot be reached refuses (or, when chosen, admits and counts), and counting resumes exactly.
 */
class StoreRateLimiterTest {
    /** Long enough that a burst never straddles two windows (windows are aligned to the epoch). */
    private static final Duration WINDOW = Duration.ofDays(30);

    private static PostgresServer postgres;
    private static String store;
    private static final List<Database> replicas = new ArrayList<>();

    @BeforeAll
    static void start() {
        postgres = dev.atrium.testing.Stores.postgres();
        store = postgres.newDatabase();
        for (int i = 0; i < 3; i++) {
            replicas.add(Database.openPostgresql(StoreLocation.parse(store), postgres.password()));
        }
    }

    @AfterAll
    static void stop() {
        replicas.forEach(Database::close);
    }

    @Test
    void threeReplicas_underA64ThreadBurst_admitExactlyTheTenantsLimit_andEveryRefusalSaysWhenToRetry()
            throws Exception {
        int limit = 50;
        Tenant tenant = tenant(new Limits(limit, null, null));
        List<Caller> callers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            callers.add(caller(tenant, Limits.NONE));
        }
        List<StoreRateLimiter> limiters = replicas.stream().map(db -> limiter(db, false, new AtomicInteger())).toList();
        AtomicInteger admitted = new AtomicInteger();
        ConcurrentLinkedQueue<AtriumException> refusals = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(64);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 64; t++) {
            int thread = t;
            done.add(threads.submit(() -> {
                go.await();
                for (int i = 0; i < 3; i++) {
                    StoreRateLimiter limiter = limiters.get((thread + i) % limiters.size());
                    try (RateLimiter.Permit permit = limiter.admit(callers.get(thread % callers.size()))) {
                        admitted.incrementAndGet();
                    } catch (AtriumException e) {
                        refusals.add(e);
                    }
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> future : done) {
            future.get();
        }
        threads.shutdown();

        assertThat(admitted.get()).isEqualTo(limit);
        assertThat(refusals).hasSize(64 * 3 - limit);
        for (AtriumException refusal : refusals) {
            assertThat(refusal.code()).isEqualTo(ErrorCode.RATE_LIMITED_REQUESTS);
            assertThat(refusal.retryAfterSeconds()).isPresent();
            Map<String, String> headers = headers(refusal);
            assertThat(headers).containsEntry("x-ratelimit-limit-requests", Integer.toString(limit))
                    .containsEntry("x-ratelimit-remaining-requests", "0")
                    .containsKeys("x-ratelimit-reset-requests", "retry-after-ms");
        }
    }

    @Test
    void concurrencyLimit_isShared_aPlaceGivenBackOnOneReplicaIsFreeOnAnother_andADeadReplicasPlaceExpires()
            throws Exception {
        Caller caller = caller(tenant(Limits.NONE), new Limits(null, null, 2));
        StoreRateLimiter first = limiter(replicas.get(0), Duration.ofMinutes(5));
        StoreRateLimiter second = limiter(replicas.get(1), Duration.ofMinutes(5));
        RateLimiter.Permit one = first.admit(caller);
        RateLimiter.Permit two = second.admit(caller);
        assertThatThrownBy(() -> replicasLimiter(2).admit(caller)).isInstanceOfSatisfying(AtriumException.class,
                e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED_REQUESTS);
                    assertThat(e.getMessage()).contains("at once");
                    assertThat(e.retryAfterSeconds()).isPresent();
                });
        one.close();
        one.close();
        RateLimiter.Permit three = replicasLimiter(2).admit(caller);
        assertThatThrownBy(() -> first.admit(caller)).isInstanceOf(AtriumException.class);
        two.close();
        three.close();

        // a replica that dies mid-request never gives its places back: they expire with their lease
        StoreRateLimiter dying = limiter(replicas.get(0), Duration.ofSeconds(1));
        dying.admit(caller);
        dying.admit(caller);
        assertThatThrownBy(() -> second.admit(caller)).isInstanceOf(AtriumException.class);
        Thread.sleep(1_500);
        second.admit(caller).close();
    }

    @Test
    void tokens_areTakenFromOneSharedWindow_andARequestLargerThanTheWindowIsA400() {
        Caller caller = caller(tenant(Limits.NONE), new Limits(null, 1_000, null));
        replicasLimiter(0).admit(caller).takeTokens(400);
        RateLimiter.Permit second = replicasLimiter(1).admit(caller);
        second.takeTokens(400);
        assertThat(second.status().remainingTokens()).isEqualTo(200);
        RateLimiter.Permit third = replicasLimiter(2).admit(caller);
        assertThatThrownBy(() -> third.takeTokens(400)).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED_TOKENS);
            assertThat(e.retryAfterSeconds()).isPresent();
            assertThat(headers(e)).containsEntry("x-ratelimit-remaining-tokens", "200");
        });
        third.takeTokens(200);
        assertThatThrownBy(() -> third.takeTokens(1_001)).isInstanceOfSatisfying(AtriumException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void storeStopped_refusesWith503AndRetryAfter_orAdmitsAndCountsWhenFailOpen_thenCountsExactlyAgain()
            throws Exception {
        try (PostgresServer own = PostgresServer.start();
                Database database = Database.openPostgresql(StoreLocation.parse(own.newDatabase()),
                        own.password())) {
            AtomicInteger unchecked = new AtomicInteger();
            StoreRateLimiter closed = limiter(database, false, unchecked);
            StoreRateLimiter open = limiter(database, true, unchecked);
            Caller caller = caller(tenant(Limits.NONE), new Limits(3, 1_000, null));
            closed.admit(caller).close();

            own.stopServer();
            assertThatThrownBy(() -> closed.admit(caller)).isInstanceOfSatisfying(AtriumException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
                assertThat(e.code().httpStatus()).isEqualTo(503);
                assertThat(e.retryAfterSeconds()).hasValue(StoreUnavailable.RETRY_AFTER_SECONDS);
            });
            assertThat(unchecked).hasValue(0);
            RateLimiter.Permit failOpen = open.admit(caller);
            failOpen.takeTokens(10);
            assertThat(unchecked).hasValue(1);
            assertThatThrownBy(() -> failOpen.takeTokens(1_001)).isInstanceOf(AtriumException.class);

            own.startServer();
            // one request counted before the outage, none during it (fail-closed refused; fail-open is uncounted);
            // the pool's first tries may still meet connections the restart cut
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                try {
                    closed.admit(caller).close();
                    break;
                } catch (AtriumException e) {
                    assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
                    assertThat(System.nanoTime()).as("served again").isLessThan(deadline);
                    Thread.sleep(100);
                }
            }
            closed.admit(caller).close();
            assertThatThrownBy(() -> closed.admit(caller)).isInstanceOfSatisfying(AtriumException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED_REQUESTS));
            assertThat(unchecked).hasValue(1);
        }
    }

    private StoreRateLimiter replicasLimiter(int replica) {
        return limiter(replicas.get(replica), Duration.ofMinutes(5));
    }

    private static StoreRateLimiter limiter(Database database, Duration lease) {
        return new StoreRateLimiter(database.jdbi(), defaults(), lease, false, () -> {});
    }

    private static StoreRateLimiter limiter(Database database, boolean failOpen, AtomicInteger unchecked) {
        return new StoreRateLimiter(database.jdbi(), defaults(), Duration.ofMinutes(5), failOpen,
                unchecked::incrementAndGet);
    }

    private static RateLimiter.Defaults defaults() {
        return new RateLimiter.Defaults(1_000_000, 1_000_000_000, null, WINDOW);
    }

    private static Tenant tenant(Limits limits) {
        return new Tenant(UUID.randomUUID().toString(), "t-" + UUID.randomUUID(), limits, Instant.now(), false);
    }

    private static Caller caller(Tenant tenant, Limits limits) {
        ApiKey key = new ApiKey(UUID.randomUUID().toString(), tenant.id(), Role.MEMBER, "k", "sk-test", List.of(),
                limits, null, Instant.now(), null, null);
        return new Caller(key, Optional.of(tenant));
    }

    private static Map<String, String> headers(AtriumException e) {
        Map<String, String> headers = new java.util.HashMap<>();
        e.headers().forEach(header -> headers.put(header.getKey(), header.getValue()));
        return headers;
    }
}
