package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;

/**
 * Copies the SQLite store of a data directory ({@code atrium.db}) into an empty PostgreSQL store, so that a
 * single server can move to {@code --store postgresql://…} without losing a key, a record or a model.
 *
 * <p>Design: both stores are opened as the server opens them, so each is first migrated to its latest schema
 * (Flyway). The tables to copy are those both schemas have, found in the catalogs rather than listed here, so a
 * table added later is copied without editing this class; {@code flyway_schema_history} and tables of one dialect
 * only are not (PostgreSQL's own tables hold what replicas share: rate counters, budget holds and accounts, which
 * start empty and are summed from the usage ledger when first needed, and {@code server_keys}, which receives the
 * data directory's signing key). Every row is copied in one PostgreSQL transaction that first locks the target's
 * tables and checks that they are empty, copies parents before children (by the target's foreign keys), converts
 * each value to its PostgreSQL column's type (SQLite keeps integers, text, reals and blobs whatever a column is
 * declared), keeps identity values ({@code OVERRIDING SYSTEM VALUE}) and sets each identity's sequence past the
 * largest id SQLite ever handed out. Before it commits, each table is read back and compared with the source:
 * its row count and a checksum of its content, computed the same way on both sides (a SHA-256 per row over the
 * values in the target's types, summed modulo 2^256, so that row order does not matter). Any failure rolls the
 * transaction back: the target is left exactly as it was.
 *
 * <p>The source is read in one SQLite transaction that holds the write lock, so the copy is a consistent snapshot;
 * the server on the data directory should be stopped first, or what it writes afterwards stays behind in SQLite.
 * Files in the data directory (artifacts, tenants' encrypted files, the secrets key) are not in the store and stay
 * where they are.
 */
public final class StoreMigration {
    /** The data directory's signing key, which a PostgreSQL store keeps in {@code server_keys} under this name. */
    static final String SIGNING_KEY = "signing-key";
    private static final String HISTORY = "flyway_schema_history";
    private static final int BATCH = 1_000;
    private static final BigInteger MODULUS = BigInteger.ONE.shiftLeft(256);

    /** What PostgreSQL's own tables hold, and so why they are not copied. */
    private static final Map<String, String> ONLY_ON_POSTGRESQL = Map.of(
            "budget_accounts", "budgets' spending this month: summed from the usage ledger when a budget is next used",
            "budget_holds", "holds of requests in flight: none",
            "rate_windows", "shared rate counters: they start at zero",
            "rate_leases", "requests in flight: none",
            "server_keys", "keys replicas share: the signing key is made when first needed");

    private StoreMigration() {}

    /**
     * One copied table: its rows and its content's checksum, equal on both sides.
     *
     * @param checksum 64 hex digits
     */
    public record CopiedTable(String table, long rows, String checksum) {
        public CopiedTable {
            requireNonNull(table, "table is null");
            requireNonNull(checksum, "checksum is null");
        }
    }

    /** A table of one dialect only, and what became of it. */
    public record OtherTable(String table, String note) {
        public OtherTable {
            requireNonNull(table, "table is null");
            requireNonNull(note, "note is null");
        }
    }

    /**
     * What a migration did.
     *
     * @param copied the tables copied, in the order they were (parents first)
     * @param others the tables of one dialect only, by name
     * @param signingKeyCopied whether the data directory's signing key was put into {@code server_keys}
     */
    public record Report(List<CopiedTable> copied, List<OtherTable> others, boolean signingKeyCopied) {
        public Report {
            copied = List.copyOf(copied);
            others = List.copyOf(others);
        }

        /** Whether the source held no row at all (then the target was left as it was). */
        public boolean nothingToCopy() {
            return copied.stream().allMatch(table -> table.rows() == 0) && !signingKeyCopied;
        }

        public long rows() {
            return copied.stream().mapToLong(CopiedTable::rows).sum();
        }
    }

