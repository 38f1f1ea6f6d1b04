package dev.atrium.bench;

import dev.atrium.audit.AuditLog;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.LocalRateLimiter;
import dev.atrium.gateway.RateLimiter;
import dev.atrium.gateway.StoreRateLimiter;
import dev.atrium.metering.Budgets;
import dev.atrium.metering.Meter;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Outcome;
import dev.atrium.metering.PriceBook;
import dev.atrium.metering.Usage;
import dev.atrium.metering.UsageLedger;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.StoreLocation;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.Limits;
import dev.atrium.tenancy.Role;
import dev.atrium.tenancy.Tenant;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.HdrHistogram.Histogram;

/**
 * What admission costs per request in each store, outside the server: a rate check (requests and tokens), a budget
 * reservation of the request's worst case, and its settlement with the usage record (written through the ledger's
 * group commit), for a key of a tenant with a budget and a price. On SQLite the counters and accounts are in this
 * process; on PostgreSQL they are the shared ones (one round trip to admit, one to take tokens, one to reserve, and
 * the settlement inside the record's transaction). Each combination runs at 1 and 16 threads for a fixed time,
 * after a warm-up; prints one line per combination.
 *
 * <p>Usage: {@code AdmissionBench SECONDS [postgresql://…]}, with the password in {@code ATRIUM_STORE_PASSWORD}.
 */
public final class AdmissionBench {
    private AdmissionBench() {}

    /** One store's admission path. */
    private record Admission(Database database, RateLimiter limiter, Metering metering, UsageLedger ledger,
            AuditLog audit) {}

    public static void main(String[] args) throws Exception {
        int seconds = Integer.parseInt(args[0]);
        List<String> stores = new ArrayList<>(List.of("sqlite"));
        if (args.length > 1) {
            stores.add(args[1]);
        }
        System.out.println("machine cores=" + Runtime.getRuntime().availableProcessors());
        for (String store : stores) {
            Admission path = open(store);
            try {
                Caller caller = caller(path);
                for (int threads : new int[] {1, 16}) {
                    run(path, caller, threads, 1); // warm-up
                    Histogram latencies = new Histogram(3);
                    long start = System.nanoTime();
                    long count = run(path, caller, threads, seconds, latencies);
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    System.out.printf("store=%s threads=%d admissions_per_s=%.0f mean_us=%.0f p50_us=%d p99_us=%d%n",
                            path.database().dialect().name().toLowerCase(java.util.Locale.ROOT), threads,
                            count / elapsed, latencies.getMean() / 1000, latencies.getValueAtPercentile(50) / 1000,
                            latencies.getValueAtPercentile(99) / 1000);
                }
            } finally {
                path.ledger().close();
                path.audit().close();
                path.database().close();
            }
        }
    }

    private static Admission open(String store) throws Exception {
        Path directory = Files.createTempDirectory("atrium-admission-");
        Database database = Database.open(StoreLocation.parse(store), directory,
                System.getenv("ATRIUM_STORE_PASSWORD"));
        UsageLedger ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
        AuditLog audit = new AuditLog(database.jdbi());
        Clock clock = Clock.systemUTC();
        Budgets budgets = new Budgets(database, ledger, clock);
        Metering metering = new Metering(new PriceBook(database.jdbi(), clock), ledger, budgets, audit,
                new AtriumMetrics(), clock);
        RateLimiter.Defaults defaults = new RateLimiter.Defaults(1_000_000_000, 1_000_000_000, null,
                Duration.ofMinutes(1));
        RateLimiter limiter = database.dialect() == Dialect.POSTGRESQL
                ? new StoreRateLimiter(database.jdbi(), defaults, Duration.ofMinutes(3), false, () -> {})
                : new LocalRateLimiter(defaults);
        return new Admission(database, limiter, metering, ledger, audit);
    }

    private static Caller caller(Admission path) {
        Tenant tenant = new Tenant("ten_" + UUID.randomUUID(), "bench", new Limits(1_000_000_000, 1_000_000_000,
                null), Instant.now(), false);
        path.metering().prices().set("m", null, Map.of(Meter.INPUT_TOKENS, new BigDecimal("0.02")), "USD",
                Optional.empty());
        path.metering().budgets().set(tenant.id(), null, new BigDecimal("1000000000"), "USD", List.of());
        ApiKey key = new ApiKey("key_" + UUID.randomUUID(), tenant.id(), Role.MEMBER, "bench", "atr-bench",
                List.of(), new Limits(1_000_000_000, 1_000_000_000, null), null, Instant.now(), null, null);
        return new Caller(key, Optional.of(tenant));
    }

    private static long run(Admission path, Caller caller, int threads, int seconds) throws Exception {
        return run(path, caller, threads, seconds, new Histogram(3));
    }

    private static long run(Admission path, Caller caller, int threads, int seconds, Histogram latencies)
            throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Long>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                go.await();
                long count = 0;
                Histogram mine = new Histogram(3);
                while (System.nanoTime() < end) {
                    long start = System.nanoTime();
                    admitOnce(path, caller);
                    mine.recordValue(System.nanoTime() - start);
                    count++;
                }
                synchronized (latencies) {
                    latencies.add(mine);
                }
                return count;
            }));
        }
        go.countDown();
        long total = 0;
        for (Future<Long> future : done) {
            total += future.get();
        }
        pool.shutdown();
        return total;
    }

    /** What the serving path does for every request around the engine's run. */
    private static void admitOnce(Admission path, Caller caller) {
        try (RateLimiter.Permit permit = path.limiter().admit(caller)) {
            permit.takeTokens(12);
            Metering.Meter meter = path.metering().start(new Metering.Subject(UUID.randomUUID().toString(), null,
                    caller.key().tenantId(), caller.key().id(), "m", 1, "/v1/embeddings"));
            meter.reserve(new Usage(12, 0, 1, 0, 0, 0, 0));
            meter.finish(new Usage(12, 0, 1, 0, 0, 0, 0), Outcome.OK);
        }
    }
}
