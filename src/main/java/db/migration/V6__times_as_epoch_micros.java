package db.migration;

import dev.atrium.store.EpochMicros;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.sqlite.Function;
import org.sqlite.SQLiteConnection;

/**
 * Turns every time column from ISO-8601 text ({@code Instant.toString()}, which SQL compared as text:
 * {@code "…00.123Z" < "…00Z"}) into INTEGER microseconds since the epoch (see {@link EpochMicros}).
 *
 * <p>SQLite cannot change a column's type, so each table is rebuilt: created anew, filled from the old one (rowids
 * and ids kept, so ledger positions and AUTOINCREMENT sequences stay), dropped, renamed, its indexes made again.
 * The text is converted in Java ({@code Instant.parse}, any fraction length, nanoseconds truncated to
 * microseconds): SQLite's own date functions keep only milliseconds. A value that does not parse stops the
 * migration. Foreign keys must be off while parents are dropped (or a drop would cascade to, or be restricted by,
 * the children), and SQLite only turns them off outside a transaction; so this migration runs outside Flyway's
 * transaction and opens its own, checks every foreign key before it commits, and turns them back on.
 */
public class V6__times_as_epoch_micros extends BaseJavaMigration {
    private static final String MICROS = "atrium_epoch_micros";

    /** One table: its new definition, its columns in order, which of them are times, and its indexes. */
    private record Table(String name, String definition, List<String> columns, List<String> times,
            List<String> indexes) {}

