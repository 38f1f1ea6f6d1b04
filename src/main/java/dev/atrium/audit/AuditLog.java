package dev.atrium.audit;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import dev.atrium.store.GroupCommitWriter;
import java.time.Duration;
import org.jdbi.v3.core.Handle;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only audit log. Events are queued to the store's one writer ({@link GroupCommitWriter}) and
 * written in batches with whatever else waits (one commit for many), so a flood of failed logins costs one fsync
 * per batch, not per attempt; a full queue makes callers wait rather than lose events, and a failed commit is
 * retried. Reads first wait for everything queued before them to be written.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    /** How long a caller waits for room when the store's writer is full: events are not dropped for load. */
    private static final Duration MAX_WAIT = Duration.ofSeconds(60);

    private final Jdbi jdbi;
    private final GroupCommitWriter writer;
    private final boolean ownsWriter;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition written = lock.newCondition();
    /** Audit rows, in the store's shared writer: a failed commit is retried, so an accepted event is not lost. */
    private final GroupCommitWriter.Table<Write> table = new GroupCommitWriter.Table<>() {
        @Override
        public void insert(Handle handle, List<Write> rows) {
            write(handle, rows);
        }

        @Override
        public boolean retries() {
            return true;
        }
    };
    private long enqueued;
    private long committed;

    /** An audit log that writes through the store's shared writer (with the usage ledger's rows, say). */
    public AuditLog(Jdbi jdbi, GroupCommitWriter writer) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.writer = requireNonNull(writer, "writer is null");
        this.ownsWriter = false;
    }

    /** An audit log with a writer of its own. */
    public AuditLog(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.writer = new GroupCommitWriter(jdbi, 10_000, GroupCommitWriter.CommitObserver.NONE);
        this.ownsWriter = true;
    }

    /** Appends an event; returns once it is queued. */
    public void record(AuditEvent event) {
        enqueue(new Append(event));
    }

    /**
     * Sets how many times a recorded event happened (a sampled row whose window has closed); returns once queued.
     * The row is found by its source address, action and time.
     */
    public void recount(AuditEvent event, int occurrences) {
        enqueue(new Recount(event, occurrences));
    }

    /** Deletes the rows older than {@code cutoff}; returns how many there were. */
    public int deleteOlderThan(Instant cutoff) {
        return jdbi.withHandle(handle -> handle.createUpdate("DELETE FROM audit_log WHERE time < :cutoff")
                .bind("cutoff", storedTime(cutoff))
                .execute());
    }

    private void enqueue(Write write) {
        lock.lock();
        try {
            enqueued++;
        } finally {
            lock.unlock();
        }
        try {
            writer.append(table, write, MAX_WAIT).whenComplete((done, failure) -> {
                if (failure != null) {
                    LOG.error("an audit event could not be written: {}", write, failure);
                }
                committed();
            });
        } catch (IllegalStateException e) {
            LOG.error("an audit event could not be queued: {}", write, e);
            committed();
        }
    }

    private void committed() {
        lock.lock();
        try {
            committed++;
            written.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until every event queued before this call is committed (or 10 s pass). */
    public void flush() {
        lock.lock();
        try {
            long target = enqueued;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (committed < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warn("audit log flush timed out with {} events pending", target - committed);
                    return;
                }
                written.await(left, TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    public List<AuditEvent> query(AuditQuery query) {
        flush();
        StringBuilder sql = new StringBuilder("SELECT * FROM audit_log WHERE 1 = 1");
        query.tenantId().ifPresent(t -> sql.append(" AND tenant_id = :tenant"));
        query.actorKeyId().ifPresent(a -> sql.append(" AND actor_key_id = :actor"));
        query.action().ifPresent(a -> sql.append(" AND action = :action"));
        query.from().ifPresent(f -> sql.append(" AND time >= :from"));
        query.to().ifPresent(t -> sql.append(" AND time < :to"));
        query.before().ifPresent(b -> sql.append(" AND id < :before"));
        sql.append(" ORDER BY id DESC LIMIT :limit");
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString()).bind("limit", query.limit());
            query.tenantId().ifPresent(t -> statement.bind("tenant", t));
            query.actorKeyId().ifPresent(a -> statement.bind("actor", a));
            query.action().ifPresent(a -> statement.bind("action", a));
            query.from().ifPresent(f -> statement.bind("from", EpochMicros.bound(f)));
            query.to().ifPresent(t -> statement.bind("to", EpochMicros.bound(t)));
            query.before().ifPresent(b -> statement.bind("before", b));
            return statement.map((rs, ctx) -> event(rs)).list();
        });
    }

    private static void write(Handle handle, List<Write> batch) {
        {
            PreparedBatch insert = handle.prepareBatch("""
                    INSERT INTO audit_log (time, actor_key_id, actor_prefix, tenant_id, action, target,
                                           source_address, outcome, status, occurrences)
                    VALUES (:time, :actor_key_id, :actor_prefix, :tenant_id, :action, :target,
                            :source_address, :outcome, :status, :occurrences)""");
            PreparedBatch recount = handle.prepareBatch("""
                    UPDATE audit_log SET occurrences = :occurrences
                    WHERE source_address IS NOT DISTINCT FROM :source_address AND time = :time AND action = :action""");
            for (Write write : batch) {
                switch (write) {
                    case Append(AuditEvent event) -> insert.bind("time", storedTime(event.time()))
                            .bind("actor_key_id", event.actorKeyId())
                            .bind("actor_prefix", event.actorPrefix())
                            .bind("tenant_id", event.tenantId())
                            .bind("action", event.action())
                            .bind("target", event.target())
                            .bind("source_address", event.sourceAddress())
                            .bind("outcome", event.outcome())
                            .bind("status", event.status())
                            .bind("occurrences", event.occurrences())
                            .add();
                    case Recount(AuditEvent event, int occurrences) -> recount.bind("occurrences", occurrences)
                            .bind("source_address", event.sourceAddress())
                            .bind("time", storedTime(event.time()))
                            .bind("action", event.action())
                            .add();
                }
            }
            // appends first: a recount may be for a row appended in this very batch
            if (insert.size() > 0) {
                insert.execute();
            }
            if (recount.size() > 0) {
                recount.execute();
            }
        }
    }

    /** How a time is stored in the {@code time} column; every statement that binds a time goes through here. */
    private static Object storedTime(Instant time) {
        return EpochMicros.of(time);
    }

    private sealed interface Write permits Append, Recount {}

    private record Append(AuditEvent event) implements Write {}

    private record Recount(AuditEvent event, int occurrences) implements Write {}

    private static AuditEvent event(ResultSet rs) throws SQLException {
        return new AuditEvent(rs.getLong("id"), EpochMicros.instant(rs, "time"), rs.getString("actor_key_id"),
                rs.getString("actor_prefix"), rs.getString("tenant_id"), rs.getString("action"), rs.getString("target"),
                rs.getString("source_address"), rs.getString("outcome"), rs.getInt("status"), rs.getInt("occurrences"));
    }

    /** Writes what is queued, then stops the writer. */
    @Override
    public void close() {
        flush();
        if (ownsWriter) {
            writer.close();
        }
    }
}
