package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditQuery;
import dev.atrium.metering.PriceBook;
import dev.atrium.metering.RecordQuery;
import dev.atrium.metering.UsageLedger;
import dev.atrium.metering.UsageRecord;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.registry.UpstreamHosts;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/** V6 turns the text times of a store at V5 into epoch microseconds, exactly, and keeps every row and link. */
class TimeMigrationTest {
    /** Times as {@code Instant.toString()} wrote them, with fractions of 0, 3, 6 and 9 digits. */
    private static final List<String> TEXTS = List.of("2026-11-30T23:59:59Z", "2026-11-30T23:59:59.999Z",
            "2026-11-30T23:59:59.999999Z", "2026-11-30T23:59:59.999999999Z");
    private static final Map<String, Long> MICROS = Map.of(
            "2026-11-30T23:59:59Z", 1_796_083_199_000_000L,
            "2026-11-30T23:59:59.999Z", 1_796_083_199_999_000L,
            "2026-11-30T23:59:59.999999Z", 1_796_083_199_999_999L,
            // nanoseconds are truncated to the microsecond
            "2026-11-30T23:59:59.999999999Z", 1_796_083_199_999_999L);

    @TempDir
    Path directory;

    @Test
    void migrate_textTimesWithFractionsOfEveryLength_readBackAsTheExactInstants() {
        Path file = directory.resolve("atrium.db");
        Jdbi v5 = storeAtVersion5(file);
        v5.useHandle(handle -> {
            for (int i = 0; i < TEXTS.size(); i++) {
                insertRowsAtV5(handle, i, TEXTS.get(i));
            }
            // a deleted price: its id must not be handed out again after the rebuild
            handle.execute("DELETE FROM prices WHERE id = 4");
        });

        try (Database database = Database.openSqlite(file)) {
            Jdbi jdbi = database.jdbi();
            for (int i = 0; i < TEXTS.size(); i++) {
                long expected = MICROS.get(TEXTS.get(i));
                String tenant = "ten_" + i;
                String key = "key_" + i;
                assertThat(integer(jdbi, "SELECT started_at FROM usage_records WHERE request_id = 'req_" + i + "'"))
                        .isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT ended_at FROM usage_records WHERE request_id = 'req_" + i + "'"))
                        .isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT created_at FROM models WHERE id = " + (i + 1))).isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT created_at FROM model_versions WHERE model_id = " + (i + 1)))
                        .isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT updated_at FROM model_aliases WHERE model_id = " + (i + 1)))
                        .isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT created_at FROM tenants WHERE id = '" + tenant + "'")).isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT deleted_at FROM tenants WHERE id = '" + tenant + "'")).isEqualTo(expected);
                for (String column : List.of("expires_at", "created_at", "last_used_at", "revoked_at")) {
                    assertThat(integer(jdbi, "SELECT " + column + " FROM api_keys WHERE id = '" + key + "'"))
                            .as(column).isEqualTo(expected);
                }
                assertThat(integer(jdbi, "SELECT time FROM audit_log WHERE id = " + (i + 1))).isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT updated_at FROM budgets WHERE scope = 'tenant:" + tenant + "'"))
                        .isEqualTo(expected);
                assertThat(integer(jdbi, "SELECT created_at FROM upstream_hosts WHERE host = 'host" + i + ".example'"))
                        .isEqualTo(expected);
                if (i != 3) {
                    assertThat(integer(jdbi, "SELECT effective_from FROM prices WHERE id = " + (i + 1)))
                            .isEqualTo(expected);
                    assertThat(integer(jdbi, "SELECT created_at FROM prices WHERE id = " + (i + 1))).isEqualTo(expected);
                }
            }
            // the columns are INTEGER now, and the values stored as integers
            assertThat(strings(jdbi, "SELECT DISTINCT typeof(started_at) FROM usage_records"))
                    .containsExactly("integer");

            // through the stores: the instants, truncated to the microsecond
            UsageLedger ledger = new UsageLedger(jdbi, new AtriumMetrics());
            try {
                List<UsageLedger.Positioned> records = ledger.records(new RecordQuery(Optional.empty(),
                        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                        Optional.empty(), 10));
                // rowids (the records' positions, used for paging) are kept
                assertThat(records).extracting(UsageLedger.Positioned::position).containsExactly(4L, 3L, 2L, 1L);
                assertThat(records).extracting(positioned -> positioned.record().startedAt()).containsExactly(
                        Instant.parse("2026-11-30T23:59:59.999999Z"), Instant.parse("2026-11-30T23:59:59.999999Z"),
                        Instant.parse("2026-11-30T23:59:59.999Z"), Instant.parse("2026-11-30T23:59:59Z"));
                List<UsageRecord> inOrder = new java.util.ArrayList<>();
                ledger.forEach(null, Instant.parse("2026-11-30T23:59:59Z"), Instant.parse("2026-12-01T00:00:00Z"),
                        inOrder::add);
                assertThat(inOrder).extracting(UsageRecord::requestId).containsExactly("req_0", "req_1", "req_2", "req_3");
            } finally {
                ledger.close();
            }
            PriceBook prices = new PriceBook(jdbi, Clock.systemUTC());
            assertThat(prices.list(Optional.empty(), Optional.empty())).extracting(price -> price.effectiveFrom())
                    .containsExactly(Instant.parse("2026-11-30T23:59:59Z"), Instant.parse("2026-11-30T23:59:59.999Z"),
                            Instant.parse("2026-11-30T23:59:59.999999Z"));
            assertThat(prices.set("m", null, java.math.BigDecimal.ONE, java.math.BigDecimal.ONE,
                    java.math.BigDecimal.ZERO, java.math.BigDecimal.ZERO, "USD", Optional.empty()).id()).isEqualTo(5);
            try (AuditLog audit = new AuditLog(jdbi)) {
                assertThat(audit.query(new AuditQuery(Optional.empty(), Optional.empty(), Optional.empty(),
                        Optional.empty(), Optional.empty(), Optional.empty(), 10)))
                        .extracting(AuditEvent::time).containsExactly(Instant.parse("2026-11-30T23:59:59.999999Z"),
                                Instant.parse("2026-11-30T23:59:59.999999Z"), Instant.parse("2026-11-30T23:59:59.999Z"),
                                Instant.parse("2026-11-30T23:59:59Z"));
            }
            assertThat(new UpstreamHosts(jdbi, Clock.systemUTC()).list()).extracting(UpstreamHosts.UpstreamHost::createdAt)
                    .containsExactly(Instant.parse("2026-11-30T23:59:59Z"), Instant.parse("2026-11-30T23:59:59.999Z"),
                            Instant.parse("2026-11-30T23:59:59.999999Z"), Instant.parse("2026-11-30T23:59:59.999999Z"));

            // children of rebuilt parents are all still there, and foreign keys are enforced again
            assertThat(integer(jdbi, "SELECT COUNT(*) FROM model_version_files")).isEqualTo(4);
            assertThat(integer(jdbi, "SELECT COUNT(*) FROM model_version_secrets")).isEqualTo(4);
            assertThat(integer(jdbi, "PRAGMA foreign_keys")).isEqualTo(1);
            jdbi.useHandle(handle -> handle.execute("DELETE FROM model_aliases"));
            jdbi.useHandle(handle -> handle.execute("DELETE FROM models WHERE id = 1"));
            assertThat(integer(jdbi, "SELECT COUNT(*) FROM model_version_files")).isEqualTo(3);
            // and the indexes of the rebuilt tables are kept (later migrations add their own)
            assertThat(strings(jdbi,
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
                    .contains("api_keys_tenant", "audit_log_source_time", "audit_log_tenant_time", "flyway_schema_history_s_idx", "model_version_files_sha256",
                            "prices_model", "usage_records_client_id", "usage_records_key_time",
                            "usage_records_tenant_time");
        }
    }

    private static Jdbi storeAtVersion5(Path file) {
        SQLiteConfig config = new SQLiteConfig();
        config.enforceForeignKeys(true);
        SQLiteDataSource source = new SQLiteDataSource(config);
        source.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
        Flyway.configure().dataSource(source).locations("classpath:db/migration").target("5").load().migrate();
        return Jdbi.create(source);
    }

    private static void insertRowsAtV5(Handle handle, int i, String time) {
        int model = i + 1;
        String tenant = "ten_" + i;
        handle.createUpdate("INSERT INTO models (id, name, task, engine, created_at) VALUES (:id, :name, 'embedding',"
                + " 'onnx', :time)").bind("id", model).bind("name", "model-" + i).bind("time", time).execute();
        handle.createUpdate("INSERT INTO model_versions (model_id, version, metadata, config, created_at)"
                + " VALUES (:id, 1, '{}', '{}', :time)").bind("id", model).bind("time", time).execute();
        handle.createUpdate("INSERT INTO model_version_files (model_id, version, role, sha256, size_bytes)"
                + " VALUES (:id, 1, 'onnx', 'abc', 1)").bind("id", model).execute();
        handle.createUpdate("INSERT INTO model_version_secrets (model_id, version, ciphertext) VALUES (:id, 1, 'x')")
                .bind("id", model).execute();
        handle.createUpdate("INSERT INTO model_aliases (model_id, alias, version, updated_at) VALUES (:id, 'prod', 1,"
                + " :time)").bind("id", model).bind("time", time).execute();
        handle.createUpdate("INSERT INTO tenants (id, name, created_at, deleted_at) VALUES (:id, :id, :time, :time)")
                .bind("id", tenant).bind("time", time).execute();
        handle.createUpdate("""
                INSERT INTO api_keys (id, tenant_id, role, name, prefix, secret_sha256, expires_at, created_at,
                                      last_used_at, revoked_at)
                VALUES (:id, :tenant, 'member', 'k', 'ak-', :id, :time, :time, :time, :time)""")
                .bind("id", "key_" + i).bind("tenant", tenant).bind("time", time).execute();
        handle.createUpdate("INSERT INTO audit_log (time, action, outcome, status) VALUES (:time, 'a', 'ok', 200)")
                .bind("time", time).execute();
        handle.createUpdate("""
                INSERT INTO prices (model, input_per_1m, output_per_1m, per_request, per_compute_second, currency,
                                    effective_from, created_at)
                VALUES ('m', '1', '1', '0', '0', 'USD', :time, :time)""").bind("time", time).execute();
        handle.createUpdate("""
                INSERT INTO usage_records (request_id, started_at, ended_at, key_id, model, version, endpoint, outcome,
                    input_tokens, output_tokens, requests, compute_ms, currency, input_charge, output_charge,
                    request_charge, compute_charge, charge)
                VALUES (:id, :time, :time, 'key', 'm', 1, 'embeddings', 'ok', 1, 0, 1, 1, 'XXX', '0', '0', '0', '0',
                        '0')""").bind("id", "req_" + i).bind("time", time).execute();
        handle.createUpdate("INSERT INTO budgets (scope, tenant_id, monthly_limit, currency, alert_at, updated_at)"
                + " VALUES (:scope, :tenant, '10', 'USD', '[]', :time)")
                .bind("scope", "tenant:" + tenant).bind("tenant", tenant).bind("time", time).execute();
        handle.createUpdate("INSERT INTO upstream_hosts (host, created_at) VALUES (:host, :time)")
                .bind("host", "host" + i + ".example").bind("time", time).execute();
    }

    private static List<String> strings(Jdbi jdbi, String sql) {
        return jdbi.withHandle(handle -> handle.createQuery(sql).mapTo(String.class).list());
    }

    private static long integer(Jdbi jdbi, String sql) {
        return jdbi.withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }
}
