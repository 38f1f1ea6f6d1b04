package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditLog;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.StoreLocation;
import dev.atrium.testing.PostgresServer;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Budgets held and settled in PostgreSQL, as replicas see them: three "replicas" (each its own pool, ledger,
 * budgets and metering) on one database. Together they never spend past a budget, each alert is raised once, what
 * an account has spent is what its records add up to, and a dead replica's hold expires.
 */
class SharedBudgetsTest {
    private static PostgresServer postgres;
    private static String store;
    private static final List<Replica> replicas = new ArrayList<>();

    /** One replica's metering over the shared database. */
    private record Replica(Database database, UsageLedger ledger, AuditLog audit, Budgets budgets, Metering metering)
            implements AutoCloseable {
        static Replica open(Duration holdFor) {
            Database database = Database.openPostgresql(StoreLocation.parse(store), postgres.password());
            UsageLedger ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
            AuditLog audit = new AuditLog(database.jdbi());
            Budgets budgets = new Budgets(database, ledger, Clock.systemUTC(), holdFor);
            Metering metering = new Metering(new PriceBook(database.jdbi(), Clock.systemUTC()), ledger, budgets,
                    audit, new AtriumMetrics(), Clock.systemUTC());
            return new Replica(database, ledger, audit, budgets, metering);
        }

        @Override
        public void close() {
            ledger.close();
            audit.close();
            database.close();
        }
    }

    @BeforeAll
    static void start() {
        postgres = dev.atrium.testing.Stores.postgres();
        store = postgres.newDatabase();
        for (int i = 0; i < 3; i++) {
            replicas.add(Replica.open(Duration.ofMinutes(10)));
        }
        replicas.getFirst().metering().prices().set("m", null, Map.of(Meter.REQUESTS, BigDecimal.ONE), "USD",
                Optional.empty());
    }

    @AfterAll
    static void stop() {
        replicas.forEach(Replica::close);
    }

    @Test
    void threeReplicas_underA64ThreadBurst_spendExactlyTheBudget_raiseEachAlertOnce_andMatchTheLedger()
            throws Exception {
        String tenant = "ten_" + UUID.randomUUID();
        replicas.get(1).budgets().set(tenant, null, new BigDecimal("40"), "USD", List.of(new BigDecimal("0.5")));
        AtomicInteger served = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(64);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 64; t++) {
            int thread = t;
            done.add(threads.submit(() -> {
                go.await();
                for (int i = 0; i < 2; i++) {
                    Metering.Meter meter = replicas.get((thread + i) % 3).metering().start(new Metering.Subject(
                            UUID.randomUUID().toString(), null, tenant, "key_" + thread, "m", 1, "/v1/embeddings"));
                    try {
                        meter.reserve(new Usage(0, 0, 1, 0, 0, 0, 0));
                    } catch (AtriumException e) {
                        assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_QUOTA);
                        refused.incrementAndGet();
                        continue;
                    }
                    meter.finish(new Usage(0, 0, 1, 0, 0, 0, 0), Outcome.OK);
                    served.incrementAndGet();
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> future : done) {
            future.get();
        }
        threads.shutdown();

        assertThat(served.get()).isEqualTo(40);
        assertThat(refused.get()).isEqualTo(128 - 40);
        for (Replica replica : replicas) {
            Budgets.Standing standing = replica.budgets().standing("tenant:" + tenant).orElseThrow();
            assertThat(standing.spent()).isEqualByComparingTo("40");
            assertThat(standing.reserved()).isEqualByComparingTo("0");
        }
        replicas.forEach(replica -> replica.audit().flush());
        Database database = replicas.getFirst().database();
        BigDecimal recorded = database.jdbi().withHandle(handle -> handle.createQuery(
                        "SELECT COALESCE(sum(charge::NUMERIC), 0) FROM usage_records WHERE tenant_id = :tenant")
                .bind("tenant", tenant).mapTo(BigDecimal.class).one());
        assertThat(recorded).isEqualByComparingTo("40");
        int alerts = database.jdbi().withHandle(handle -> handle.createQuery(
                        "SELECT count(*) FROM audit_log WHERE tenant_id = :tenant AND action = 'budget.alert'")
                .bind("tenant", tenant).mapTo(Integer.class).one());
        assertThat(alerts).as("the 50% alert, raised by whichever replica crossed it").isEqualTo(1);
    }

    @Test
    void aDeadReplicasHold_keepsItsPlaceUntilItExpires_andABudgetSetAgainCountsItsLedgerAnew() throws Exception {
        String tenant = "ten_" + UUID.randomUUID();
        Charge three = new Charge("USD", 1L, new BigDecimal("3"), BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);
        try (Replica dying = Replica.open(Duration.ofSeconds(1))) {
            dying.budgets().set(tenant, null, new BigDecimal("5"), "USD", List.of());
            dying.budgets().reserve(tenant, "key_a", three); // never settled: its replica dies
        }
        Budgets other = replicas.get(2).budgets();
        assertThat(other.standing("tenant:" + tenant).orElseThrow().reserved()).isEqualByComparingTo("3");
        assertThatThrownBy(() -> other.reserve(tenant, "key_b", three)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_QUOTA));
        Thread.sleep(1_200);
        Budgets.Reservation after = other.reserve(tenant, "key_b", three);
        after.settle(three);
        assertThat(other.standing("tenant:" + tenant).orElseThrow().spent()).isEqualByComparingTo("3");
        // a budget set again is counted from the ledger again (this settlement wrote no record)
        other.set(tenant, null, new BigDecimal("6"), "USD", List.of());
        assertThat(other.standing("tenant:" + tenant).orElseThrow().spent()).isEqualByComparingTo("0");
    }
}
