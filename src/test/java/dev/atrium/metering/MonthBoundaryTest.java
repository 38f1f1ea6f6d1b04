package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.testing.SettableClock;
import dev.atrium.testing.Stores;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A record belongs to the month it started in, to the microsecond: in its month's invoice and its month's budget
 * spending, however many fraction digits its time has (as text, {@code "…00.000001Z" < "…00Z"}).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Dialect.class)
class MonthBoundaryTest {
    @Parameter
    Dialect dialect;

    private static final String TENANT = "ten_boundary";
    private static final Instant LAST_OF_NOVEMBER = Instant.parse("2026-11-30T23:59:59.999999Z");
    private static final Instant FIRST_OF_DECEMBER = Instant.parse("2026-12-01T00:00:00Z");
    private static final Instant JUST_AFTER = Instant.parse("2026-12-01T00:00:00.000001Z");

    @TempDir
    Path directory;

    private Database database;
    private UsageLedger ledger;
    private PriceBook prices;
    private Budgets budgets;
    private final SettableClock clock = new SettableClock(Instant.parse("2026-11-01T00:00:00Z"));

    @BeforeEach
    void open() {
        database = Stores.open(dialect, directory);
        ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
        prices = new PriceBook(database.jdbi(), clock);
        budgets = new Budgets(database, ledger, clock);
        prices.set("m", null, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ONE, BigDecimal.ZERO, "USD", Optional.empty());
    }

    @AfterEach
    void close() {
        ledger.close();
        database.close();
    }

    @Test
    void recordsAroundMidnight_landInTheirOwnMonthsInvoiceAndBudget() {
        record("a", LAST_OF_NOVEMBER, 1);
        record("b", FIRST_OF_DECEMBER, 10);
        record("c", JUST_AFTER, 100);

        assertThat(Invoice.of(ledger, prices, TENANT, YearMonth.of(2026, 11)).subtotals().get("USD"))
                .isEqualByComparingTo("1");
        assertThat(Invoice.of(ledger, prices, TENANT, YearMonth.of(2026, 12)).subtotals().get("USD"))
                .isEqualByComparingTo("110");

        budgets.set(TENANT, null, new BigDecimal("1000"), "USD", List.of());
        clock.set(Instant.parse("2026-11-30T23:59:59.9999995Z"));
        assertThat(budgets.standing("tenant:" + TENANT).orElseThrow().spent()).isEqualByComparingTo("1");
        clock.set(JUST_AFTER);
        assertThat(budgets.standing("tenant:" + TENANT).orElseThrow().spent()).isEqualByComparingTo("110");
    }

    @Test
    void forEach_timesWithFractionsOfDifferentLengths_inTimeOrder() {
        record("whole", Instant.parse("2026-12-01T00:00:00Z"), 1);
        record("half", Instant.parse("2026-12-01T00:00:00.5Z"), 1);
        record("quarter", Instant.parse("2026-12-01T00:00:00.25Z"), 1);
        record("micro", Instant.parse("2026-12-01T00:00:00.000001Z"), 1);
        record("next", Instant.parse("2026-12-01T00:00:01Z"), 1);

        List<String> order = new ArrayList<>();
        ledger.forEach(TENANT, Instant.parse("2026-12-01T00:00:00Z"), Instant.parse("2026-12-02T00:00:00Z"),
                record -> order.add(record.requestId()));

        assertThat(order).containsExactly("whole", "micro", "quarter", "half", "next");
    }

    @Test
    void records_aTimeWithNanoseconds_readsBackEqualToTheRecordWritten() {
        UsageRecord written = record("nanos", Instant.parse("2026-12-01T00:00:00.123456789Z"), 1);

        UsageRecord read = ledger.records(new RecordQuery(Optional.of(TENANT), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of(written.startedAt()), Optional.empty(), Optional.empty(), 10))
                .getFirst().record();

        assertThat(read).isEqualTo(written);
        assertThat(read.startedAt()).isEqualTo(Instant.parse("2026-12-01T00:00:00.123456Z"));
    }

    private UsageRecord record(String id, Instant startedAt, long requests) {
        Usage usage = new Usage(0, 0, requests, 0);
        Price price = prices.effective("m", TENANT, startedAt).orElseThrow();
        UsageRecord record = new UsageRecord(id, null, startedAt, startedAt.plusMillis(5), TENANT, "key_boundary", "m",
                1, "embeddings", "ok", usage, Charge.of(price, usage));
        ledger.record(record);
        return record;
    }
}
