package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.StoreUnavailable;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Meters requests that reach an engine: reserves their worst case against budgets before they run, then
 * prices what they really used (with the price in effect at that moment), writes their usage record durably,
 * and settles the reservation, all before the response goes out.
 */
public final class Metering {
    private final PriceBook prices;
    private final UsageLedger ledger;
    private final Budgets budgets;
    private final AuditLog audit;
    private final AtriumMetrics metrics;
    private final Clock clock;

    public Metering(PriceBook prices, UsageLedger ledger, Budgets budgets, AuditLog audit, AtriumMetrics metrics,
            Clock clock) {
        this.prices = requireNonNull(prices, "prices is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public PriceBook prices() {
        return prices;
    }

    public UsageLedger ledger() {
        return ledger;
    }

    public Budgets budgets() {
        return budgets;
    }

    /** Who asked for what, for one request's record. */
    public record Subject(String requestId, String clientRequestId, String tenantId, String keyId, String model,
            int version, String endpoint) {}

    /**
     * @throws AtriumException {@code STORE_UNAVAILABLE} while the store refuses writes (a full disk, say): the call
     *     must not reach a model whose usage record could not be written
     */
    public Meter start(Subject subject) {
        checkLedgerTakesWrites();
        return new Meter(subject, clock.instant(), false);
    }

    /**
     * Meters work the platform does for a model's owner rather than for a caller (a shadow's mirror): recorded like
     * any call, with its usage, but free and outside every budget.
     */
    public Meter startInternal(Subject subject) {
        checkLedgerTakesWrites();
        return new Meter(subject, clock.instant(), true);
    }

    private void checkLedgerTakesWrites() {
        if (!ledger.takesWrites()) {
            metrics.refused("store");
            throw StoreUnavailable.refusingWrites();
        }
    }

    /** One request's metering, from reservation to record. */
    public final class Meter {
        private final Subject subject;
        private final Instant startedAt;
        private final boolean internal;
        private Budgets.Reservation reservation;
        private Charge reserved = Charge.free();
        private Map<String, List<BigDecimal>> alerts = Map.of();
        private boolean finished;

        private Meter(Subject subject, Instant startedAt, boolean internal) {
            this.subject = subject;
            this.startedAt = startedAt;
            this.internal = internal;
        }

        /**
         * Reserves the most this request can cost.
         *
         * @throws dev.atrium.AtriumException 429 {@code insufficient_quota} when a budget cannot take it
         */
        public void reserve(Usage worstCase) {
            if (internal) {
                return;
            }
            Charge charge = charge(worstCase, startedAt);
            try {
                reservation = budgets.reserve(subject.tenantId(), subject.keyId(), charge,
                        java.time.Duration.ofMillis(worstCase.computeMillis()));
            } catch (RuntimeException e) {
                metrics.refused("budget");
                throw e;
            }
            reserved = charge;
        }

        /**
         * Records what the request used, durably, and settles its reservation. An outcome that is not billed
         * (the engine's own failure) is recorded free. A charge above the reservation (the price was raised while
         * the request ran) is charged all the same, counted in the metrics and audited; the budget then refuses
         * the next request that does not fit.
         */
        public UsageRecord finish(Usage usage, Outcome outcome) {
            Instant endedAt = clock.instant();
            Charge charge = outcome.billed() && !internal ? charge(usage, endedAt) : Charge.free();
            UsageRecord record = new UsageRecord(subject.requestId(), subject.clientRequestId(), startedAt, endedAt,
                    subject.tenantId(), subject.keyId(), subject.model(), subject.version(), subject.endpoint(),
                    outcome.wireName(), usage, charge);
            try {
                ledger.record(record, reservation == null ? null : reservation.settlement(charge));
            } catch (RuntimeException e) {
                release();
                throw e;
            }
            finished = true;
            metrics.served(subject.model(), subject.version(), subject.endpoint(), outcome.wireName(),
                    usage.inputTokens(), usage.outputTokens(), usage.computeMillis());
            BigDecimal excess = charge.total().subtract(charge.currency().equals(reserved.currency())
                    ? reserved.total() : BigDecimal.ZERO);
            if (charge.total().signum() > 0 && excess.signum() > 0) {
                metrics.overrun(subject.model(), excess);
                audit.record(new AuditEvent(0, endedAt, subject.keyId(), null, subject.tenantId(), "budget.overrun",
                        "request " + subject.requestId() + " was charged " + excess.stripTrailingZeros().toPlainString()
                                + " " + charge.currency() + " more than it reserved", null, "ok", 200));
            }
            if (reservation != null) {
                alerts = reservation.settle(charge);
                alerts.forEach((scope, fractions) -> fractions.forEach(fraction -> audit.record(new AuditEvent(0,
                        endedAt, subject.keyId(), null, subject.tenantId(), "budget.alert",
                        scope + " reached " + fraction.movePointRight(2).stripTrailingZeros().toPlainString() + "%",
                        null, "ok", 200))));
            }
            return record;
        }

        /** What was reserved: the most the request was expected to cost. */
        public Charge reserved() {
            return reserved;
        }

        /** Whether the request's record has been written. */
        public boolean isFinished() {
            return finished;
        }

        /** Gives back the reservation of a request that did not reach the engine. */
        public void release() {
            if (reservation != null) {
                reservation.release();
            }
        }

        /** The budget alert fractions the request's charge crossed, by scope. */
        public Map<String, List<BigDecimal>> alerts() {
            return alerts;
        }

        private Charge charge(Usage usage, Instant at) {
            Optional<Price> price = prices.effective(subject.model(), subject.tenantId(), at);
            return price.map(p -> Charge.of(p, usage)).orElseGet(Charge::free);
        }
    }
}
