package dev.atrium.testing;

import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.StoreLocation;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Opens a store of either dialect for tests that run one body on both ({@code @ParameterizedClass} over
 * {@link Dialect}): SQLite in the test's directory, or a new database in the shared {@link PostgresServer}. Where
 * PostgreSQL cannot run, the PostgreSQL run is skipped with the reason printed.
 */
public final class Stores {
    private Stores() {}

    public static Database open(Dialect dialect, Path directory) {
        return switch (dialect) {
            case SQLITE -> Database.openSqlite(directory.resolve("atrium.db"));
            case POSTGRESQL -> {
                PostgresServer postgres = postgres();
                yield Database.openPostgresql(StoreLocation.parse(postgres.newDatabase()), postgres.password());
            }
        };
    }

    /** Server settings (and environment) that put a {@link TestServer} on a store of this dialect. */
    public static Map<String, String> serverSettings(Dialect dialect) {
        return dialect == Dialect.SQLITE ? Map.of() : Map.of("store", postgres().newDatabase());
    }

    public static Map<String, String> serverEnvironment(Dialect dialect) {
        return dialect == Dialect.SQLITE ? Map.of() : postgres().environment();
    }

    /** The shared cluster, or the calling test aborted with the reason printed. */
    public static PostgresServer postgres() {
        PostgresServer postgres = PostgresServer.shared().orElse(null);
        if (postgres == null) {
            String reason = "skipped on PostgreSQL: " + PostgresServer.unavailableReason();
            System.err.println(reason);
            Assumptions.abort(reason);
        }
        return postgres;
    }
}
