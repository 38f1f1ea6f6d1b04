package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;

/**
 * What a request costs, meter by meter, computed exactly (no rounding) from a price and a usage.
 *
 * @param priceId the price used, or null when the model had none (a free charge)
 */
public record Charge(String currency, Long priceId, BigDecimal input, BigDecimal output, BigDecimal request,
        BigDecimal compute) {

    /** ISO 4217's code for "no currency", for requests to a model without a price. */
    public static final String NO_CURRENCY = "XXX";

    public Charge {
        requireNonNull(currency, "currency is null");
        requireNonNull(input, "input is null");
        requireNonNull(output, "output is null");
        requireNonNull(request, "request is null");
        requireNonNull(compute, "compute is null");
    }

    public static Charge of(Price price, Usage usage) {
        return new Charge(price.currency(), price.id(),
                price.inputPer1m().multiply(BigDecimal.valueOf(usage.inputTokens())).movePointLeft(6),
                price.outputPer1m().multiply(BigDecimal.valueOf(usage.outputTokens())).movePointLeft(6),
                price.perRequest().multiply(BigDecimal.valueOf(usage.requests())),
                price.perComputeSecond().multiply(BigDecimal.valueOf(usage.computeMillis())).movePointLeft(3));
    }

    public static Charge free() {
        return new Charge(NO_CURRENCY, null, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);
    }

    public BigDecimal total() {
        return input.add(output).add(request).add(compute);
    }
}