    private static final List<Table> TABLES = List.of(
            new Table("models", """
                    (
                        id           INTEGER PRIMARY KEY AUTOINCREMENT,
                        owner        TEXT    NOT NULL DEFAULT '',
                        name         TEXT    NOT NULL,
                        task         TEXT    NOT NULL,
                        engine       TEXT    NOT NULL,
                        description  TEXT    NOT NULL DEFAULT '',
                        created_at   INTEGER NOT NULL,
                        next_version INTEGER NOT NULL DEFAULT 1,
                        UNIQUE (owner, name)
                    )""",
                    List.of("id", "owner", "name", "task", "engine", "description", "created_at", "next_version"),
                    List.of("created_at"), List.of()),
            new Table("model_versions", """
                    (
                        model_id   INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
                        version    INTEGER NOT NULL,
                        metadata   TEXT    NOT NULL,
                        config     TEXT    NOT NULL,
                        created_at INTEGER NOT NULL,
                        scheduling TEXT    NOT NULL DEFAULT '{}',
                        PRIMARY KEY (model_id, version)
                    )""",
                    List.of("model_id", "version", "metadata", "config", "created_at", "scheduling"),
                    List.of("created_at"), List.of()),
            new Table("model_aliases", """
                    (
                        model_id   INTEGER NOT NULL,
                        alias      TEXT    NOT NULL,
                        version    INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (model_id, alias),
                        FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE RESTRICT
                    )""",
                    List.of("model_id", "alias", "version", "updated_at"), List.of("updated_at"), List.of()),
            new Table("tenants", """
                    (
                        id             TEXT PRIMARY KEY,
                        name           TEXT NOT NULL UNIQUE,
                        rpm            INTEGER,
                        tpm            INTEGER,
                        max_concurrent INTEGER,
                        created_at     INTEGER NOT NULL,
                        deleted_at     INTEGER
                    )""",
                    List.of("id", "name", "rpm", "tpm", "max_concurrent", "created_at", "deleted_at"),
                    List.of("created_at", "deleted_at"), List.of()),
            new Table("api_keys", """
                    (
                        id             TEXT PRIMARY KEY,
                        tenant_id      TEXT REFERENCES tenants (id),
                        role           TEXT NOT NULL,
                        name           TEXT NOT NULL,
                        prefix         TEXT NOT NULL,
                        secret_sha256  TEXT NOT NULL UNIQUE,
                        models         TEXT,
                        rpm            INTEGER,
                        tpm            INTEGER,
                        max_concurrent INTEGER,
                        expires_at     INTEGER,
                        created_at     INTEGER NOT NULL,
                        last_used_at   INTEGER,
                        revoked_at     INTEGER
                    )""",
                    List.of("id", "tenant_id", "role", "name", "prefix", "secret_sha256", "models", "rpm", "tpm",
                            "max_concurrent", "expires_at", "created_at", "last_used_at", "revoked_at"),
                    List.of("expires_at", "created_at", "last_used_at", "revoked_at"),
                    List.of("CREATE INDEX api_keys_tenant ON api_keys (tenant_id)")),
            new Table("audit_log", """
                    (
                        id             INTEGER PRIMARY KEY AUTOINCREMENT,
                        time           INTEGER NOT NULL,
                        actor_key_id   TEXT,
                        actor_prefix   TEXT,
                        tenant_id      TEXT,
                        action         TEXT NOT NULL,
                        target         TEXT,
                        source_address TEXT,
                        outcome        TEXT NOT NULL,
                        status         INTEGER NOT NULL
                    )""",
                    List.of("id", "time", "actor_key_id", "actor_prefix", "tenant_id", "action", "target",
                            "source_address", "outcome", "status"),
                    List.of("time"), List.of("CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, time)")),
            new Table("prices", """
                    (
                        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
                        model              TEXT NOT NULL,
                        tenant_id          TEXT,
                        input_per_1m       TEXT NOT NULL,
                        output_per_1m      TEXT NOT NULL,
                        per_request        TEXT NOT NULL,
                        per_compute_second TEXT NOT NULL,
                        currency           TEXT NOT NULL,
                        effective_from     INTEGER NOT NULL,
                        created_at         INTEGER NOT NULL
                    )""",
                    List.of("id", "model", "tenant_id", "input_per_1m", "output_per_1m", "per_request",
                            "per_compute_second", "currency", "effective_from", "created_at"),
                    List.of("effective_from", "created_at"),
                    List.of("CREATE INDEX prices_model ON prices (model, tenant_id, effective_from)")),
            new Table("usage_records", """
                    (
                        request_id         TEXT PRIMARY KEY,
                        client_request_id  TEXT,
                        started_at         INTEGER NOT NULL,
                        ended_at           INTEGER NOT NULL,
                        tenant_id          TEXT,
                        key_id             TEXT NOT NULL,
                        model              TEXT NOT NULL,
                        version            INTEGER NOT NULL,
                        endpoint           TEXT NOT NULL,
                        outcome            TEXT NOT NULL,
                        input_tokens       INTEGER NOT NULL,
                        output_tokens      INTEGER NOT NULL,
                        requests           INTEGER NOT NULL,
                        compute_ms         INTEGER NOT NULL,
                        price_id           INTEGER,
                        currency           TEXT NOT NULL,
                        input_charge       TEXT NOT NULL,
                        output_charge      TEXT NOT NULL,
                        request_charge     TEXT NOT NULL,
                        compute_charge     TEXT NOT NULL,
                        charge             TEXT NOT NULL
                    )""",
                    List.of("request_id", "client_request_id", "started_at", "ended_at", "tenant_id", "key_id", "model",
                            "version", "endpoint", "outcome", "input_tokens", "output_tokens", "requests", "compute_ms",
                            "price_id", "currency", "input_charge", "output_charge", "request_charge", "compute_charge",
                            "charge"),
                    List.of("started_at", "ended_at"),
                    List.of("CREATE INDEX usage_records_tenant_time ON usage_records (tenant_id, started_at)",
                            "CREATE INDEX usage_records_key_time ON usage_records (key_id, started_at)",
                            "CREATE INDEX usage_records_client_id ON usage_records (client_request_id)")),
            new Table("budgets", """
                    (
                        scope          TEXT PRIMARY KEY,
                        tenant_id      TEXT NOT NULL,
                        monthly_limit  TEXT NOT NULL,
                        currency       TEXT NOT NULL,
                        alert_at       TEXT NOT NULL,
                        updated_at     INTEGER NOT NULL
                    )""",
                    List.of("scope", "tenant_id", "monthly_limit", "currency", "alert_at", "updated_at"),
                    List.of("updated_at"), List.of()),
            new Table("upstream_hosts", """
                    (
                        host       TEXT PRIMARY KEY,
                        created_at INTEGER NOT NULL
                    )""",
                    List.of("host", "created_at"), List.of("created_at"), List.of()));

