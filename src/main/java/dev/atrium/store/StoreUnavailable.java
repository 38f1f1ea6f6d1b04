package dev.atrium.store;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

/**
 * Tells a store that cannot be reached (PostgreSQL down, restarting or cut off) from other store failures, so that
 * callers get 503 with {@code Retry-After} instead of a 500, and nothing is admitted without its check.
 */
public final class StoreUnavailable {
    /** Seconds a refused caller is told to wait: about what a database restart takes. */
    public static final int RETRY_AFTER_SECONDS = 2;

    private StoreUnavailable() {}

    /** Whether {@code failure} (or one of its causes) is the store being unreachable. */
    public static boolean causedBy(Throwable failure) {
        for (Throwable e = failure; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof SQLTransientConnectionException) {
                return true; // the pool found no connection in time
            }
            if (e instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                        || state.equals("57P03")) {
                    return true;
                }
            }
        }
        return false;
    }

    public static AtriumException refusal() {
        return AtriumException.retryable(ErrorCode.STORE_UNAVAILABLE,
                "the store is unavailable; retry shortly", RETRY_AFTER_SECONDS);
    }
}
