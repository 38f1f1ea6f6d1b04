package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.testing.Stores;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage by bucket and group counts every call once, the failed ones among them (an engine or upstream failure, a
 * deadline; not a client that went away), and sums the calls' wall time, so that a bucket's error rate and mean
 * latency follow from its row.
 */
class UsageReportTest {
    private static final String TENANT = "ten_report";
    private static final Instant MINUTE = Instant.parse("2026-12-03T07:00:00Z");

    @TempDir
    Path directory;

    private Database database;
    private UsageLedger ledger;

    @BeforeEach
    void open() {
        database = Stores.open(Dialect.SQLITE, directory);
        ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
    }

    @AfterEach
    void close() {
        ledger.close();
        database.close();
    }

    @Test
    void rows_countFailuresByOutcome_andSumWallTime() {
        record("a", "m1", MINUTE.plusSeconds(1), 40, Outcome.OK);
        record("b", "m1", MINUTE.plusSeconds(2), 100, Outcome.ENGINE_ERROR);
        record("c", "m1", MINUTE.plusSeconds(3), 7, Outcome.UPSTREAM_ERROR);
        record("d", "m1", MINUTE.plusSeconds(4), 3000, Outcome.DEADLINE);
        record("e", "m1", MINUTE.plusSeconds(5), 12, Outcome.CLIENT_CANCELLED);
        record("f", "m2", MINUTE.plusSeconds(6), 9, Outcome.OK);
        record("g", "m1", MINUTE.plusSeconds(61), 5, Outcome.OK);

        List<UsageReport.Row> rows = UsageReport.of(ledger, TENANT, false, MINUTE, MINUTE.plusSeconds(120),
                UsageReport.Bucket.MINUTE, UsageReport.GroupBy.MODEL);

        assertThat(rows).extracting(UsageReport.Row::start, UsageReport.Row::group, UsageReport.Row::requests,
                        UsageReport.Row::errors, UsageReport.Row::durationMillis)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(MINUTE, "m1", 5L, 3L, 3159L),
                        org.assertj.core.groups.Tuple.tuple(MINUTE, "m2", 1L, 0L, 9L),
                        org.assertj.core.groups.Tuple.tuple(MINUTE.plusSeconds(60), "m1", 1L, 0L, 5L));
        UsageSummary summary = UsageSummary.of(ledger, TENANT, false, name -> java.util.Optional.ofNullable(Map.of(
                "bucket", "minute", "from", MINUTE.toString(), "to", MINUTE.plusSeconds(120).toString()).get(name)));
        assertThat(summary.data().getFirst().errors()).isEqualTo(3);
        assertThat(summary.data().getFirst().durationMs()).isEqualTo(3159);
    }

    private void record(String id, String model, Instant startedAt, long millis, Outcome outcome) {
        Usage usage = new Usage(3, 0, 1, 0);
        ledger.record(new UsageRecord(id, null, startedAt, startedAt.plusMillis(millis), TENANT, "key_report", model,
                1, "/v1/embeddings", outcome.wireName(), usage, Charge.free()));
    }
}