    @Override
    public boolean canExecuteInTransaction() {
        return false;
    }

    @Override
    public void migrate(Context context) throws Exception {
        Connection connection = context.getConnection();
        SQLiteConnection sqlite = connection.unwrap(SQLiteConnection.class);
        boolean autoCommit = connection.getAutoCommit();
        try (Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA foreign_keys = OFF");
            try (ResultSet rs = statement.executeQuery("PRAGMA foreign_keys")) {
                if (!rs.next() || rs.getInt(1) != 0) {
                    throw new SQLException("foreign keys could not be turned off to rebuild the tables");
                }
            }
            Function.create(sqlite, MICROS, new EpochMicrosOfText(), 1, Function.FLAG_DETERMINISTIC);
            try {
                connection.setAutoCommit(false);
                for (Table table : TABLES) {
                    rebuild(statement, table);
                }
                try (ResultSet violations = statement.executeQuery("PRAGMA foreign_key_check")) {
                    if (violations.next()) {
                        throw new SQLException("a foreign key of table " + violations.getString(1)
                                + " no longer holds after rebuilding the tables");
                    }
                }
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(autoCommit);
                Function.destroy(sqlite, MICROS, 1);
            }
        } finally {
            try (Statement statement = connection.createStatement()) {
                statement.execute("PRAGMA foreign_keys = ON");
            }
        }
    }

    private static void rebuild(Statement statement, Table table) throws SQLException {
        String rebuilt = "rebuilt_" + table.name();
        long sequence = -1;
        try (ResultSet rs = statement.executeQuery(
                "SELECT seq FROM sqlite_sequence WHERE name = '" + table.name() + "'")) {
            if (rs.next()) {
                sequence = rs.getLong(1);
            }
        }
        statement.execute("CREATE TABLE " + rebuilt + " " + table.definition());
        String columns = String.join(", ", table.columns());
        String values = String.join(", ", table.columns().stream()
                .map(column -> table.times().contains(column) ? MICROS + "(" + column + ")" : column)
                .toList());
        // an INTEGER PRIMARY KEY is the rowid, kept by copying it; other tables keep their rowids explicitly
        String rowid = table.definition().contains("INTEGER PRIMARY KEY") ? "" : "rowid, ";
        statement.execute("INSERT INTO " + rebuilt + " (" + rowid + columns + ") SELECT " + rowid + values
                + " FROM " + table.name());
        statement.execute("DROP TABLE " + table.name());
        statement.execute("ALTER TABLE " + rebuilt + " RENAME TO " + table.name());
        if (sequence >= 0) {
            // ids of deleted rows are never handed out again, as before the rebuild
            statement.execute("UPDATE sqlite_sequence SET seq = max(seq, " + sequence + ") WHERE name = '"
                    + table.name() + "'");
            if (statement.getUpdateCount() == 0) {
                statement.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('" + table.name() + "', "
                        + sequence + ")");
            }
        }
        for (String index : table.indexes()) {
            statement.execute(index);
        }
    }

    /** {@code atrium_epoch_micros(text)}: an {@code Instant.toString()} as epoch microseconds; NULL stays NULL. */
    private static final class EpochMicrosOfText extends Function {
        private static final int SQLITE_NULL = 5;

        @Override
        protected void xFunc() throws SQLException {
            if (value_type(0) == SQLITE_NULL) {
                result();
                return;
            }
            String text = value_text(0);
            try {
                result(EpochMicros.of(Instant.parse(text)));
            } catch (DateTimeParseException | IllegalArgumentException e) {
                error("'" + text + "' is not a time this migration can convert: " + e.getMessage());
            }
        }
    }
}
