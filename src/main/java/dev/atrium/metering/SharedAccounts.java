package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import dev.atrium.store.StoreUnavailable;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Budget accounts and holds in the PostgreSQL store, shared by replicas (migration V23): one round trip reserves
 * a request's worst case against all its budgets ({@code atrium_budget_reserve}, which locks their accounts), and
 * its usage record's transaction settles it ({@code atrium_budget_settle}), so that what a budget has spent is
 * always what its records add up to. A hold whose replica died expires; budgets never admit without the store.
 */
final class SharedAccounts {
    private static final Logger LOG = LoggerFactory.getLogger(SharedAccounts.class);

    /** A request under no tenant's budget. */
    static final Budgets.Reservation NONE = new Budgets.Reservation() {
        @Override
        public UsageLedger.Settlement settlement(Charge actual) {
            return null;
        }

        @Override
        public Map<String, List<BigDecimal>> settle(Charge actual) {
            return new LinkedHashMap<>();
        }

        @Override
        public void release() {}
    };

    private final Jdbi jdbi;
    private final Duration holdFor;

    /** @param holdFor how long a hold lasts when its request is never seen to end (its replica died) */
    SharedAccounts(Jdbi jdbi, Duration holdFor) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.holdFor = requireNonNull(holdFor, "holdFor is null");
    }

    /** What refused a reservation: the scope's index (1-based), why, and its budget. */
    private record Answer(int refused, String reason, BigDecimal limit, String currency, List<String> held) {}

    /**
     * Reserves a worst case against the budgets of the scopes, all or none.
     *
     * @throws dev.atrium.AtriumException 429 {@code insufficient_quota} when one cannot take it; 503 when the
     *     store cannot be reached
     */
    Budgets.Reservation reserve(List<String> scopes, Charge worstCase, YearMonth month, Duration runsAtMost) {
        // accounts are locked in scope order, so that reservations never deadlock
        List<String> ordered = scopes.stream().sorted().toList();
        String hold = UUID.randomUUID().toString();
        BigDecimal amount = worstCase.total();
        Answer answer;
        try {
            answer = jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM atrium_budget_reserve(:scopes,"
                            + " :currency, :amount, :month, :from, :to, :hold, :hold_us)")
                    .bindArray("scopes", String.class, ordered)
                    .bind("currency", worstCase.currency())
                    .bind("amount", amount)
                    .bind("month", month.toString())
                    .bind("from", EpochMicros.of(start(month)))
                    .bind("to", EpochMicros.of(start(month.plusMonths(1))))
                    .bind("hold", hold)
                    .bind("hold_us", holdFor.plus(runsAtMost).toNanos() / 1000)
                    .map((rs, ctx) -> new Answer(rs.getInt("refused"), rs.getString("reason"),
                            rs.getBigDecimal("budget_limit"), rs.getString("budget_currency"), strings(rs, "held")))
                    .one());
        } catch (JdbiException e) {
            throw StoreUnavailable.causedBy(e) ? StoreUnavailable.refusal() : e;
        }
        if (answer.refused() != 0) {
            boolean key = ordered.get(answer.refused() - 1).startsWith("key:");
            throw "currency".equals(answer.reason())
                    ? Budgets.inAnotherCurrency(worstCase.currency(), key, answer.currency())
                    : Budgets.overBudget(amount, worstCase.currency(), key, answer.limit(), answer.currency());
        }
        return answer.held().isEmpty() ? NONE : new Hold(hold, month);
    }

    /** Where a budget stands in a month: its account (or, before its first request, its ledger) and its holds. */
    Budgets.Standing standing(Budget budget, YearMonth month) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT COALESCE((SELECT a.spent FROM budget_accounts a WHERE a.scope = :scope
                                             AND a.month = :month),
                                        atrium_budget_ledger(:scope, :tenant, :currency, :from, :to)) AS spent,
                               (SELECT COALESCE(sum(h.amount), 0) FROM budget_holds h WHERE h.scope = :scope
                                  AND h.month = :month
                                  AND h.expires_at > (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT)
                                   AS reserved""")
                .bind("scope", budget.scope())
                .bind("month", month.toString())
                .bind("tenant", budget.tenantId())
                .bind("currency", budget.currency())
                .bind("from", EpochMicros.of(start(month)))
                .bind("to", EpochMicros.of(start(month.plusMonths(1))))
                .map((rs, ctx) -> new Budgets.Standing(budget, rs.getBigDecimal("spent"), rs.getBigDecimal("reserved")))
                .one());
    }

    /** One request's hold on its budgets. */
    private final class Hold implements Budgets.Reservation {
        private final String id;
        private final YearMonth month;
        private final AtomicBoolean open = new AtomicBoolean(true);
        /** Whether the ledger was given the settlement, and whether its transaction ran it (the last attempt). */
        private volatile boolean offered;
        private volatile boolean applied;
        private volatile Map<String, List<BigDecimal>> crossed = new LinkedHashMap<>();

        Hold(String id, YearMonth month) {
            this.id = id;
            this.month = month;
        }

        @Override
        public UsageLedger.Settlement settlement(Charge actual) {
            offered = true;
            return handle -> {
                crossed = settleIn(handle, actual);
                applied = true;
            };
        }

        @Override
        public Map<String, List<BigDecimal>> settle(Charge actual) {
            if (!open.compareAndSet(true, false)) {
                return new LinkedHashMap<>();
            }
            if (applied) {
                return crossed;
            }
            if (offered) {
                // the ledger wrote no record (one with this request id was there already): nothing to count
                releaseHold();
                return new LinkedHashMap<>();
            }
            // settled without a record of its own (a reservation used on its own)
            return jdbi.inTransaction(handle -> settleIn(handle, actual));
        }

        @Override
        public void release() {
            if (open.compareAndSet(true, false)) {
                releaseHold();
            }
        }

        private void releaseHold() {
            try {
                jdbi.useHandle(handle -> handle.createUpdate("DELETE FROM budget_holds WHERE hold = :hold")
                        .bind("hold", id).execute());
            } catch (JdbiException e) {
                // the hold expires on its own
                LOG.warn("cannot give back a budget reservation (it expires in {}): {}", holdFor, e.getMessage());
            }
        }

        private Map<String, List<BigDecimal>> settleIn(Handle handle, Charge actual) {
            Map<String, List<BigDecimal>> alerts = new LinkedHashMap<>();
            handle.createQuery("SELECT * FROM atrium_budget_settle(:hold, :currency, :amount, :from, :to)")
                    .bind("hold", id)
                    .bind("currency", actual.currency())
                    .bind("amount", actual.total())
                    .bind("from", EpochMicros.of(start(month)))
                    .bind("to", EpochMicros.of(start(month.plusMonths(1))))
                    .map((rs, ctx) -> {
                        String scope = rs.getString("scope");
                        if (!rs.getBoolean("counted")) {
                            // the price changed currency while the request ran: recorded, but not counted here
                            LOG.warn("budget {} cannot count a charge of {} {}", scope,
                                    actual.total().toPlainString(), actual.currency());
                        }
                        List<BigDecimal> fractions = decimals(rs, "crossed");
                        if (!fractions.isEmpty()) {
                            alerts.put(scope, fractions);
                        }
                        return scope;
                    })
                    .list();
            return alerts;
        }
    }

    private static Instant start(YearMonth month) {
        return month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    }

    private static List<String> strings(ResultSet rs, String column) throws SQLException {
        Array array = rs.getArray(column);
        List<String> values = new ArrayList<>();
        if (array != null) {
            for (Object value : (Object[]) array.getArray()) {
                values.add((String) value);
            }
        }
        return values;
    }

    private static List<BigDecimal> decimals(ResultSet rs, String column) throws SQLException {
        Array array = rs.getArray(column);
        List<BigDecimal> values = new ArrayList<>();
        if (array != null) {
            for (Object value : (Object[]) array.getArray()) {
                values.add((BigDecimal) value);
            }
        }
        return values;
    }
}
