package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;

/**
 * What a request costs, meter by meter ({@link Meter}), computed exactly (no rounding) from a price and a usage.
 *
 * @param priceId the price used, or null when the model had none (a free charge)
 */
public record Charge(String currency, Long priceId, BigDecimal input, BigDecimal output, BigDecimal request,
        BigDecimal compute, BigDecimal audio, BigDecimal image, BigDecimal row) {

    /** ISO 4217's code for "no currency", for requests to a model without a price. */
    public static final String NO_CURRENCY = "XXX";

    public Charge {
        requireNonNull(currency, "currency is null");
        requireNonNull(input, "input is null");
        requireNonNull(output, "output is null");
        requireNonNull(request, "request is null");
        requireNonNull(compute, "compute is null");
        requireNonNull(audio, "audio is null");
        requireNonNull(image, "image is null");
        requireNonNull(row, "row is null");
    }

    public static Charge of(Price price, Usage usage) {
        return new Charge(price.currency(), price.id(), Meter.INPUT_TOKENS.cost(price, usage),
                Meter.OUTPUT_TOKENS.cost(price, usage), Meter.REQUESTS.cost(price, usage),
                Meter.COMPUTE_SECONDS.cost(price, usage), Meter.AUDIO_SECONDS.cost(price, usage),
                Meter.IMAGES.cost(price, usage), Meter.ROWS.cost(price, usage));
    }

    public static Charge free() {
        BigDecimal zero = BigDecimal.ZERO;
        return new Charge(NO_CURRENCY, null, zero, zero, zero, zero, zero, zero, zero);
    }

    public BigDecimal total() {
        return input.add(output).add(request).add(compute).add(audio).add(image).add(row);
    }
}
