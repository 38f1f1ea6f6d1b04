package dev.atrium.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.DelegatingTransactionHandler;
import org.jdbi.v3.core.transaction.SerializableTransactionRunner;
import org.jdbi.v3.core.transaction.TransactionHandler;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.sqlite.SQLiteConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteDataSource;

/**
 * The metadata store, migrated by Flyway at open and reached through JDBI over a HikariCP pool: a SQLite file in the
 * data directory (WAL, foreign keys on, {@code synchronous=FULL}; writers serialized), or a PostgreSQL database
 * shared by replicas ({@code synchronous_commit=on} on every connection and checked at open, so that a committed
 * usage record survives a crash of the database server).
 *
 * <p>On PostgreSQL, statements outside a transaction run at READ COMMITTED (a single {@code UPDATE ... WHERE}
 * re-checks its condition on the row it waited for, which is what counters need), and every JDBI transaction runs
 * SERIALIZABLE and is retried on a serialization failure: the store classes were written against SQLite, where
 * write transactions never interleave, and SERIALIZABLE keeps that meaning across replicas. A transaction's body
 * may therefore run more than once and must do nothing outside the database that cannot be repeated.
 */
public final class Database implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);
    /** The environment variable with the PostgreSQL password (never a flag, never in the URL). */
    public static final String PASSWORD_ENVIRONMENT_VARIABLE = "ATRIUM_STORE_PASSWORD";

    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final Dialect dialect;

    private Database(HikariDataSource dataSource, Dialect dialect) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.jdbi = Jdbi.create(dataSource);
        if (dialect == Dialect.POSTGRESQL) {
            jdbi.setTransactionHandler(new SerializedTransactions(new SerializableTransactionRunner()));
        }
    }

    /** Opens the store at {@code location}: SQLite in {@code dataDir}, or PostgreSQL with {@code password}. */
    public static Database open(StoreLocation location, Path dataDir, String password) {
        return switch (location.dialect()) {
            case SQLITE -> openSqlite(dataDir.resolve("atrium.db"));
            case POSTGRESQL -> openPostgresql(location, password);
        };
    }

    public static Database openSqlite(Path file) {
        try {
            // SQLite gives its -wal and -shm files the database file's permissions: made 0600 before SQLite opens it
            PrivateFiles.createFile(file);
            PrivateFiles.narrowIfPresent(Path.of(file + "-wal"));
            PrivateFiles.narrowIfPresent(Path.of(file + "-shm"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the database file " + file, e);
        }
        SQLiteConfig sqlite = new SQLiteConfig();
        sqlite.setJournalMode(SQLiteConfig.JournalMode.WAL);
        sqlite.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        sqlite.enforceForeignKeys(true);
        sqlite.setBusyTimeout(10_000);
        // writers take the lock when they begin, so two transactions never deadlock upgrading a read lock
        sqlite.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        SQLiteDataSource sqliteSource = new SQLiteDataSource(sqlite);
        sqliteSource.setUrl("jdbc:sqlite:" + file.toAbsolutePath());

        HikariConfig pool = new HikariConfig();
        pool.setDataSource(sqliteSource);
        pool.setPoolName("atrium-sqlite");
        pool.setMaximumPoolSize(4);
        HikariDataSource dataSource = new HikariDataSource(pool);
        migrate(dataSource, Dialect.SQLITE);
        return new Database(dataSource, Dialect.SQLITE);
    }

    /**
     * @param password the database user's password, or null where the server needs none
     * @throws IllegalStateException when the database cannot be reached or would not keep commits durable
     */
    public static Database openPostgresql(StoreLocation location, String password) {
        if (location.dialect() != Dialect.POSTGRESQL) {
            throw new IllegalArgumentException("not a PostgreSQL location: " + location);
        }
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(location.jdbcUrl());
        if (password != null) {
            pool.setPassword(password);
        }
        pool.setPoolName("atrium-postgresql");
        pool.setMaximumPoolSize(16);
        pool.setMinimumIdle(2);
        pool.setConnectionTimeout(5_000);
        pool.setInitializationFailTimeout(10_000);
        pool.setConnectionInitSql("SET synchronous_commit = on");
        pool.addDataSourceProperty("ApplicationName", "atrium");
        pool.addDataSourceProperty("tcpKeepAlive", "true");
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(pool);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot connect to the store at " + location + ": " + rootMessage(e), e);
        }
        try {
            checkDurable(dataSource);
            migrate(dataSource, Dialect.POSTGRESQL);
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        LOG.info("store: {}", location);
        return new Database(dataSource, Dialect.POSTGRESQL);
    }

    private static void checkDurable(HikariDataSource dataSource) {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            for (String setting : List.of("synchronous_commit", "fsync")) {
                try (ResultSet rs = statement.executeQuery("SHOW " + setting)) {
                    rs.next();
                    String value = rs.getString(1);
                    if (!value.equals("on") && !value.equals("remote_apply")) {
                        throw new IllegalStateException("the PostgreSQL store has " + setting + " = " + value
                                + ": the usage ledger needs commits that survive a crash (" + setting + " = on)");
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot check the PostgreSQL store's settings: " + e.getMessage(), e);
        }
    }

    private static void migrate(HikariDataSource dataSource, Dialect dialect) {
        try {
            Flyway.configure()
                    .dataSource(dataSource)
                    .locations(dialect.migrationLocations())
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    private ChangeFeed changes;

    public Jdbi jdbi() {
        return jdbi;
    }

    public Dialect dialect() {
        return dialect;
    }

    /**
     * Runs {@code work} while no other replica runs work under the same name: on PostgreSQL under a session
     * advisory lock, held on a connection of its own for as long as the work runs (a replica that dies gives it
     * up with its session); on SQLite, one process's file, it just runs.
     */
    public void exclusively(String name, Runnable work) {
        if (dialect != Dialect.POSTGRESQL) {
            work.run();
            return;
        }
        jdbi.useHandle(handle -> {
            handle.createQuery("SELECT pg_advisory_lock(hashtext(:name))").bind("name", name)
                    .mapTo(String.class).one();
            try {
                work.run();
            } finally {
                handle.createQuery("SELECT pg_advisory_unlock(hashtext(:name))").bind("name", name)
                        .mapTo(Boolean.class).one();
            }
        });
    }

    /** Runs every JDBI transaction at SERIALIZABLE, through a delegate that retries serialization failures. */
    private static final class SerializedTransactions extends DelegatingTransactionHandler {
        SerializedTransactions(TransactionHandler delegate) {
            super(delegate);
        }

        @Override
        public <R, X extends Exception> R inTransaction(Handle handle, HandleCallback<R, X> callback) throws X {
            return getDelegate().inTransaction(handle, TransactionIsolationLevel.SERIALIZABLE, callback);
        }

        @Override
        public TransactionHandler specialize(Handle handle) throws SQLException {
            return new SerializedTransactions(getDelegate().specialize(handle));
        }
    }

    /**
     * A connection of its own to the store, outside the pool, with the pool's settings (a listener for the
     * {@link ChangeFeed}, which holds it for as long as it listens).
     */
    Connection unpooledConnection() throws SQLException {
        java.util.Properties properties = new java.util.Properties();
        dataSource.getDataSourceProperties().forEach(properties::put);
        if (dataSource.getUsername() != null) {
            properties.setProperty("user", dataSource.getUsername());
        }
        if (dataSource.getPassword() != null) {
            properties.setProperty("password", dataSource.getPassword());
        }
        properties.setProperty("ApplicationName", "atrium-change-feed");
        properties.setProperty("connectTimeout", "5");
        return DriverManager.getConnection(dataSource.getJdbcUrl(), properties);
    }

    /** This store's change feed, started on first use and closed with the store. */
    public synchronized ChangeFeed changes() {
        if (changes == null) {
            changes = ChangeFeed.of(this);
        }
        return changes;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (changes != null) {
                changes.close();
            }
        }
        dataSource.close();
    }
}
