package dev.atrium.metering;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Usage summed by time bucket and by model, key or endpoint, from the ledger's records: the figures behind
 * {@code /v1/usage} and {@code /admin/usage}. Costs are summed exactly, per currency.
 */
public final class UsageReport {

    public enum Bucket {
        MINUTE(ChronoUnit.MINUTES), HOUR(ChronoUnit.HOURS), DAY(ChronoUnit.DAYS);

        private final ChronoUnit unit;

        Bucket(ChronoUnit unit) {
            this.unit = unit;
        }

        public static Optional<Bucket> fromWireName(String name) {
            return Arrays.stream(values()).filter(b -> b.name().toLowerCase(Locale.ROOT).equals(name)).findFirst();
        }
    }

    public enum GroupBy {
        MODEL(UsageRecord::model), KEY(UsageRecord::keyId), ENDPOINT(UsageRecord::endpoint),
        TENANT(record -> record.tenantId() == null ? "" : record.tenantId());

        private final Function<UsageRecord, String> key;

        GroupBy(Function<UsageRecord, String> key) {
            this.key = key;
        }

        public static Optional<GroupBy> fromWireName(String name) {
            return Arrays.stream(values()).filter(g -> g.name().toLowerCase(Locale.ROOT).equals(name)).findFirst();
        }
    }

    /**
     * One bucket of one group.
     *
     * @param errors the calls that ended in an engine or upstream failure or at their deadline
     * @param durationMillis the calls' wall time summed, from their start to their end
     */
    public record Row(Instant start, String group, long requests, long inputTokens, long outputTokens,
            long computeMillis, long audioMillis, long images, long rows, long errors, long durationMillis,
            Map<String, BigDecimal> cost) {}

    private static final java.util.Set<String> FAILURES = java.util.Set.of(Outcome.ENGINE_ERROR.wireName(),
            Outcome.UPSTREAM_ERROR.wireName(), Outcome.DEADLINE.wireName());

    private UsageReport() {}

    /**
     * @param tenantId the tenant (null: the platform's own keys), or every tenant when {@code allTenants}
     */
    public static List<Row> of(UsageLedger ledger, String tenantId, boolean allTenants, Instant from, Instant to,
            Bucket bucket, GroupBy groupBy) {
        Map<Instant, Map<String, long[]>> counts = new TreeMap<>();
        Map<Instant, Map<String, Map<String, BigDecimal>>> costs = new TreeMap<>();
        ledger.forEach(allTenants ? null : tenantId, from, to, record -> {
            if (!allTenants && tenantId == null && record.tenantId() != null) {
                return;
            }
            Instant start = record.startedAt().truncatedTo(bucket.unit);
            String group = groupBy.key.apply(record);
            long[] sums = counts.computeIfAbsent(start, s -> new TreeMap<>()).computeIfAbsent(group, g -> new long[9]);
            sums[0] += record.usage().requests();
            sums[1] += record.usage().inputTokens();
            sums[2] += record.usage().outputTokens();
            sums[3] += record.usage().computeMillis();
            sums[4] += record.usage().audioMillis();
            sums[5] += record.usage().images();
            sums[6] += record.usage().rows();
            sums[7] += FAILURES.contains(record.outcome()) ? 1 : 0;
            sums[8] += java.time.Duration.between(record.startedAt(), record.endedAt()).toMillis();
            if (record.charge().total().signum() > 0) {
                costs.computeIfAbsent(start, s -> new TreeMap<>()).computeIfAbsent(group, g -> new TreeMap<>())
                        .merge(record.charge().currency(), record.charge().total(), BigDecimal::add);
            }
        });
        List<Row> rows = new ArrayList<>();
        counts.forEach((start, groups) -> groups.forEach((group, sums) -> rows.add(new Row(start, group, sums[0],
                sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7], sums[8],
                costs.getOrDefault(start, Map.of()).getOrDefault(group, Map.of())))));
        return rows;
    }
}
