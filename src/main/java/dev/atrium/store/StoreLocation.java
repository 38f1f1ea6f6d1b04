package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.regex.Pattern;

/**
 * Where the metadata store lives: {@code sqlite} (the file {@code atrium.db} in the data directory, the default) or
 * a PostgreSQL database, written {@code postgresql://HOST[:PORT]/DATABASE[?user=USER&sslmode=...]} (libpq's URI
 * form). The password never appears here: it comes from the environment ({@code ATRIUM_STORE_PASSWORD}).
 *
 * @param dialect which store
 * @param jdbcUrl the PostgreSQL JDBC URL, or null for SQLite
 * @param display the location as it may be logged
 */
public record StoreLocation(Dialect dialect, String jdbcUrl, String display) {
    private static final Pattern QUERY = Pattern.compile("[A-Za-z0-9_.~%=&-]*");

    public static final StoreLocation SQLITE = new StoreLocation(Dialect.SQLITE, null, "sqlite");

    public StoreLocation {
        requireNonNull(dialect, "dialect is null");
        requireNonNull(display, "display is null");
        if ((dialect == Dialect.POSTGRESQL) != (jdbcUrl != null)) {
            throw new IllegalArgumentException("a PostgreSQL store has a JDBC URL and SQLite has none");
        }
    }

    /**
     * @throws IllegalArgumentException naming what is wrong (never echoing a password given in the URL)
     */
    public static StoreLocation parse(String text) {
        if (text.equals("sqlite")) {
            return SQLITE;
        }
        if (!text.startsWith("postgresql://") && !text.startsWith("postgres://")) {
            throw new IllegalArgumentException("expected sqlite or postgresql://HOST[:PORT]/DATABASE[?user=USER]");
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a postgresql:// URI: " + e.getReason());
        }
        if (uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("give the user as ?user=NAME and the password in ATRIUM_STORE_PASSWORD,"
                    + " not in the URI");
        }
        String host = uri.getHost();
        String path = uri.getRawPath();
        if (host == null || path == null || !path.matches("/[A-Za-z0-9_$-]{1,63}")) {
            throw new IllegalArgumentException("expected postgresql://HOST[:PORT]/DATABASE with a plain database name");
        }
        String query = uri.getRawQuery();
        if (query != null && !QUERY.matcher(query).matches()) {
            throw new IllegalArgumentException("the URI's query has characters that are not allowed");
        }
        if (uri.getRawFragment() != null) {
            throw new IllegalArgumentException("the URI has a fragment");
        }
        String hostPort = (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host)
                + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
        String jdbc = "jdbc:postgresql://" + hostPort + path + (query == null ? "" : "?" + query);
        return new StoreLocation(Dialect.POSTGRESQL, jdbc, "postgresql://" + hostPort + path);
    }

    @Override
    public String toString() {
        return display;
    }
}
