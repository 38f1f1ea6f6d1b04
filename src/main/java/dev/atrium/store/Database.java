package dev.atrium.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The metadata store: a SQLite file in the data directory (WAL, foreign keys on, {@code synchronous=FULL}),
 * migrated by Flyway at open, reached through JDBI over a small HikariCP pool.
 */
public final class Database implements AutoCloseable {
    private final HikariDataSource dataSource;
    private final Jdbi jdbi;

    private Database(HikariDataSource dataSource) {
        this.dataSource = dataSource;
        this.jdbi = Jdbi.create(dataSource);
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
        try {
            Flyway.configure()
                    .dataSource(dataSource)
                    .locations("classpath:db/migration")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        return new Database(dataSource);
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
