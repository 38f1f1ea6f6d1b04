package dev.atrium.metering;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A tenant's invoice for a calendar month (UTC): one line per model, meter and unit price, each line's amount
 * the exact sum of the records behind it, and a subtotal per currency. Records of models without a price cost
 * nothing and make no line.
 */
public record Invoice(String tenantId, YearMonth month, List<Line> lines, Map<String, BigDecimal> subtotals) {

    /**
     * @param meter a {@link Meter}'s wire name: {@code input_tokens}, {@code compute_seconds}, {@code images}, ...
     * @param unit what the unit price is for: {@code 1M tokens}, {@code request}, {@code second}, {@code image}
     */
    public record Line(String model, String meter, BigDecimal quantity, String unit, BigDecimal unitPrice,
            String currency, BigDecimal amount) {}

    public static Invoice of(UsageLedger ledger, PriceBook prices, String tenantId, YearMonth month) {
        Instant from = month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
        Instant to = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
        Map<Long, Price> byId = prices.list(java.util.Optional.empty(), java.util.Optional.empty()).stream()
                .collect(Collectors.toMap(Price::id, price -> price));
        Map<String, Line> lines = new TreeMap<>();
        ledger.forEach(tenantId, from, to, record -> {
            Charge charge = record.charge();
            if (charge.priceId() == null) {
                return;
            }
            Price price = byId.get(charge.priceId());
            for (Meter meter : Meter.values()) {
                add(lines, record.model(), meter, meter.quantity(record.usage()), meter.unitPrice(price),
                        charge.currency(), meter.amount(charge), price.id());
            }
        });
        List<Line> billed = new ArrayList<>(lines.values());
        Map<String, BigDecimal> subtotals = new TreeMap<>();
        for (Line line : billed) {
            subtotals.merge(line.currency(), line.amount(), BigDecimal::add);
        }
        return new Invoice(tenantId, month, billed, subtotals);
    }

    private static void add(Map<String, Line> lines, String model, Meter meter, BigDecimal quantity,
            BigDecimal unitPrice, String currency, BigDecimal amount, long priceId) {
        if (unitPrice.signum() == 0) {
            return;
        }
        String key = model + "|" + String.format("%02d", meter.ordinal()) + "|" + String.format("%020d", priceId);
        lines.merge(key, new Line(model, meter.wireName(), quantity, meter.unit(), unitPrice, currency, amount),
                (a, b) -> new Line(model, meter.wireName(), a.quantity().add(b.quantity()), meter.unit(), unitPrice,
                        currency, a.amount().add(b.amount())));
    }

    /** The invoice as CSV: a header, one row per line, one subtotal row per currency. */
    public String toCsv() {
        StringBuilder csv = new StringBuilder("model,meter,quantity,unit,unit_price,currency,amount\n");
        for (Line line : lines) {
            csv.append(line.model()).append(',').append(line.meter()).append(',')
                    .append(line.quantity().toPlainString()).append(',').append(line.unit()).append(',')
                    .append(line.unitPrice().toPlainString()).append(',').append(line.currency()).append(',')
                    .append(line.amount().toPlainString()).append('\n');
        }
        subtotals.forEach((currency, amount) -> csv.append("subtotal,,,,,").append(currency).append(',')
                .append(amount.toPlainString()).append('\n'));
        return csv.toString();
    }
}
