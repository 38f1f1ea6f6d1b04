package dev.atrium.store;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a store that cannot be reached (PostgreSQL down, restarting or cut off) from other store failures, so that
 * callers get 503 with {@code Retry-After} instead of a 500, and nothing is admitted without its check.
 */
public final class StoreUnavailable {
    /** Seconds a refused caller is told to wait: about what a database restart takes. */
    public static final int RETRY_AFTER_SECONDS = 2;
    /** Seconds a caller refused for a failed disk write (a full disk, mostly) is told to wait: an operator's fix. */
    public static final int DISK_RETRY_AFTER_SECONDS = 60;
    private static final Logger LOG = LoggerFactory.getLogger(StoreUnavailable.class);

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

    /**
     * The refusal for a write to this server's own disk that failed (no space left, a read-only or failing disk):
     * 503 with {@code Retry-After}, never the client's fault. The cause is logged for the operator, never sent.
     *
     * @param what what was being stored, for both: "the upload", "the file"
     */
    public static AtriumException diskWriteFailed(String what, IOException cause) {
        LOG.error("writing {} to the local disk failed: {}", what, cause.toString());
        return AtriumException.retryable(ErrorCode.STORE_UNAVAILABLE, "the server cannot store " + what
                + " now: writing it to its disk failed; retry later", DISK_RETRY_AFTER_SECONDS);
    }

    public static AtriumException refusal() {
        return AtriumException.retryable(ErrorCode.STORE_UNAVAILABLE,
                "the store is unavailable; retry shortly", RETRY_AFTER_SECONDS);
    }
}
