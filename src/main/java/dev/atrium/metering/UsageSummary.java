package dev.atrium.metering;

import dev.atrium.AtriumException;
import dev.atrium.server.Csv;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What {@code /v1/usage} and {@code /admin/usage} answer: usage by bucket and group over a time range, with exact
 * costs per currency and their total.
 */
public record UsageSummary(String bucket, String groupBy, Instant from, Instant to, List<Row> data,
        Map<String, String> totalCost) {

    /**
     * One bucket of one group; costs as decimal strings by currency.
     *
     * @param errors the calls that ended in an engine or upstream failure or at their deadline
     * @param durationMs the calls' wall time summed (divided by {@code requests}: their mean latency)
     */
    public record Row(Instant start, String group, long requests, long inputTokens, long outputTokens, long computeMs,
            long audioMs, long images, long rows, long errors, long durationMs, Map<String, String> cost) {}

    /**
     * @param parameter the query's parameters by name: {@code bucket} (minute, hour, day), {@code group_by}
     *     (model, key, endpoint; tenant too across tenants), {@code from} and {@code to} (default: this month)
     */
    public static UsageSummary of(UsageLedger ledger, String tenantId, boolean allTenants,
            Function<String, Optional<String>> parameter) {
        UsageReport.Bucket bucket = parameter.apply("bucket").map(text -> UsageReport.Bucket.fromWireName(text)
                        .orElseThrow(() -> AtriumException.invalidParam("bucket", "'bucket' is minute, hour or day")))
                .orElse(UsageReport.Bucket.DAY);
        UsageReport.GroupBy groupBy = parameter.apply("group_by").map(text -> UsageReport.GroupBy.fromWireName(text)
                        .filter(g -> allTenants || g != UsageReport.GroupBy.TENANT)
                        .orElseThrow(() -> AtriumException.invalidParam("group_by",
                                "'group_by' is model, key or endpoint")))
                .orElse(UsageReport.GroupBy.MODEL);
        Instant to = parameter.apply("to").map(text -> instant(text, "to")).orElse(Instant.now());
        Instant from = parameter.apply("from").map(text -> instant(text, "from"))
                .orElse(YearMonth.now(ZoneOffset.UTC).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC));
        List<UsageReport.Row> rows = UsageReport.of(ledger, tenantId, allTenants, from, to, bucket, groupBy);
        Map<String, BigDecimal> total = new TreeMap<>();
        rows.forEach(row -> row.cost().forEach((currency, amount) -> total.merge(currency, amount, BigDecimal::add)));
        return new UsageSummary(bucket.name().toLowerCase(Locale.ROOT), groupBy.name().toLowerCase(Locale.ROOT), from,
                to, rows.stream().map(row -> new Row(row.start(), row.group(), row.requests(), row.inputTokens(),
                        row.outputTokens(), row.computeMillis(), row.audioMillis(), row.images(), row.rows(),
                        row.errors(), row.durationMillis(), plain(row.cost()))).toList(), plain(total));
    }

    /**
     * The same rows as CSV (RFC 4180, UTC times): one line per bucket, group and currency of its cost (a row that
     * cost nothing has one line with an empty currency and a cost of 0).
     */
    public String toCsv() {
        StringBuilder csv = new StringBuilder("start,group,requests,input_tokens,output_tokens,compute_ms,audio_ms,"
                + "images,rows,errors,duration_ms,currency,cost\r\n");
        for (Row row : data) {
            Map<String, String> costs = row.cost().isEmpty() ? Map.of("", "0") : row.cost();
            String counts = String.join(",", Csv.field(row.group()), String.valueOf(row.requests()),
                    String.valueOf(row.inputTokens()), String.valueOf(row.outputTokens()),
                    String.valueOf(row.computeMs()), String.valueOf(row.audioMs()), String.valueOf(row.images()),
                    String.valueOf(row.rows()), String.valueOf(row.errors()), String.valueOf(row.durationMs()));
            costs.forEach((currency, cost) -> csv.append(row.start()).append(',').append(counts).append(',')
                    .append(Csv.field(currency)).append(',').append(cost).append("\r\n"));
        }
        return csv.toString();
    }

    /** Amounts by currency as exact decimal strings. */
    public static Map<String, String> plain(Map<String, BigDecimal> amounts) {
        Map<String, String> plain = new TreeMap<>();
        amounts.forEach((currency, amount) -> plain.put(currency, amount.toPlainString()));
        return plain;
    }

    private static Instant instant(String text, String name) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw AtriumException.invalidParam(name, "'" + name + "' must be an ISO-8601 instant");
        }
    }
}
