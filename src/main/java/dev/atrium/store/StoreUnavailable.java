package dev.atrium.store;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.sqlite.SQLiteException;
import java.util.Set;
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
    /** Seconds a model call refused while the store refuses writes is told to wait: its writer retries each second. */
    public static final int WRITES_RETRY_AFTER_SECONDS = 5;
    private static final Logger LOG = LoggerFactory.getLogger(StoreUnavailable.class);
    /** SQLite's primary result codes for a write the disk refused: SQLITE_IOERR, SQLITE_FULL. */
    private static final Set<Integer> DISK_FAILURES = Set.of(10, 13);

    private StoreUnavailable() {}

    /** Whether {@code failure} (or one of its causes) is the store being unreachable. */
    public static boolean causedBy(Throwable failure) {
        for (Throwable e = failure; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof SQLTransientConnectionException) {
                return true; // the pool found no connection in time
            }
            if (e instanceof SQLiteException sqlite && DISK_FAILURES.contains(sqlite.getResultCode().code & 0xff)) {
                return true; // SQLite: the disk is full, or the write or fsync failed
            }
            if (e instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now
                // 53100: disk full; 58030: I/O error
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                        || state.equals("57P03") || state.equals("53100") || state.equals("58030")) {
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

    /** The refusal of a model call while the store refuses writes: its usage record could not be written. */
    public static AtriumException refusingWrites() {
        return AtriumException.retryable(ErrorCode.STORE_UNAVAILABLE, "the store cannot record usage now (its"
                + " disk is full or failing, or it cannot be reached); retry later", WRITES_RETRY_AFTER_SECONDS);
    }

    public static AtriumException refusal() {
        return AtriumException.retryable(ErrorCode.STORE_UNAVAILABLE,
                "the store is unavailable; retry shortly", RETRY_AFTER_SECONDS);
    }
}
