package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.cli.AtriumCommand;
import dev.atrium.testing.Http;
import dev.atrium.testing.PostgresServer;
import dev.atrium.testing.Stores;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;

/**
 * {@code atrium store migrate}: a data directory filled by a real server on SQLite is copied into PostgreSQL, and a
 * server on the copy serves the same keys, usage, budgets, files and models; a target that holds data, a row the
 * target rejects mid-copy and a wrong password each fail cleanly and leave the target as it was.
 */
class StoreMigrationTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static final String TRAINING_FILE = "text,label\nhello there,greeting\nfarewell now,parting\n";

    /** The data directory as a server on SQLite left it, and what that server answered before it stopped. */
    private record Before(Path dataDir, String tenant, Tenants.Key member, String fileId, JsonNode invoice,
            BigDecimal spent, String signingKey, long records) {}

    @TempDir
    static Path dataDir;
    private static Before before;

    @TempDir
    Path scratch;

    @BeforeAll
    static void fillADataDirectoryOnSqlite() throws Exception {
        try (TestServer server = TestServer.start(dataDir, Map.of("store", "sqlite"), Map.of())) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("migrated");
            Tenants.Key member = tenants.key(tenant, "member");
            Http asMember = admin.withKey(member.secret());
            assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", tenant, "per_request", "1.00",
                    "currency", "USD")).status()).isEqualTo(201);
            Http.Reply budget = admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "5",
                    "currency", "USD", "alert_at", List.of("0.8")));
            assertThat(budget.status()).as(budget.toString()).isEqualTo(200);
            for (int i = 0; i < 3; i++) {
                Http.Reply embedded = asMember.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "row " + i));
                assertThat(embedded.status()).as(embedded.toString()).isEqualTo(200);
            }
            assertThat(admin.putJson("/admin/models/" + MODEL + "/aliases/production", Map.of("version", 1)).status())
                    .isEqualTo(200);
            Http.Reply file = asMember.uploadTrainingFile("greetings.csv", TRAINING_FILE);
            assertThat(file.status()).as(file.toString()).isIn(200, 201);
            Http.Reply signingKey = admin.get("/admin/signing-key");
            assertThat(signingKey.status()).as(signingKey.toString()).isEqualTo(200);
            before = new Before(dataDir, tenant, member, file.json().path("id").asString(), invoice(admin, tenant),
                    spent(admin, tenant), signingKey.text(), records(admin, tenant));
        }
        assertThat(before.spent()).isEqualByComparingTo("3");
    }

    @Test
    void migrate_aDataDirectoryFilledOnSqlite_servesTheSameOnPostgresql() throws Exception {
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();

        Run run = atrium(postgres.environment(), "store", "migrate", "--from", before.dataDir().toString(),
                "--to", store);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).containsPattern("usage_records +3  [0-9a-f]{64}  verified")
                .containsPattern("api_keys +[0-9]+  [0-9a-f]{64}  verified")
                .contains("budget_accounts").contains("only on PostgreSQL")
                .contains("secrets.key").contains("signing key was copied")
                .doesNotContain(postgres.password());
        assertThat(run.err()).doesNotContain(postgres.password());
        // the data directory's signing key is the store's now, whichever replica starts first
        assertThat(query(postgres, store, "SELECT value FROM server_keys WHERE name = 'signing-key'"))
                .containsExactly(Files.readString(before.dataDir().resolve("signing-key")));

        try (TestServer server = TestServer.start(before.dataDir(), Map.of("store", store), postgres.environment())) {
            Http admin = server.http();
            Http member = admin.withKey(before.member().secret());
            Http.Reply models = member.get("/v1/models");
            assertThat(models.status()).as("the same key authenticates").isEqualTo(200);
            assertThat(models.text()).contains(MODEL);
            assertThat(admin.get("/admin/models/" + MODEL).text()).contains("production");
            assertThat(invoice(admin, before.tenant())).isEqualTo(before.invoice());
            assertThat(records(admin, before.tenant())).isEqualTo(before.records());
            assertThat(admin.get("/admin/signing-key").text()).isEqualTo(before.signingKey());
            Http.Reply content = member.get("/v1/files/" + before.fileId() + "/content");
            assertThat(content.status()).as("sealed by the same secrets key").isEqualTo(200);
            assertThat(content.text()).isEqualTo(TRAINING_FILE);

            // the budget continues from the same spend: 3 of 5 spent, so two more requests and no third
            assertThat(spent(admin, before.tenant())).isEqualByComparingTo("3");
            for (int i = 0; i < 2; i++) {
                assertThat(member.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "more " + i)).status())
                        .isEqualTo(200);
            }
            Http.Reply refused = member.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "one too many"));
            assertThat(refused.status()).as(refused.toString()).isEqualTo(429);
            assertThat(refused.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
            assertThat(spent(admin, before.tenant())).isEqualByComparingTo("5");
            assertThat(records(admin, before.tenant())).isEqualTo(before.records() + 2);

            // identities continue past the copied ids: new prices, tenants and audit rows are written
            assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "per_request", "0",
                    "currency", "USD")).status()).isEqualTo(201);
            new Tenants(admin).tenant("after-the-move");
        }
    }

    @Test
    void migrate_intoATargetThatHoldsData_isRefusedSayingWhich_andLeavesItUntouched() throws Exception {
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();
        try (Database target = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            target.jdbi().useHandle(handle -> handle.execute(
                    "INSERT INTO upstream_hosts (host, created_at) VALUES ('api.example.com', 1)"));
        }
        Map<String, Long> counts = rowCounts(postgres, store);

        Run run = atrium(postgres.environment(), "store", "migrate", "--from", before.dataDir().toString(),
                "--to", store);
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("already holds data").contains("upstream_hosts (1 row)")
                .doesNotContain("Exception");
        assertThat(rowCounts(postgres, store)).isEqualTo(counts);
        assertThat(counts.get("upstream_hosts")).isEqualTo(1);
        assertThat(counts.get("models")).isZero();
    }

    @Test
    void migrate_aRowTheTargetRejectsMidCopy_leavesEveryTableEmpty() throws Exception {
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();
        try (Database target = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            target.jdbi().useHandle(handle -> handle.execute(
                    "ALTER TABLE usage_records ADD CONSTRAINT refuses_every_row CHECK (false) NOT VALID"));
        }
        List<String> steps = new ArrayList<>();

        assertThatThrownBy(() -> StoreMigration.run(before.dataDir(), StoreLocation.parse(store),
                postgres.password(), steps::add))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot copy usage_records").hasMessageContaining("refuses_every_row");
        // tables were copied before the one that failed, and none of them kept a row
        assertThat(steps.indexOf("copying models (1 row)")).isNotNegative()
                .isLessThan(steps.indexOf("copying usage_records (3 rows)"));
        assertThat(rowCounts(postgres, store).values()).isNotEmpty().allMatch(rows -> rows == 0);
    }

    @Test
    void migrate_aCopyThatDiffersFromItsSource_isNotKept() throws Exception {
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();
        try (Database target = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            // the target quietly changes one table's values and drops another's rows: only verification sees it
            target.jdbi().useHandle(handle -> handle.execute("""
                    CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN NEW.name := NEW.name || ' (garbled)'; RETURN NEW; END $$;
                    CREATE TRIGGER garble BEFORE INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION garble();
                    CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
                    CREATE TRIGGER drop_row BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION drop_row();
                    """));
        }

        Run run = atrium(postgres.environment(), "store", "migrate", "--from", before.dataDir().toString(),
                "--to", store);
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("does not match its source").contains("tenants: the checksums differ")
                .containsPattern("audit_log: [0-9]+ rows in SQLite, 0 rows in PostgreSQL");
        assertThat(rowCounts(postgres, store).values()).allMatch(rows -> rows == 0);
    }

    @Test
    void migrate_idsSqliteHandedOut_areNeverHandedOutAgain() throws Exception {
        Path dataDir = copyOf(before.dataDir());
        try (Database sqlite = Database.openSqlite(dataDir.resolve("atrium.db"))) {
            // a price deleted on SQLite: AUTOINCREMENT never gives its id again, and PostgreSQL must not either
            sqlite.jdbi().useHandle(handle -> {
                handle.execute("INSERT INTO prices (id, model, input_per_1m, output_per_1m, per_request,"
                        + " per_compute_second, currency, effective_from, created_at)"
                        + " VALUES (100, 'gone', '0', '0', '0', '0', 'USD', 1, 1)");
                handle.execute("DELETE FROM prices WHERE id = 100");
            });
        }
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();

        StoreMigration.Report report = StoreMigration.run(dataDir, StoreLocation.parse(store), postgres.password(),
                step -> {});
        assertThat(report.copied()).extracting(StoreMigration.CopiedTable::table).contains("prices", "usage_records");
        assertThat(query(postgres, store, "SELECT nextval(pg_get_serial_sequence('prices', 'id'))"))
                .containsExactly("101");
        long rowids = Long.parseLong(query(postgres, store, "SELECT max(rowid) FROM usage_records").getFirst());
        assertThat(query(postgres, store, "SELECT nextval(pg_get_serial_sequence('usage_records', 'rowid'))"))
                .containsExactly(Long.toString(rowids + 1));
    }

    @Test
    void migrate_aValueThatDoesNotFitItsColumn_isRefusedNamingIt_andNothingIsKept() throws Exception {
        Path dataDir = copyOf(before.dataDir());
        try (Database sqlite = Database.openSqlite(dataDir.resolve("atrium.db"))) {
            // SQLite keeps text in an INTEGER column; PostgreSQL's BIGINT cannot
            sqlite.jdbi().useHandle(handle -> handle.execute("UPDATE tenants SET rpm = 'lots'"));
        }
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();

        assertThatThrownBy(() -> StoreMigration.run(dataDir, StoreLocation.parse(store), postgres.password(),
                step -> {}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("tenants.rpm holds string 'lots', which is not integer, so nothing was copied");
        assertThat(rowCounts(postgres, store).values()).allMatch(rows -> rows == 0);
    }

    @Test
    void migrate_aStoreWithoutRows_copiesNothing_andLeavesTheTargetAsItWas() throws Exception {
        Database.openSqlite(scratch.resolve("atrium.db")).close();
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();
        try (Database target = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            target.jdbi().useHandle(handle -> handle.execute(
                    "INSERT INTO upstream_hosts (host, created_at) VALUES ('api.example.com', 1)"));
        }

        Run run = atrium(postgres.environment(), "store", "migrate", "--from", scratch.toString(), "--to", store);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("nothing to copy");
        assertThat(rowCounts(postgres, store).get("upstream_hosts")).isEqualTo(1);
    }

    @Test
    void migrate_withAWrongPassword_failsInOneLine_withoutTouchingTheTarget() throws Exception {
        PostgresServer postgres = Stores.postgres();
        String store = postgres.newDatabase();
        String wrong = "not-the-password-" + UUID.randomUUID();

        Run run = atrium(Map.of(Database.PASSWORD_ENVIRONMENT_VARIABLE, wrong), "store", "migrate",
                "--from", before.dataDir().toString(), "--to", store);
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("password authentication failed").contains("ATRIUM_STORE_PASSWORD")
                .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain(wrong);
        assertThat(run.err().strip().lines()).hasSize(1);
        assertThat(run.out()).doesNotContain(wrong);
        assertThat(rowCounts(postgres, store)).as("not even migrated").isEmpty();
    }

    @Test
    void migrate_fromADirectoryWithoutAStore_saysSo() {
        Run run = atrium(Map.of(), "store", "migrate", "--from", scratch.toString(),
                "--to", "postgresql://127.0.0.1:1/atrium?user=atrium");
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("no store in " + scratch);
        assertThat(scratch.resolve("atrium.db")).doesNotExist();
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private record Run(int exitCode, String out, String err) {}

    private static Run atrium(Map<String, String> environment, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = AtriumCommand.commandLine(environment);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    /** A copy of a stopped server's data directory (its store files included). */
    private Path copyOf(Path dataDir) throws IOException {
        Path copy = Files.createDirectories(scratch.resolve("copy"));
        try (var files = Files.list(dataDir)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        return copy;
    }

    private static JsonNode invoice(Http admin, String tenant) {
        Http.Reply reply = admin.get("/admin/invoices?tenant=" + tenant + "&month=" + YearMonth.now(ZoneOffset.UTC));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        return reply.json();
    }

    private static BigDecimal spent(Http admin, String tenant) {
        JsonNode budget = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        return new BigDecimal(budget.path("spent").asString());
    }

    private static long records(Http admin, String tenant) {
        return admin.get("/admin/usage/records?tenant=" + tenant + "&limit=1000").json().path("data").size();
    }

    /** Every table's rows in the database of {@code store} but Flyway's (none before it is migrated). */
    private static Map<String, Long> rowCounts(PostgresServer postgres, String store) throws SQLException {
        Map<String, Long> counts = new TreeMap<>();
        try (Connection connection = connect(postgres, store); Statement statement = connection.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery("SELECT table_name FROM information_schema.tables"
                    + " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                    + " AND table_name <> 'flyway_schema_history'")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            for (String table : tables) {
                try (ResultSet rs = statement.executeQuery("SELECT count(*) FROM " + table)) {
                    rs.next();
                    counts.put(table, rs.getLong(1));
                }
            }
        }
        return counts;
    }

    private static List<String> query(PostgresServer postgres, String store, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Connection connection = connect(postgres, store); Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    private static Connection connect(PostgresServer postgres, String store) throws SQLException {
        String database = store.substring(store.lastIndexOf('/') + 1, store.indexOf('?'));
        return DriverManager.getConnection(postgres.jdbcUrl(database), PostgresServer.USER, postgres.password());
    }
}
