package dev.atrium.store;

/** The SQL dialects the store runs on; each has its own folder of migrations where they must differ. */
public enum Dialect {
    SQLITE("classpath:db/migration"),
    POSTGRESQL("classpath:db/postgresql");

    private final String migrations;

    Dialect(String migrations) {
        this.migrations = migrations;
    }

    /** Flyway's locations of this dialect's migrations: its own folder, then those both dialects run. */
    String[] migrationLocations() {
        return new String[] {migrations, "classpath:db/common"};
    }
}
