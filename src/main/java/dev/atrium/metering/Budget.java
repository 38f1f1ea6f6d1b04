package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/**
 * A monthly spending limit (calendar month, UTC) of a tenant, or of one of its keys.
 *
 * @param keyId null for the tenant's budget
 * @param alertAt fractions of the limit at which to warn, each in (0, 1]
 */
public record Budget(String tenantId, String keyId, BigDecimal monthlyLimit, String currency, List<BigDecimal> alertAt,
        Instant updatedAt) {

    /** Alert fractions a budget may have. */
    public static final int MAX_ALERTS = 10;

    public Budget {
        requireNonNull(tenantId, "tenantId is null");
        Decimals.requireAmount("monthly_limit", monthlyLimit);
        // not checked as a code here: older versions stored any text, and such a budget must still read (a
        // budget in a currency no price has refuses every priced request); Budgets.set checks new ones
        requireNonNull(currency, "currency is null");
        alertAt = List.copyOf(alertAt);
        if (alertAt.size() > MAX_ALERTS) {
            throw new IllegalArgumentException("a budget has at most " + MAX_ALERTS + " alert fractions");
        }
        for (BigDecimal fraction : alertAt) {
            if (!Decimals.withinBounds(fraction) || fraction.signum() <= 0 || fraction.compareTo(BigDecimal.ONE) > 0) {
                throw new IllegalArgumentException("alert fractions must be in (0, 1], with at most "
                        + Decimals.MAX_FRACTION_DIGITS + " digits after the point");
            }
        }
        updatedAt = EpochMicros.truncate(requireNonNull(updatedAt, "updatedAt is null"));
    }

    public String scope() {
        return keyId == null ? "tenant:" + tenantId : "key:" + keyId;
    }
}
