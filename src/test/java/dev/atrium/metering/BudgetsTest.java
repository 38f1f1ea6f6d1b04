package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.EpochMicros;
import dev.atrium.testing.SettableClock;
import dev.atrium.testing.Stores;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Budgets and prices stay in one currency, and budgets stored out of bounds read cheaply and fail closed. */
@ParameterizedClass(name = "{0}")
@EnumSource(Dialect.class)
class BudgetsTest {
    @Parameter
    Dialect dialect;

    private static final Instant NOW = Instant.parse("2026-12-10T12:00:00Z");

    @TempDir
    Path directory;

    private Database database;
    private UsageLedger ledger;
    private PriceBook prices;
    private Budgets budgets;
    private final SettableClock clock = new SettableClock(NOW);

    @BeforeEach
    void open() {
        database = Stores.open(dialect, directory);
        ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
        prices = new PriceBook(database.jdbi(), clock);
        budgets = new Budgets(database, ledger, clock);
    }

    @AfterEach
    void close() {
        ledger.close();
        database.close();
    }

    @Test
    void set_budgetInAnotherCurrencyThanAModelsPrice_isRefused() {
        // the EUR price is superseded: only the USD one applies now
        price("m", null, "EUR", Optional.of(NOW.minusSeconds(7200)));
        price("m", null, "USD", Optional.of(NOW.minusSeconds(3600)));

        AtriumException refused = catchThrowableOfType(AtriumException.class,
                () -> budgets.set("ten_a", null, BigDecimal.TEN, "EUR", List.of()));

        assertThat(refused.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(refused.param()).contains("currency");
        assertThat(refused.getMessage()).contains("priced in USD");
        assertThat(budgets.list(Optional.empty())).isEmpty();
        // the same budget in the price's currency is fine
        assertThat(budgets.set("ten_a", null, BigDecimal.TEN, "USD", List.of()).currency()).isEqualTo("USD");
    }

    @Test
    void set_keyBudgetInAnotherCurrencyThanTheTenantsOverride_isRefused() {
        price("m", "ten_a", "EUR", Optional.empty());

        assertThat(catchThrowableOfType(AtriumException.class,
                () -> budgets.set("ten_a", "key_a", BigDecimal.TEN, "USD", List.of())).param()).contains("currency");
        // another tenant's override does not apply to ten_b
        assertThat(budgets.set("ten_b", "key_b", BigDecimal.TEN, "USD", List.of()).currency()).isEqualTo("USD");
    }

    @Test
    void set_budget_aPriceThatTakesEffectLaterApplies() {
        price("m", null, "USD", Optional.of(NOW.minusSeconds(3600)));
        price("m", null, "EUR", Optional.of(NOW.plusSeconds(3600)));

        assertThat(catchThrowableOfType(AtriumException.class,
                () -> budgets.set("ten_a", null, BigDecimal.TEN, "USD", List.of())).param()).contains("currency");
    }

    @Test
    void set_priceInAnotherCurrencyThanABudgetItWouldApplyTo_isRefused() {
        budgets.set("ten_a", "key_a", BigDecimal.TEN, "USD", List.of());

        AtriumException platform = catchThrowableOfType(AtriumException.class,
                () -> price("m", null, "EUR", Optional.empty()));
        AtriumException override = catchThrowableOfType(AtriumException.class,
                () -> price("m", "ten_a", "EUR", Optional.of(NOW.plusSeconds(60))));

        assertThat(platform.param()).contains("currency");
        assertThat(platform.getMessage()).contains("ten_a").contains("USD");
        assertThat(override.param()).contains("currency");
        assertThat(prices.list(Optional.empty(), Optional.empty())).isEmpty();
        // an override for a tenant without budgets, and prices in the budget's currency, are fine
        price("m", "ten_b", "EUR", Optional.empty());
        price("m", null, "USD", Optional.empty());
        assertThat(prices.list(Optional.empty(), Optional.empty())).hasSize(2);
    }

    @Test
    void reserve_budgetInAnotherCurrencyLeftFromBefore_refusesInsteadOfSkipping() {
        // a budget and a price in different currencies, as they could be set before the rule
        price("m", null, "USD", Optional.empty());
        insertBudget("tenant:ten_a", "ten_a", "100", "EUR", "[]");
        Charge charge = new Charge("USD", 1L, BigDecimal.ONE, BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO);

        AtriumException refused = catchThrowableOfType(AtriumException.class,
                () -> budgets.reserve("ten_a", "key_a", charge));

        assertThat(refused.code()).isEqualTo(ErrorCode.INSUFFICIENT_QUOTA);
        assertThat(refused.getMessage()).contains("USD").contains("EUR");
        assertThat(budgets.standing("tenant:ten_a").orElseThrow().reserved()).isEqualByComparingTo("0");
        // a free request (nothing to count) still passes
        budgets.reserve("ten_a", "key_a", Charge.free()).release();
    }

    @Test
    void reserve_budgetStoredWithACurrencyNoPriceCanHave_stillReadsAndRefusesPricedRequests() {
        // older versions took any text as a budget's currency
        insertBudget("tenant:ten_a", "ten_a", "100", "dollars", "[]");
        Charge charge = new Charge("USD", 1L, BigDecimal.ONE, BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO);

        assertThat(budgets.list(Optional.of("ten_a"))).extracting(Budget::currency).containsExactly("dollars");
        assertThat(catchThrowableOfType(AtriumException.class, () -> budgets.reserve("ten_a", "key_a", charge)).code())
                .isEqualTo(ErrorCode.INSUFFICIENT_QUOTA);
        // and a new one must be a currency code
        assertThat(catchThrowableOfType(AtriumException.class,
                () -> budgets.set("ten_a", null, BigDecimal.TEN, "dollars", List.of())).param()).contains("currency");
    }

    @Test
    void reserve_budgetStoredOutOfBounds_readsCheaplyAndRefusesPricedRequests() {
        // what older versions stored for monthly_limit "1E+10000000" and alert_at ["1E-10000000"]
        insertBudget("tenant:ten_a", "ten_a", "1" + "0".repeat(10_000_000), "USD",
                "[\"0." + "0".repeat(9_999_999) + "1\", \"0.8\"]");
        Charge charge = new Charge("USD", 1L, BigDecimal.ONE, BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO);

        Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            AtriumException refused = catchThrowableOfType(AtriumException.class,
                    () -> budgets.reserve("ten_a", "key_a", charge));
            assertThat(refused.code()).isEqualTo(ErrorCode.INSUFFICIENT_QUOTA);
            Budget budget = budgets.list(Optional.of("ten_a")).getFirst();
            assertThat(budget.monthlyLimit()).isEqualByComparingTo("0");
            assertThat(budget.alertAt()).isEmpty();
        });
    }

    @Test
    void reserve_alertFractionStoredOutOfBounds_isIgnoredAndTheBudgetStillHolds() {
        insertBudget("tenant:ten_a", "ten_a", "10", "USD", "[\"1" + "0".repeat(200) + "E-200\", \"0.5\"]");

        Budget budget = budgets.list(Optional.of("ten_a")).getFirst();

        assertThat(budget.monthlyLimit()).isEqualByComparingTo("10");
        assertThat(budget.alertAt()).containsExactly(new BigDecimal("0.5"));
    }

    private void price(String model, String tenant, String currency, Optional<Instant> from) {
        prices.set(model, tenant, BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ZERO, BigDecimal.ZERO, currency, from);
    }

    private void insertBudget(String scope, String tenant, String limit, String currency, String alerts) {
        database.jdbi().useHandle(handle -> handle.createUpdate("""
                        INSERT INTO budgets (scope, tenant_id, monthly_limit, currency, alert_at, updated_at)
                        VALUES (:scope, :tenant, :limit, :currency, :alerts, :now)""")
                .bind("scope", scope).bind("tenant", tenant).bind("limit", limit).bind("currency", currency)
                .bind("alerts", alerts).bind("now", EpochMicros.of(NOW)).execute());
    }
}
