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

    public Budget {
        requireNonNull(tenantId, "tenantId is null");
        if (monthlyLimit == null || monthlyLimit.signum() < 0) {
            throw new IllegalArgumentException("monthly_limit must be a non-negative decimal");
        }
        requireNonNull(currency, "currency is null");
        alertAt = List.copyOf(alertAt);
        for (BigDecimal fraction : alertAt) {
            if (fraction.signum() <= 0 || fraction.compareTo(BigDecimal.ONE) > 0) {
                throw new IllegalArgumentException("alert fractions must be in (0, 1]");
            }
        }
        updatedAt = EpochMicros.truncate(requireNonNull(updatedAt, "updatedAt is null"));
    }

    public String scope() {
        return keyId == null ? "tenant:" + tenantId : "key:" + keyId;
    }
}
