package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Monthly budgets of tenants and keys, enforced by reservation: before a request runs, its worst-case cost is
 * reserved against every budget it falls under; after, the reservation becomes the real charge. A reservation
 * that does not fit is refused (429 {@code insufficient_quota}), so concurrent requests can never spend past a
 * budget together. A request that dies releases its reservation; after a restart, spending is read back from
 * the ledger, and reservations (which only live in memory) are gone with the requests that held them.
 *
 * <p>A budget counts only charges in its own currency, so a budget and the prices that apply to its tenant are
 * kept in one currency when either is set; a request whose price and budget differ all the same (data from
 * before that rule) is refused, never let through uncounted.
 */
public final class Budgets {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final Logger LOG = LoggerFactory.getLogger(Budgets.class);
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};
    /** Longer JSON than {@link Budget#MAX_ALERTS} bounded fractions can take is not even parsed. */
    private static final int MAX_STORED_ALERTS_LENGTH = Budget.MAX_ALERTS * (Decimals.MAX_TEXT_LENGTH + 3) + 2;

    private final Jdbi jdbi;
    private final UsageLedger ledger;
    private final Clock clock;
    /** On PostgreSQL, accounts and holds are kept in the store, shared by replicas ({@link SharedAccounts}). */
    private final SharedAccounts shared;
    private final ConcurrentHashMap<String, Optional<Budget>> budgets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Account> accounts = new ConcurrentHashMap<>();

    /** Budgets over a store: in memory on SQLite (one process), in the store on PostgreSQL (any replicas). */
    public Budgets(Database database, UsageLedger ledger, Clock clock, Duration holdFor) {
        this.jdbi = database.jdbi();
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.shared = database.dialect() == Dialect.POSTGRESQL ? new SharedAccounts(jdbi, holdFor) : null;
    }

    /** Budgets over a store, holding a reservation for at most ten minutes where a replica may die. */
    public Budgets(Database database, UsageLedger ledger, Clock clock) {
        this(database, ledger, clock, Duration.ofMinutes(10));
    }

    /** One budget's month: what is spent and what is reserved, guarded by its own lock. */
    private static final class Account {
        final Budget budget;
        final YearMonth month;
        BigDecimal spent;
        BigDecimal reserved = BigDecimal.ZERO;
        final List<BigDecimal> alerted = new ArrayList<>();

        Account(Budget budget, YearMonth month, BigDecimal spent) {
            this.budget = budget;
            this.month = month;
            this.spent = spent;
            for (BigDecimal fraction : budget.alertAt()) {
                if (spent.compareTo(budget.monthlyLimit().multiply(fraction)) >= 0) {
                    alerted.add(fraction);
                }
            }
        }
    }

    // ---- budgets ------------------------------------------------------------------------------------------------

    /**
     * Refuses, as {@link #set} would, a budget that cannot be set now, writing nothing: so that a key and its budget
     * are made together or not at all ({@code POST /admin/keys} with a {@code budget}).
     */
    public void check(String tenantId, String keyId, BigDecimal monthlyLimit, String currency,
            List<BigDecimal> alertAt) {
        Instant now = clock.instant();
        budget(tenantId, keyId, monthlyLimit, currency, alertAt, now);
        jdbi.useHandle(handle -> refuseOtherCurrencies(handle, tenantId, currency, now));
    }

    private static Budget budget(String tenantId, String keyId, BigDecimal monthlyLimit, String currency,
            List<BigDecimal> alertAt, Instant now) {
        if (!Price.isCurrency(currency)) {
            throw AtriumException.invalidParam("currency", "'currency' must be a three-letter ISO 4217 code such as USD");
        }
        return new Budget(tenantId, keyId, monthlyLimit, currency, alertAt, now);
    }

    private static void refuseOtherCurrencies(Handle handle, String tenantId, String currency, Instant now) {
        List<String> others = PriceBook.applying(PriceBook.all(handle), tenantId, now).stream()
                .map(Price::currency).filter(c -> !c.equals(currency)).distinct().sorted().toList();
        if (!others.isEmpty()) {
            throw AtriumException.invalidParam("currency", "a budget in " + currency + " cannot cover this"
                    + " tenant's requests, which are priced in " + String.join(", ", others) + "; a budget counts"
                    + " only charges in its own currency");
        }
    }

    /**
     * Sets a tenant's budget, or (with a key) one of its keys'.
     *
     * @throws AtriumException 400 on {@code currency} when a price that applies to the tenant (its own or the
     *     model's, in effect now or later) is in another currency: a budget counts only charges in its own
     */
    public Budget set(String tenantId, String keyId, BigDecimal monthlyLimit, String currency, List<BigDecimal> alertAt) {
        Instant now = clock.instant();
        Budget budget = budget(tenantId, keyId, monthlyLimit, currency, alertAt, now);
        // one transaction, begun as a writer: a price set meanwhile waits, so the check holds
        jdbi.useTransaction(handle -> {
            refuseOtherCurrencies(handle, tenantId, currency, now);
            handle.createUpdate("""
                INSERT INTO budgets (scope, tenant_id, monthly_limit, currency, alert_at, updated_at)
                VALUES (:scope, :tenant_id, :monthly_limit, :currency, :alert_at, :updated_at)
                ON CONFLICT (scope) DO UPDATE SET monthly_limit = excluded.monthly_limit,
                    currency = excluded.currency, alert_at = excluded.alert_at, updated_at = excluded.updated_at""")
                .bind("scope", budget.scope())
                .bind("tenant_id", tenantId)
                .bind("monthly_limit", monthlyLimit.toPlainString())
                .bind("currency", currency)
                .bind("alert_at", JSON.writeValueAsString(alertAt.stream().map(BigDecimal::toPlainString).toList()))
                .bind("updated_at", EpochMicros.of(budget.updatedAt()))
                .execute();
            if (shared != null) {
                // its spending is summed again from the ledger, in its (perhaps new) currency, when next needed
                handle.createUpdate("DELETE FROM budget_accounts WHERE scope = :scope")
                        .bind("scope", budget.scope()).execute();
            }
        });
        budgets.remove(budget.scope());
        accounts.remove(budget.scope());
        return budget;
    }

    public List<Budget> list(Optional<String> tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM budgets WHERE (:tenant IS NULL OR tenant_id = :tenant) ORDER BY scope")
                .bind("tenant", tenantId.orElse(null))
                .map((rs, ctx) -> budget(rs))
                .list());
    }

    private Optional<Budget> budget(String scope) {
        if (shared != null) {
            // another replica may set it at any time
            return readBudget(scope);
        }
        return budgets.computeIfAbsent(scope, key -> readBudget(key));
    }

    private Optional<Budget> readBudget(String scope) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM budgets WHERE scope = :scope")
                .bind("scope", scope)
                .map((rs, ctx) -> budget(rs))
                .findOne());
    }

    /**
     * A stored budget. One stored before decimals were bounded may hold a limit out of bounds (say
     * {@code 1E+10000000}, which takes minutes to compare with): it reads, cheaply, as a limit of 0, so that the
     * tenant's or key's priced requests are refused (fail closed) until the budget is set again, and says so in
     * the log. Alert fractions out of bounds are dropped, also with a log line.
     */
    private static Budget budget(java.sql.ResultSet rs) throws java.sql.SQLException {
        String scope = rs.getString("scope");
        String limitText = rs.getString("monthly_limit");
        BigDecimal limit = Decimals.parse(limitText).filter(value -> value.signum() >= 0).orElse(null);
        if (limit == null) {
            LOG.warn("budget {} has a stored monthly_limit out of bounds ({} characters); it counts as 0, refusing"
                    + " priced requests, until the budget is set again", scope, limitText.length());
            limit = BigDecimal.ZERO;
        }
        String alertsText = rs.getString("alert_at");
        List<BigDecimal> alerts = new ArrayList<>();
        List<String> fractions = alertsText.length() > MAX_STORED_ALERTS_LENGTH ? List.of()
                : JSON.readValue(alertsText, STRINGS);
        for (String text : fractions) {
            Decimals.parse(text).filter(f -> f.signum() > 0 && f.compareTo(BigDecimal.ONE) <= 0)
                    .filter(f -> alerts.size() < Budget.MAX_ALERTS).ifPresent(alerts::add);
        }
        if (alerts.size() != fractions.size() || alertsText.length() > MAX_STORED_ALERTS_LENGTH) {
            LOG.warn("budget {} has stored alert fractions out of bounds; they are ignored until the budget is set"
                    + " again", scope);
        }
        return new Budget(rs.getString("tenant_id"), scope.startsWith("key:") ? scope.substring(4) : null, limit,
                rs.getString("currency"), alerts, EpochMicros.instant(rs, "updated_at"));
    }

    // ---- reservations -------------------------------------------------------------------------------------------

    /**
     * Reserves a request's worst-case charge against its tenant's and key's budgets.
     *
     * @throws AtriumException 429 {@code insufficient_quota} when a budget cannot take it
     */
    public Reservation reserve(String tenantId, String keyId, Charge worstCase) {
        return reserve(tenantId, keyId, worstCase, Duration.ZERO);
    }

    /**
     * Reserves a request's worst-case charge against its tenant's and key's budgets, for a request that may run
     * this long (a fine-tuning job, say): in the shared store its hold outlasts it.
     *
     * @throws AtriumException 429 {@code insufficient_quota} when a budget cannot take it
     */
    public Reservation reserve(String tenantId, String keyId, Charge worstCase, Duration runsAtMost) {
        if (shared != null) {
            return tenantId == null ? SharedAccounts.NONE : shared.reserve(
                    List.of("key:" + keyId, "tenant:" + tenantId), worstCase, month(), runsAtMost);
        }
        List<Account> applicable = new ArrayList<>(2);
        if (tenantId != null) {
            account("tenant:" + tenantId).ifPresent(applicable::add);
            account("key:" + keyId).ifPresent(applicable::add);
        }
        BigDecimal amount = worstCase.total();
        List<Account> taken = new ArrayList<>(applicable.size());
        for (Account account : applicable) {
            if (!account.budget.currency().equals(worstCase.currency()) && amount.signum() > 0) {
                // setting either is refused while the other is in another currency; one left from before that
                // rule cannot count this charge, so it refuses it rather than let it pass uncounted
                release(taken, amount);
                throw inAnotherCurrency(worstCase.currency(), account.budget.keyId() != null,
                        account.budget.currency());
            }
            synchronized (account) {
                BigDecimal after = account.spent.add(account.reserved).add(amount);
                if (after.compareTo(account.budget.monthlyLimit()) > 0) {
                    release(taken, amount);
                    throw overBudget(amount, worstCase.currency(), account.budget.keyId() != null,
                            account.budget.monthlyLimit(), account.budget.currency());
                }
                account.reserved = account.reserved.add(amount);
                taken.add(account);
            }
        }
        return new LocalReservation(taken, amount);
    }

    static AtriumException inAnotherCurrency(String currency, boolean keys, String budgetCurrency) {
        return new AtriumException(ErrorCode.INSUFFICIENT_QUOTA, "this request is priced in " + currency + ", but the "
                + (keys ? "key's" : "tenant's") + " monthly budget is in " + budgetCurrency + " and cannot count it;"
                + " the budget or the price must be set again in one currency");
    }

    static AtriumException overBudget(BigDecimal amount, String currency, boolean keys, BigDecimal limit,
            String budgetCurrency) {
        return new AtriumException(ErrorCode.INSUFFICIENT_QUOTA, "this request could cost up to "
                + amount.stripTrailingZeros().toPlainString() + " " + currency + ", more than is left of the "
                + (keys ? "key's" : "tenant's") + " monthly budget of " + limit.stripTrailingZeros().toPlainString()
                + " " + budgetCurrency);
    }

    private static void release(List<Account> accounts, BigDecimal amount) {
        for (Account account : accounts) {
            synchronized (account) {
                account.reserved = account.reserved.subtract(amount);
            }
        }
    }

    /** The budget's account for this month, read from the ledger when first needed. */
    private Optional<Account> account(String scope) {
        Optional<Budget> budget = budget(scope);
        if (budget.isEmpty()) {
            return Optional.empty();
        }
        YearMonth month = month();
        Account account = accounts.compute(scope, (key, existing) -> {
            if (existing != null && existing.month.equals(month) && existing.budget.equals(budget.get())) {
                return existing;
            }
            Instant from = month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
            Instant to = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
            Budget b = budget.get();
            BigDecimal spent = ledger.spent(Optional.of(b.tenantId()), Optional.ofNullable(b.keyId()), b.currency(), from, to);
            return new Account(b, month, spent);
        });
        return Optional.of(account);
    }

    private YearMonth month() {
        return YearMonth.now(clock.withZone(ZoneOffset.UTC));
    }

    /** A reserved amount; settle it to the real charge, or release it. */
    public interface Reservation {
        /**
         * What settles this reservation in the transaction that writes its request's usage record, so that the
         * record and the budget's spending are committed together; null where it settles in memory.
         */
        UsageLedger.Settlement settlement(Charge actual);

        /**
         * Turns the reservation into the real charge (after its {@link #settlement}, if any, was committed).
         *
         * @return the alert fractions this charge crossed, by scope ({@code tenant:…}, {@code key:…})
         */
        Map<String, List<BigDecimal>> settle(Charge actual);

        /** Gives the reservation back (the request never ran, or failed). */
        void release();
    }

    /** A reservation against accounts in memory. */
    private static final class LocalReservation implements Reservation {
        private final List<Account> accounts;
        private final BigDecimal amount;
        private final AtomicBoolean open = new AtomicBoolean(true);

        private LocalReservation(List<Account> accounts, BigDecimal amount) {
            this.accounts = accounts;
            this.amount = amount;
        }

        @Override
        public UsageLedger.Settlement settlement(Charge actual) {
            return null;
        }

        @Override
        public Map<String, List<BigDecimal>> settle(Charge actual) {
            Map<String, List<BigDecimal>> crossed = new java.util.LinkedHashMap<>();
            if (!open.compareAndSet(true, false)) {
                return crossed;
            }
            for (Account account : accounts) {
                synchronized (account) {
                    account.reserved = account.reserved.subtract(amount);
                    if (actual.currency().equals(account.budget.currency())) {
                        account.spent = account.spent.add(actual.total());
                    } else if (actual.total().signum() > 0) {
                        // the price changed currency while the request ran (a price set before budgets and prices
                        // were kept in one currency): the charge is recorded, but this budget cannot count it
                        LOG.warn("budget {} in {} cannot count a charge of {} {}", account.budget.scope(),
                                account.budget.currency(), actual.total().toPlainString(), actual.currency());
                    }
                    for (BigDecimal fraction : account.budget.alertAt()) {
                        if (!account.alerted.contains(fraction)
                                && account.spent.compareTo(account.budget.monthlyLimit().multiply(fraction)) >= 0) {
                            account.alerted.add(fraction);
                            crossed.computeIfAbsent(account.budget.scope(), s -> new ArrayList<>()).add(fraction);
                        }
                    }
                }
            }
            return crossed;
        }

        @Override
        public void release() {
            if (open.compareAndSet(true, false)) {
                Budgets.release(accounts, amount);
            }
        }
    }

    /** Where a budget stands this month. */
    public record Standing(Budget budget, BigDecimal spent, BigDecimal reserved) {}

    public Optional<Standing> standing(String scope) {
        if (shared != null) {
            return budget(scope).map(budget -> shared.standing(budget, month()));
        }
        return account(scope).map(account -> {
            synchronized (account) {
                return new Standing(account.budget, account.spent, account.reserved);
            }
        });
    }
}
