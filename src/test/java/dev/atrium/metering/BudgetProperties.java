package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.Database;
import dev.atrium.testing.TempDirectories;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Whatever the order of reservations, settlements and releases, the charges settled plus the reservations still
 * open never exceed the budget, and what a budget counts as spent is exactly what was settled.
 */
class BudgetProperties {
    private static Database database;
    private static UsageLedger ledger;
    private static Budgets budgets;

    @BeforeContainer
    static void open() throws Exception {
        Path directory = TempDirectories.create("atrium-budgets-");
        database = Database.openSqlite(directory.resolve("atrium.db"));
        ledger = new UsageLedger(database.jdbi(), new dev.atrium.observe.AtriumMetrics());
        budgets = new Budgets(database, ledger, Clock.systemUTC());
    }

    @AfterContainer
    static void close() {
        ledger.close();
        database.close();
    }

    /** One step: reserve an amount, or settle or release an open reservation (by index, modulo). */
    record Step(int kind, BigDecimal amount, int target, int settlePercent) {}

    @Provide
    Arbitrary<List<Step>> steps() {
        return net.jqwik.api.Combinators.combine(
                        Arbitraries.integers().between(0, 2),
                        Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("30")).ofScale(4),
                        Arbitraries.integers().between(0, 1000),
                        Arbitraries.integers().between(0, 100))
                .as(Step::new)
                .list().ofMinSize(1).ofMaxSize(60);
    }

    @Property(tries = 200)
    void reserveSettleRelease_neverExceedTheBudget(@ForAll("steps") List<Step> steps,
            @ForAll("limits") BigDecimal limit) {
        String tenant = "ten_" + UUID.randomUUID();
        budgets.set(tenant, null, limit, "USD", List.of());
        List<Budgets.Reservation> open = new ArrayList<>();
        List<BigDecimal> openAmounts = new ArrayList<>();
        BigDecimal settled = BigDecimal.ZERO;
        for (Step step : steps) {
            if (step.kind() == 0 || open.isEmpty()) {
                Charge worst = new Charge("USD", 1L, step.amount(), BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO);
                try {
                    open.add(budgets.reserve(tenant, "key_x", worst));
                    openAmounts.add(step.amount());
                } catch (AtriumException e) {
                    assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_QUOTA);
                    assertThat(settled.add(sum(openAmounts)).add(step.amount())).isGreaterThan(limit);
                }
            } else {
                int index = step.target() % open.size();
                Budgets.Reservation reservation = open.remove(index);
                BigDecimal reserved = openAmounts.remove(index);
                if (step.kind() == 1) {
                    // a request costs at most what it reserved
                    BigDecimal actual = reserved.multiply(BigDecimal.valueOf(step.settlePercent())).movePointLeft(2);
                    reservation.settle(new Charge("USD", 1L, actual, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO,
                            BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO));
                    settled = settled.add(actual);
                } else {
                    reservation.release();
                }
            }
            Budgets.Standing standing = budgets.standing("tenant:" + tenant).orElseThrow();
            assertThat(standing.spent()).isEqualByComparingTo(settled);
            assertThat(standing.reserved()).isEqualByComparingTo(sum(openAmounts));
            assertThat(standing.spent().add(standing.reserved())).isLessThanOrEqualTo(limit);
        }
    }

    @Provide
    Arbitrary<BigDecimal> limits() {
        return Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("200")).ofScale(2);
    }

    private static BigDecimal sum(List<BigDecimal> amounts) {
        return amounts.stream().reduce(BigDecimal.ZERO, BigDecimal::add);
    }
}
