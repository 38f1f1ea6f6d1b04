package dev.atrium.metering;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * What a request is billed by: each meter counts one part of a {@link Usage}, has a unit price in a
 * {@link Price}, and an amount in a {@link Charge}. Invoices have one line per model, meter and price.
 */
public enum Meter {
    INPUT_TOKENS("input_tokens", "1M tokens", "input_per_1m", Usage::inputTokens, 0, 6, Price::inputPer1m,
            Charge::input),
    OUTPUT_TOKENS("output_tokens", "1M tokens", "output_per_1m", Usage::outputTokens, 0, 6, Price::outputPer1m,
            Charge::output),
    REQUESTS("requests", "request", "per_request", Usage::requests, 0, 0, Price::perRequest, Charge::request),
    COMPUTE_SECONDS("compute_seconds", "second", "per_compute_second", Usage::computeMillis, 3, 0,
            Price::perComputeSecond, Charge::compute),
    AUDIO_SECONDS("audio_seconds", "second", "per_audio_second", Usage::audioMillis, 3, 0, Price::perAudioSecond,
            Charge::audio),
    IMAGES("images", "image", "per_image", Usage::images, 0, 0, Price::perImage, Charge::image),
    ROWS("rows", "row", "per_row", Usage::rows, 0, 0, Price::perRow, Charge::row);

    private final String wireName;
    private final String unit;
    private final String priceField;
    private final ToLongFunction<Usage> count;
    private final int countScale;
    private final int priceScale;
    private final Function<Price, BigDecimal> unitPrice;
    private final Function<Charge, BigDecimal> amount;

    /**
     * @param countScale the power of ten of counts in a quantity: a thousand milliseconds to the second
     * @param priceScale the power of ten of quantities a unit price is for: a million tokens
     */
    Meter(String wireName, String unit, String priceField, ToLongFunction<Usage> count, int countScale,
            int priceScale, Function<Price, BigDecimal> unitPrice, Function<Charge, BigDecimal> amount) {
        this.wireName = wireName;
        this.unit = unit;
        this.priceField = priceField;
        this.count = count;
        this.countScale = countScale;
        this.priceScale = priceScale;
        this.unitPrice = unitPrice;
        this.amount = amount;
    }

    /** The meter's name on invoices: {@code input_tokens}, {@code audio_seconds}, ... */
    public String wireName() {
        return wireName;
    }

    /** What the unit price is for: {@code 1M tokens}, {@code request}, {@code second}, {@code image}, {@code row}. */
    public String unit() {
        return unit;
    }

    /** The field of a price that holds this meter's unit price: {@code per_image}, ... */
    public String priceField() {
        return priceField;
    }

    /** How much a usage holds on this meter: tokens, requests, seconds, images or rows. */
    public BigDecimal quantity(Usage usage) {
        return BigDecimal.valueOf(count.applyAsLong(usage)).movePointLeft(countScale);
    }

    /** What a usage costs on this meter at a price, exactly. */
    BigDecimal cost(Price price, Usage usage) {
        return unitPrice.apply(price).multiply(BigDecimal.valueOf(count.applyAsLong(usage)))
                .movePointLeft(countScale + priceScale);
    }

    public BigDecimal unitPrice(Price price) {
        return unitPrice.apply(price);
    }

    public BigDecimal amount(Charge charge) {
        return amount.apply(charge);
    }

    public static Optional<Meter> fromPriceField(String field) {
        return Arrays.stream(values()).filter(meter -> meter.priceField.equals(field)).findFirst();
    }
}
