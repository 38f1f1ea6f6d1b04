package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A price of a model, for everyone or (with a tenant) as that tenant's override, in effect from a time on.
 * Amounts are exact decimals in the currency's major unit, within the bounds of {@link Decimals}.
 *
 * @param tenantId null for the model's price
 */
public record Price(long id, String model, String tenantId, BigDecimal inputPer1m, BigDecimal outputPer1m,
        BigDecimal perRequest, BigDecimal perComputeSecond, String currency, Instant effectiveFrom, Instant createdAt) {

    private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

    public Price {
        requireNonNull(model, "model is null");
        requireAmount("input_per_1m", inputPer1m);
        requireAmount("output_per_1m", outputPer1m);
        requireAmount("per_request", perRequest);
        requireAmount("per_compute_second", perComputeSecond);
        if (!isCurrency(currency)) {
            throw new IllegalArgumentException("currency must be a three-letter ISO 4217 code such as USD");
        }
        effectiveFrom = EpochMicros.truncate(requireNonNull(effectiveFrom, "effectiveFrom is null"));
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }

    /** Whether a text is a three-letter ISO 4217 code such as USD (by its form; the list is not checked). */
    public static boolean isCurrency(String text) {
        return text != null && CURRENCY.matcher(text).matches();
    }

    private static void requireAmount(String name, BigDecimal amount) {
        Decimals.requireAmount(name, amount);
    }
}
