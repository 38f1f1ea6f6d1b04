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
        BigDecimal perRequest, BigDecimal perComputeSecond, BigDecimal perAudioSecond, BigDecimal perImage,
        BigDecimal perRow, String currency, Instant effectiveFrom, Instant createdAt) {

    private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

    public Price {
        requireNonNull(model, "model is null");
        requireAmount("input_per_1m", inputPer1m);
        requireAmount("output_per_1m", outputPer1m);
        requireAmount("per_request", perRequest);
        requireAmount("per_compute_second", perComputeSecond);
        requireAmount("per_audio_second", perAudioSecond);
        requireAmount("per_image", perImage);
        requireAmount("per_row", perRow);
        if (!isCurrency(currency)) {
            throw new IllegalArgumentException("currency must be a three-letter ISO 4217 code such as USD");
        }
        effectiveFrom = EpochMicros.truncate(requireNonNull(effectiveFrom, "effectiveFrom is null"));
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }

    /** A price of tokens, requests and compute only (nothing per audio second, image or row). */
    public Price(long id, String model, String tenantId, BigDecimal inputPer1m, BigDecimal outputPer1m,
            BigDecimal perRequest, BigDecimal perComputeSecond, String currency, Instant effectiveFrom,
            Instant createdAt) {
        this(id, model, tenantId, inputPer1m, outputPer1m, perRequest, perComputeSecond, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO, currency, effectiveFrom, createdAt);
    }

    /** A price from its unit prices by meter (absent meters cost nothing). */
    public static Price of(long id, String model, String tenantId, java.util.Map<Meter, BigDecimal> unitPrices,
            String currency, Instant effectiveFrom, Instant createdAt) {
        java.util.function.Function<Meter, BigDecimal> unit = meter -> unitPrices.getOrDefault(meter, BigDecimal.ZERO);
        return new Price(id, model, tenantId, unit.apply(Meter.INPUT_TOKENS), unit.apply(Meter.OUTPUT_TOKENS),
                unit.apply(Meter.REQUESTS), unit.apply(Meter.COMPUTE_SECONDS), unit.apply(Meter.AUDIO_SECONDS),
                unit.apply(Meter.IMAGES), unit.apply(Meter.ROWS), currency, effectiveFrom, createdAt);
    }

    /** The unit prices by meter, every meter in order. */
    public java.util.Map<Meter, BigDecimal> unitPrices() {
        java.util.Map<Meter, BigDecimal> prices = new java.util.EnumMap<>(Meter.class);
        for (Meter meter : Meter.values()) {
            prices.put(meter, meter.unitPrice(this));
        }
        return prices;
    }

    /** The same price with another id. */
    Price withId(long newId) {
        return of(newId, model, tenantId, unitPrices(), currency, effectiveFrom, createdAt);
    }

    /** Whether a text is a three-letter ISO 4217 code such as USD (by its form; the list is not checked). */
    public static boolean isCurrency(String text) {
        return text != null && CURRENCY.matcher(text).matches();
    }

    private static void requireAmount(String name, BigDecimal amount) {
        Decimals.requireAmount(name, amount);
    }
}