    /**
     * Copies the store of {@code dataDir} into the PostgreSQL store at {@code target}, all or nothing.
     *
     * @param password the PostgreSQL user's password, or null where the server needs none
     * @param progress told each step as it begins (one line each)
     * @throws IllegalStateException saying what is wrong (no store in the directory, a target that cannot be
     *     reached or already holds data, a value that does not fit its column, a verification that failed); the
     *     target then keeps none of the copy. The message never holds the password.
     */
    public static Report run(Path dataDir, StoreLocation target, String password, Consumer<String> progress) {
        if (target.dialect() != Dialect.POSTGRESQL) {
            throw new IllegalArgumentException("the target must be a PostgreSQL store, not " + target);
        }
        Path file = dataDir.resolve("atrium.db");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("no store in " + dataDir + " (" + file + " does not exist)");
        }
        // connected once on its own first: a wrong password or host is one clear line, not a pool's stack trace
        probe(target, password);
        progress.accept("opening " + file + " (applying its pending migrations)");
        try (Database sqlite = Database.openSqlite(file)) {
            progress.accept("opening " + target + " (applying its pending migrations)");
            try (Database postgresql = Database.openPostgresql(target, password);
                    Handle source = sqlite.jdbi().open();
                    Handle destination = postgresql.jdbi().open()) {
                return copy(source.getConnection(), destination.getConnection(), dataDir, progress);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(message(e), e);
        }
    }

    private static void probe(StoreLocation target, String password) {
        Properties properties = new Properties();
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("ApplicationName", "atrium-store-migrate");
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl(), properties)) {
            connection.isValid(5);
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            String hint = state.startsWith("28") || state.equals("08004")
                    ? " (the password is read from " + Database.PASSWORD_ENVIRONMENT_VARIABLE + ")" : "";
            throw new IllegalStateException("cannot connect to " + target + ": " + message(e) + hint, e);
        }
    }

    // ---- the copy -----------------------------------------------------------------------------------------------

    private static Report copy(Connection source, Connection destination, Path dataDir, Consumer<String> progress)
            throws SQLException {
        Map<String, Map<String, String>> sourceTables = sqliteTables(source);
        Map<String, TargetTable> targetTables = postgresqlTables(destination);
        List<TablePlan> plans = plan(sourceTables, targetTables, foreignKeys(destination));
        Path signingKey = dataDir.resolve(SIGNING_KEY);
        boolean carriesSigningKey = targetTables.containsKey("server_keys") && Files.isRegularFile(signingKey);
        List<OtherTable> others = new ArrayList<>();
        for (String name : new TreeSet<>(targetTables.keySet())) {
            if (!sourceTables.containsKey(name)) {
                String note = name.equals("server_keys") && carriesSigningKey
                        ? "the data directory's signing key (" + signingKey + ")"
                        : ONLY_ON_POSTGRESQL.getOrDefault(name, "left empty");
                others.add(new OtherTable(name, "only on PostgreSQL: " + note));
            }
        }

        source.setAutoCommit(false); // SQLite: BEGIN IMMEDIATE, a snapshot no writer changes while it is read
        destination.setAutoCommit(false);
        try {
            try (Statement statement = destination.createStatement()) {
                // no replica writes into the target meanwhile: its emptiness holds until the copy commits
                statement.execute("LOCK TABLE " + targetTables.keySet().stream().sorted()
                        .map(StoreMigration::quote).collect(Collectors.joining(", ")) + " IN EXCLUSIVE MODE");
            }
            Map<String, Long> sourceRows = new LinkedHashMap<>();
            for (TablePlan plan : plans) {
                sourceRows.put(plan.name(), count(source, plan.name()));
            }
            for (String name : new TreeSet<>(sourceTables.keySet())) {
                if (!targetTables.containsKey(name)) {
                    others.add(new OtherTable(name, "only on SQLite: not copied (" + rows(count(source, name)) + ")"));
                }
            }
            others.sort(Comparator.comparing(OtherTable::table));
            if (sourceRows.values().stream().allMatch(rows -> rows == 0)) {
                List<CopiedTable> none = plans.stream().map(plan -> new CopiedTable(plan.name(), 0,
                        new TableDigest().checksum())).toList();
                return new Report(none, others, false);
            }
            refuseUnlessEmpty(destination, targetTables.keySet());

            Map<String, Long> floors = sequenceFloors(source);
            Map<String, TableDigest> written = new LinkedHashMap<>();
            for (TablePlan plan : plans) {
                progress.accept("copying " + plan.name() + " (" + rows(sourceRows.get(plan.name())) + ")");
                written.put(plan.name(), copyTable(source, destination, plan, floors));
            }
            if (carriesSigningKey) {
                progress.accept("copying the data directory's signing key into server_keys");
                copySigningKey(destination, signingKey);
            }

            progress.accept("verifying every table (row count and checksum)");
            List<CopiedTable> copied = verify(destination, plans, sourceRows, written);
            destination.commit();
            return new Report(copied, others, carriesSigningKey);
        } finally {
            // after a commit, the rollback finds nothing to undo
            endQuietly(destination);
            endQuietly(source); // read only
        }
    }

    /**
     * Each table as the target holds it now against what was read from the source: rows counted and read back,
     * and the checksums of both sides.
     *
     * @throws IllegalStateException naming every table that differs
     */
    private static List<CopiedTable> verify(Connection destination, List<TablePlan> plans, Map<String, Long> sourceRows,
            Map<String, TableDigest> written) throws SQLException {
        List<CopiedTable> copied = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        for (TablePlan plan : plans) {
            TableDigest expected = written.get(plan.name());
            TableDigest actual = digest(destination, plan);
            long counted = count(destination, plan.name());
            long source = sourceRows.get(plan.name());
            if (expected.rows() != source || actual.rows() != source || counted != source) {
                mismatches.add(plan.name() + ": " + rows(source) + " in SQLite, " + rows(counted) + " in PostgreSQL");
            } else if (!expected.checksum().equals(actual.checksum())) {
                mismatches.add(plan.name() + ": the checksums differ (" + expected.checksum().substring(0, 16)
                        + "… in SQLite, " + actual.checksum().substring(0, 16) + "… in PostgreSQL)");
            }
            copied.add(new CopiedTable(plan.name(), source, expected.checksum()));
        }
        if (!mismatches.isEmpty()) {
            throw new IllegalStateException("the copy does not match its source, so nothing was kept: "
                    + String.join("; ", mismatches));
        }
        return copied;
    }

    /** Rolls back and leaves the transaction; a connection that is lost has, and must not hide why it failed. */
    private static void endQuietly(Connection connection) {
        try {
            connection.rollback();
            connection.setAutoCommit(true);
        } catch (SQLException e) {
            // the connection is lost: its transaction ended with it
        }
    }

    private static void refuseUnlessEmpty(Connection destination, Set<String> tables) throws SQLException {
        List<String> holding = new ArrayList<>();
        for (String table : new TreeSet<>(tables)) {
            long rows = count(destination, table);
            if (rows > 0) {
                holding.add(table + " (" + rows(rows) + ")");
            }
        }
        if (!holding.isEmpty()) {
            throw new IllegalStateException("the target already holds data, so nothing was copied: "
                    + String.join(", ", holding) + "; migrate into an empty database");
        }
    }

    private static TableDigest copyTable(Connection source, Connection destination, TablePlan plan,
            Map<String, Long> sequenceFloors) throws SQLException {
        String columns = plan.columns().stream().map(column -> quote(column.name())).collect(Collectors.joining(", "));
        String insert = "INSERT INTO " + quote(plan.name()) + " (" + columns + ")"
                + (plan.hasIdentity() ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES ("
                + plan.columns().stream().map(column -> "?").collect(Collectors.joining(", ")) + ")";
        TableDigest digest = new TableDigest();
        Map<String, Long> largest = new HashMap<>();
        try (Statement select = source.createStatement();
                ResultSet rs = select.executeQuery("SELECT " + sourceColumns(plan) + " FROM " + quote(plan.name()));
                PreparedStatement statement = destination.prepareStatement(insert)) {
            int pending = 0;
            Object[] values = new Object[plan.columns().size()];
            while (rs.next()) {
                for (int i = 0; i < values.length; i++) {
                    Column column = plan.columns().get(i);
                    values[i] = column.kind().convert(rs.getObject(i + 1), plan.name() + "." + column.name());
                    column.kind().bind(statement, i + 1, values[i]);
                    if (column.identity() && values[i] != null) {
                        largest.merge(column.name(), (Long) values[i], Math::max);
                    }
                }
                digest.add(plan.columns(), values);
                statement.addBatch();
                if (++pending == BATCH) {
                    statement.executeBatch();
                    pending = 0;
                }
            }
            if (pending > 0) {
                statement.executeBatch();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot copy " + plan.name() + ", so nothing was kept: " + message(e), e);
        }
        for (Column column : plan.columns()) {
            if (!column.identity()) {
                continue;
            }
            // an AUTOINCREMENT id is never handed out again, even once its row is deleted: past SQLite's counter too
            long next = Math.max(largest.getOrDefault(column.name(), 0L),
                    sequenceFloors.getOrDefault(plan.name(), 0L));
            if (next > 0) {
                try (PreparedStatement setval = destination.prepareStatement(
                        "SELECT setval(pg_get_serial_sequence(?, ?), ?)")) {
                    setval.setString(1, quote(plan.name()));
                    setval.setString(2, column.name());
                    setval.setLong(3, next);
                    setval.execute();
                }
            }
        }
        return digest;
    }

    private static void copySigningKey(Connection destination, Path file) throws SQLException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the signing key " + file, e);
        }
        try (PreparedStatement insert = destination.prepareStatement(
                "INSERT INTO server_keys (name, value) VALUES (?, ?)")) {
            insert.setString(1, SIGNING_KEY);
            insert.setString(2, text);
            insert.execute();
        }
    }

    /** The target's content of one table, read back in its own types. */
    private static TableDigest digest(Connection destination, TablePlan plan) throws SQLException {
        TableDigest digest = new TableDigest();
        String columns = plan.columns().stream().map(column -> quote(column.name())).collect(Collectors.joining(", "));
        try (Statement select = destination.createStatement()) {
            select.setFetchSize(BATCH);
            try (ResultSet rs = select.executeQuery("SELECT " + columns + " FROM " + quote(plan.name()))) {
                Object[] values = new Object[plan.columns().size()];
                while (rs.next()) {
                    for (int i = 0; i < values.length; i++) {
                        Column column = plan.columns().get(i);
                        values[i] = column.kind().convert(rs.getObject(i + 1), plan.name() + "." + column.name());
                    }
                    digest.add(plan.columns(), values);
                }
            }
        }
        return digest;
    }

    private static long count(Connection connection, String table) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT count(*) FROM " + quote(table))) {
            rs.next();
            return rs.getLong(1);
        }
    }

    // ---- the plan -----------------------------------------------------------------------------------------------

    /** A column to copy: its name, how its values convert, and whether it is an identity. */
    private record Column(String name, Kind kind, boolean identity, boolean implicitRowid) {}

    private record TablePlan(String name, List<Column> columns) {
        boolean hasIdentity() {
            return columns.stream().anyMatch(Column::identity);
        }
    }

    /** A target column as the catalog describes it. */
    private record TargetColumn(String name, String type, boolean identity, boolean optional) {}

    private record TargetTable(String name, List<TargetColumn> columns) {}

    /** Each table both stores have, parents before children, with its columns; refused when they do not fit. */
    private static List<TablePlan> plan(Map<String, Map<String, String>> sourceTables,
            Map<String, TargetTable> targetTables, Map<String, Set<String>> parents) {
        Map<String, TablePlan> plans = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        for (TargetTable table : targetTables.values()) {
            Map<String, String> sourceColumns = sourceTables.get(table.name());
            if (sourceColumns == null) {
                continue;
            }
            List<Column> columns = new ArrayList<>();
            Set<String> matched = new TreeSet<>();
            for (TargetColumn column : table.columns()) {
                Kind kind = Kind.of(column.type());
                boolean present = sourceColumns.containsKey(column.name());
                // SQLite's implicit rowid, which PostgreSQL keeps as an identity column of that name
                boolean rowid = !present && column.identity() && column.name().equals("rowid");
                if (!present && !rowid) {
                    if (!column.optional()) {
                        problems.add(table.name() + "." + column.name() + " (NOT NULL, no default) is not in SQLite");
                    }
                    continue;
                }
                if (kind == null) {
                    problems.add(table.name() + "." + column.name() + " has the type " + column.type()
                            + ", which the migration cannot convert to");
                    continue;
                }
                matched.add(column.name());
                columns.add(new Column(column.name(), kind, column.identity(), rowid));
            }
            for (String name : sourceColumns.keySet()) {
                if (!matched.contains(name)) {
                    problems.add(table.name() + "." + name + " is in SQLite but not in PostgreSQL");
                }
            }
            plans.put(table.name(), new TablePlan(table.name(), columns));
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("the two schemas do not match, so nothing was copied: "
                    + String.join("; ", problems));
        }
        return ordered(plans, parents);
    }

    /** Parents before children (Kahn's algorithm, by name among the tables that are free), cycles refused. */
    private static List<TablePlan> ordered(Map<String, TablePlan> plans, Map<String, Set<String>> parents) {
        Map<String, Set<String>> waiting = new TreeMap<>();
        for (String table : plans.keySet()) {
            Set<String> needs = new TreeSet<>(parents.getOrDefault(table, Set.of()));
            needs.remove(table);
            needs.retainAll(plans.keySet());
            waiting.put(table, needs);
        }
        List<TablePlan> order = new ArrayList<>();
        Deque<String> free = new ArrayDeque<>();
        while (!waiting.isEmpty()) {
            waiting.entrySet().stream().filter(entry -> entry.getValue().isEmpty()).map(Map.Entry::getKey)
                    .forEach(free::add);
            if (free.isEmpty()) {
                throw new IllegalStateException("the tables' foreign keys form a cycle: " + waiting.keySet());
            }
            while (!free.isEmpty()) {
                String table = free.poll();
                waiting.remove(table);
                order.add(plans.get(table));
                waiting.values().forEach(needs -> needs.remove(table));
            }
        }
        return order;
    }

    /** SQLite's tables (but its own and Flyway's), each with its columns' declared types by lower-case name. */
    private static Map<String, Map<String, String>> sqliteTables(Connection source) throws SQLException {
        Map<String, Map<String, String>> tables = new TreeMap<>();
        List<String> names = new ArrayList<>();
        try (Statement statement = source.createStatement();
                ResultSet rs = statement.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'"
                        + " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")) {
            while (rs.next()) {
                String name = rs.getString(1);
                if (!name.equals(HISTORY)) {
                    names.add(name);
                }
            }
        }
        for (String name : names) {
            Map<String, String> columns = new LinkedHashMap<>();
            try (Statement statement = source.createStatement();
                    ResultSet rs = statement.executeQuery("PRAGMA table_info(" + quote(name) + ")")) {
                while (rs.next()) {
                    columns.put(rs.getString("name").toLowerCase(Locale.ROOT), rs.getString("type"));
                }
            }
            tables.put(name.toLowerCase(Locale.ROOT), columns);
        }
        return tables;
    }

    /** The largest id each AUTOINCREMENT table ever handed out (SQLite's {@code sqlite_sequence}). */
    private static Map<String, Long> sequenceFloors(Connection source) throws SQLException {
        Map<String, Long> floors = new HashMap<>();
        try (Statement statement = source.createStatement()) {
            try (ResultSet exists = statement.executeQuery(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")) {
                if (!exists.next()) {
                    return floors;
                }
            }
            try (ResultSet rs = statement.executeQuery("SELECT name, seq FROM sqlite_sequence")) {
                while (rs.next()) {
                    floors.put(rs.getString(1).toLowerCase(Locale.ROOT), rs.getLong(2));
                }
            }
        }
        return floors;
    }

    /** PostgreSQL's tables in the store's schema (but Flyway's), with their columns in order. */
    private static Map<String, TargetTable> postgresqlTables(Connection destination) throws SQLException {
        Map<String, List<TargetColumn>> columns = new TreeMap<>();
        try (Statement statement = destination.createStatement();
                ResultSet rs = statement.executeQuery("""
                        SELECT c.table_name, c.column_name, c.data_type, c.is_identity, c.is_nullable,
                               c.column_default
                        FROM information_schema.columns c
                        JOIN information_schema.tables t
                          ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                        ORDER BY c.table_name, c.ordinal_position""")) {
            while (rs.next()) {
                String table = rs.getString("table_name");
                if (table.equals(HISTORY)) {
                    continue;
                }
                boolean identity = "YES".equals(rs.getString("is_identity"));
                boolean optional = identity || "YES".equals(rs.getString("is_nullable"))
                        || rs.getString("column_default") != null;
                columns.computeIfAbsent(table, name -> new ArrayList<>()).add(new TargetColumn(
                        rs.getString("column_name"), rs.getString("data_type"), identity, optional));
            }
        }
        Map<String, TargetTable> tables = new TreeMap<>();
        columns.forEach((name, list) -> tables.put(name, new TargetTable(name, List.copyOf(list))));
        return tables;
    }

    /** Each table's parents by the target's foreign keys. */
    private static Map<String, Set<String>> foreignKeys(Connection destination) throws SQLException {
        Map<String, Set<String>> parents = new TreeMap<>();
        try (Statement statement = destination.createStatement();
                ResultSet rs = statement.executeQuery("""
                        SELECT child.relname AS child, parent.relname AS parent
                        FROM pg_constraint k
                        JOIN pg_class child ON child.oid = k.conrelid
                        JOIN pg_class parent ON parent.oid = k.confrelid
                        JOIN pg_namespace n ON n.oid = child.relnamespace
                        WHERE k.contype = 'f' AND n.nspname = current_schema()""")) {
            while (rs.next()) {
                parents.computeIfAbsent(rs.getString("child"), name -> new TreeSet<>()).add(rs.getString("parent"));
            }
        }
        return parents;
    }

    private static String sourceColumns(TablePlan plan) {
        return plan.columns().stream().map(column -> column.implicitRowid() ? "rowid" : quote(column.name()))
                .collect(Collectors.joining(", "));
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static String rows(long count) {
        return count + (count == 1 ? " row" : " rows");
    }

    /** The database's own words: the first line of the innermost message (a batch's is in its next exception). */
    private static String message(SQLException e) {
        SQLException innermost = e;
        while (innermost.getNextException() != null && innermost.getNextException() != innermost) {
            innermost = innermost.getNextException();
        }
        String message = innermost.getMessage() == null ? innermost.toString() : innermost.getMessage();
        return message.lines().findFirst().orElse(message).strip();
    }

    // ---- values -------------------------------------------------------------------------------------------------

    /**
     * What a PostgreSQL column holds, and how a value read from either store becomes its Java value: SQLite keeps
     * whatever storage class a value came in (integers for booleans and times, text for decimals), PostgreSQL its
     * column's type; both pass through {@link #convert}, so both sides' checksums see the same values.
     */
    enum Kind {
        INTEGER(Types.BIGINT),
        BOOLEAN(Types.BOOLEAN),
        REAL(Types.DOUBLE),
        DECIMAL(Types.NUMERIC),
        TEXT(Types.VARCHAR),
        BYTES(Types.BINARY);

        private final int sqlType;

        Kind(int sqlType) {
            this.sqlType = sqlType;
        }

        /** The kind of a PostgreSQL type as {@code information_schema.columns.data_type} names it, or null. */
        static Kind of(String type) {
            return switch (type) {
                case "bigint", "integer", "smallint" -> INTEGER;
                case "boolean" -> BOOLEAN;
                case "double precision", "real" -> REAL;
                case "numeric" -> DECIMAL;
                case "text", "character varying", "character" -> TEXT;
                case "bytea" -> BYTES;
                default -> null;
            };
        }

        /**
         * The value as this kind's Java type (Long, Boolean, Double, BigDecimal, String, byte[]), null kept.
         *
         * @param where the table and column, for the message
         * @throws IllegalStateException when the value does not fit
         */
        Object convert(Object value, String where) {
            if (value == null) {
                return null;
            }
            try {
                return switch (this) {
                    case INTEGER -> switch (value) {
                        case Long l -> l;
                        case Integer i -> i.longValue();
                        case Short s -> s.longValue();
                        case String s -> Long.parseLong(s.strip());
                        default -> throw unfit(value, where);
                    };
                    case BOOLEAN -> switch (value) {
                        case Boolean b -> b;
                        case Number n when n.longValue() == 0 || n.longValue() == 1 -> n.longValue() == 1;
                        case String s when s.equals("0") || s.equals("1") -> s.equals("1");
                        default -> throw unfit(value, where);
                    };
                    case REAL -> switch (value) {
                        case Double d -> d;
                        case Float f -> f.doubleValue();
                        case Long l -> l.doubleValue();
                        case Integer i -> i.doubleValue();
                        case String s -> Double.parseDouble(s.strip());
                        default -> throw unfit(value, where);
                    };
                    case DECIMAL -> switch (value) {
                        case BigDecimal d -> d;
                        case Long l -> BigDecimal.valueOf(l);
                        case Integer i -> BigDecimal.valueOf(i);
                        case Double d -> new BigDecimal(d.toString());
                        case String s -> new BigDecimal(s.strip());
                        default -> throw unfit(value, where);
                    };
                    case TEXT -> switch (value) {
                        case String s -> s;
                        // SQLite converts a number given to a TEXT column to text; one kept as a number reads so
                        case Long l -> l.toString();
                        case Integer i -> i.toString();
                        default -> throw unfit(value, where);
                    };
                    case BYTES -> switch (value) {
                        case byte[] bytes -> bytes;
                        default -> throw unfit(value, where);
                    };
                };
            } catch (NumberFormatException e) {
                throw unfit(value, where);
            }
        }

        void bind(PreparedStatement statement, int index, Object value) throws SQLException {
            if (value == null) {
                statement.setNull(index, sqlType);
            } else {
                statement.setObject(index, value, sqlType);
            }
        }

        /** The value's bytes as the checksum takes them: one spelling per value of this kind. */
        byte[] canonical(Object value) {
            String text = switch (this) {
                case INTEGER -> Long.toString((Long) value);
                case BOOLEAN -> (Boolean) value ? "t" : "f";
                case REAL -> Long.toHexString(Double.doubleToLongBits((Double) value));
                case DECIMAL -> ((BigDecimal) value).stripTrailingZeros().toPlainString();
                case TEXT -> (String) value;
                case BYTES -> null;
            };
            return text == null ? (byte[]) value : text.getBytes(StandardCharsets.UTF_8);
        }

        private IllegalStateException unfit(Object value, String where) {
            String shown = value instanceof byte[] bytes ? "a blob of " + bytes.length + " bytes"
                    : value.getClass().getSimpleName().toLowerCase(Locale.ROOT) + " '"
                            + abbreviated(value.toString()) + "'";
            return new IllegalStateException(where + " holds " + shown + ", which is not "
                    + name().toLowerCase(Locale.ROOT) + ", so nothing was copied");
        }

        private static String abbreviated(String text) {
            return text.length() <= 40 ? text : text.substring(0, 40) + "…";
        }
    }

    /**
     * A table's content as one number: the sum, modulo 2^256, of a SHA-256 per row over its values (each with its
     * kind, or null, and its length), so that two tables with the same rows in any order agree.
     */
    static final class TableDigest {
        private final MessageDigest sha256;
        private BigInteger sum = BigInteger.ZERO;
        private long rows;

        TableDigest() {
            try {
                sha256 = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no SHA-256", e);
            }
        }

        private void add(List<Column> columns, Object[] values) {
            for (int i = 0; i < values.length; i++) {
                if (values[i] == null) {
                    sha256.update((byte) 0);
                    continue;
                }
                Kind kind = columns.get(i).kind();
                byte[] bytes = kind.canonical(values[i]);
                sha256.update((byte) (kind.ordinal() + 1));
                sha256.update(ByteBuffer.allocate(Integer.BYTES).putInt(bytes.length).array());
                sha256.update(bytes);
            }
            sum = sum.add(new BigInteger(1, sha256.digest())).mod(MODULUS);
            rows++;
        }

        long rows() {
            return rows;
        }

        String checksum() {
            return String.format("%064x", sum);
        }
    }
}
