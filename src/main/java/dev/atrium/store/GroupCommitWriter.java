package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer of the store's append-only tables (the usage ledger, the audit log): rows from any thread are
 * queued, and one platform thread takes everything waiting and inserts it in one transaction (one fsync), table
 * by table, then completes each row's future. Under load many rows share a commit; alone, a row waits for one.
 *
 * <p>Each table says what happens when a commit fails: rows of a table that {@linkplain Table#retries() retries}
 * go back to the head of the queue and are written again after a pause (nothing accepted is lost); the others'
 * futures fail, for their callers to decide (a request whose usage record cannot be written is not answered).
 * The queue is bounded: a caller waits for room at most as long as it says.
 *
 * <p>Its transactions run at READ COMMITTED, not the store's SERIALIZABLE: they append rows, and what they update
 * besides (a budget's account, settled with its usage record) is one {@code UPDATE ... SET x = x + n} that locks
 * its row and re-reads it, which is exact at READ COMMITTED. On PostgreSQL that spares replicas settling one
 * tenant's account at once from failing each other's commits with serialization errors and writing them again;
 * on SQLite writers are serialized whatever the level.
 *
 * <p>Thread-safe.
 */
public final class GroupCommitWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitWriter.class);
    private static final int MAX_BATCH = 1000;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(500);
    /** A row of a retrying table that failed this often is given up, so that it cannot block the others for ever. */
    private static final int MAX_ATTEMPTS = 20;
    /**
     * Once rows wait, and the last commit held more than one (rows come in bursts), the writer lets more join while
     * they keep coming: it waits in steps of this long, for as long as a step brought a row, up to
     * {@link #LINGER_MAX_NANOS} in all. A batch of model calls ends together and its records arrive within a
     * fraction of a millisecond of each other; one commit (one fsync) then takes them all, where without the wait
     * the first would commit alone and the rest wait for a second commit. Rows that come one at a time (the last
     * commit held one) do not wait.
     */
    private static final long LINGER_STEP_NANOS = 150_000;
    private static final long LINGER_MAX_NANOS = 1_000_000;
    /** While the store refuses writes and no row is waiting, the writer tries a one-row write this often. */
    private static final long PROBE_INTERVAL_NANOS = 1_000_000_000L;
    private static final String PROBE = "INSERT INTO store_probe (id, written_at) VALUES (1, :at)"
            + " ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at";

    /** Told of each commit, for metrics. */
    @FunctionalInterface
    public interface CommitObserver {
        void committed(long nanos, int rows);

        CommitObserver NONE = (nanos, rows) -> { };
    }

    /** How the rows of one table are written: all of one commit's in one batch, inside the writer's transaction. */
    public interface Table<T> {
        void insert(Handle handle, List<T> rows);

        /** Whether rows that failed to commit are written again (true) or fail their futures (false). */
        boolean retries();
    }

    /** @param attempts commits that failed for this row so far */
    private record Pending<T>(Table<T> table, T row, CompletableFuture<Void> committed, int attempts) {
        Pending<T> failedOnce() {
            return new Pending<>(table, row, committed, attempts + 1);
        }
    }

    private final Jdbi jdbi;
    private final int capacity;
    private final CommitObserver onCommit;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition notFull = lock.newCondition();
    private final ArrayDeque<Pending<?>> queue = new ArrayDeque<>();
    private final Thread writer;
    private boolean closing;
    /**
     * The writer thread's own handle, kept from one commit to the next (opened on first use, and again after a
     * failure): borrowing a pooled connection, setting its isolation level and preparing the tables' statements
     * anew for each commit cost a third of the writer's time.
     */
    private Handle handle;
    /** Rows in the last commit: more than one, and the writer lingers for more (only the writer thread). */
    private int lastCommitRows;
    /**
     * Whether the last write failed because the store cannot take writes (a full disk, a database that cannot be
     * reached: {@link StoreUnavailable#causedBy}); cleared by the next write that commits, the writer's probe
     * included.
     */
    private volatile boolean refusingWrites;
    private long lastProbeNanos;

    /**
     * @param capacity rows that may wait at once
     * @param onCommit told of each commit
     */
    public GroupCommitWriter(Jdbi jdbi, int capacity, CommitObserver onCommit) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.onCommit = requireNonNull(onCommit, "onCommit is null");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.capacity = capacity;
        this.writer = Thread.ofPlatform().name("store-writer").daemon(true).start(this::writeLoop);
    }

    /**
     * Queues a row; its future completes once the row is committed (or fails, for a table that does not retry).
     *
     * @param maxWait how long to wait for room in a full queue
     * @throws IllegalStateException when the writer is closed, or the queue stayed full
     */
    public <T> CompletableFuture<Void> append(Table<T> table, T row, Duration maxWait) {
        requireNonNull(table, "table is null");
        requireNonNull(row, "row is null");
        CompletableFuture<Void> committed = new CompletableFuture<>();
        lock.lock();
        try {
            long left = maxWait.toNanos();
            while (!closing && queue.size() >= capacity) {
                if (left <= 0) {
                    throw new IllegalStateException("the store's writer has " + capacity + " rows waiting");
                }
                left = notFull.awaitNanos(left);
            }
            if (closing) {
                throw new IllegalStateException("the store's writer is closed");
            }
            queue.addLast(new Pending<>(table, row, committed, 0));
            if (queue.size() == 1) {
                notEmpty.signal(); // the writer waits for a first row; while it lingers, it looks again by itself
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the store's writer", e);
        } finally {
            lock.unlock();
        }
        return committed;
    }

    /**
     * Whether the store takes writes, as far as the last write knows. While it does not, model calls are refused
     * before they run ({@code Metering}): a call whose usage record cannot be written must not reach a model.
     */
    public boolean takesWrites() {
        return !refusingWrites;
    }

    /** Rows waiting to be written. */
    public int waiting() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    private void writeLoop() {
        while (true) {
            List<Pending<?>> batch = new ArrayList<>();
            boolean probe = false;
            lock.lock();
            try {
                while (queue.isEmpty() && !closing) {
                    if (refusingWrites && System.nanoTime() - lastProbeNanos >= PROBE_INTERVAL_NANOS) {
                        probe = true;
                        break;
                    }
                    notEmpty.await(100, TimeUnit.MILLISECONDS);
                }
                if (probe) {
                    lastProbeNanos = System.nanoTime();
                } else if (queue.isEmpty()) {
                    discardHandle();
                    return; // closing, and nothing left
                }
                if (!probe) {
                    if (lastCommitRows > 1) {
                        linger();
                    }
                    while (!queue.isEmpty() && batch.size() < MAX_BATCH) {
                        batch.add(queue.pollFirst());
                    }
                    lastCommitRows = batch.size();
                    notFull.signalAll();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                discardHandle();
                return;
            } finally {
                lock.unlock();
            }
            if (probe) {
                probe();
            } else {
                write(batch);
            }
        }
    }

    /** One row rewritten, to learn whether the store takes writes again. */
    private void probe() {
        try {
            handle().useTransaction(transaction -> transaction.createUpdate(PROBE)
                    .bind("at", EpochMicros.of(java.time.Instant.now())).execute());
            refusingWrites = false;
            LOG.info("the store takes writes again");
        } catch (RuntimeException e) {
            discardHandle();
            LOG.debug("the store still refuses writes", e);
        }
    }

    /** Notes a failed write: one because the store cannot take writes makes model calls be refused meanwhile. */
    private void failed(RuntimeException failure) {
        if (StoreUnavailable.causedBy(failure) && !refusingWrites) {
            refusingWrites = true;
            lastProbeNanos = System.nanoTime();
            LOG.error("the store refuses writes ({}): model calls are refused until it takes them again",
                    rootMessage(failure));
        }
    }

    private static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    /** With the lock held and rows waiting: lets more rows join while they keep coming (see LINGER_STEP_NANOS). */
    private void linger() throws InterruptedException {
        long deadline = System.nanoTime() + LINGER_MAX_NANOS;
        int seen = queue.size();
        while (!closing && seen < MAX_BATCH) {
            long left = Math.min(LINGER_STEP_NANOS, deadline - System.nanoTime());
            if (left <= 0) {
                return;
            }
            notEmpty.awaitNanos(left);
            if (queue.size() == seen) {
                return; // a step without a new row: the rest of this burst has arrived
            }
            seen = queue.size();
        }
    }

    private void write(List<Pending<?>> batch) {
        Map<Table<?>, List<Pending<?>>> byTable = new LinkedHashMap<>();
        for (Pending<?> pending : batch) {
            byTable.computeIfAbsent(pending.table(), table -> new ArrayList<>()).add(pending);
        }
        long start = System.nanoTime();
        try {
            handle().useTransaction(transaction -> byTable.forEach((table, rows) -> insert(transaction, table, rows)));
            onCommit.committed(System.nanoTime() - start, batch.size());
            refusingWrites = false;
            batch.forEach(pending -> pending.committed().complete(null));
            return;
        } catch (RuntimeException e) {
            discardHandle(); // its connection may be what failed
            failed(e);
            LOG.warn("a commit of {} rows failed; writing each table's rows alone", batch.size(), e);
        }
        // one table's rows must not fail another's: each on its own, each failure by its table's policy
        List<Pending<?>> retried = new ArrayList<>();
        byTable.forEach((table, rows) -> {
            try {
                handle().useTransaction(transaction -> insert(transaction, table, rows));
                refusingWrites = false;
                rows.forEach(pending -> pending.committed().complete(null));
            } catch (RuntimeException failure) {
                discardHandle();
                failed(failure);
                for (Pending<?> pending : rows) {
                    if (table.retries() && pending.attempts() + 1 < MAX_ATTEMPTS) {
                        retried.add(pending.failedOnce());
                    } else {
                        pending.committed().completeExceptionally(failure);
                    }
                }
                LOG.error("committing {} rows failed{}", rows.size(), table.retries() ? "; they will be written again"
                        : "", failure);
            }
        });
        if (!retried.isEmpty()) {
            requeue(retried);
        }
    }

    /** The writer thread's handle, at READ COMMITTED (see the class comment); only the writer thread calls it. */
    private Handle handle() {
        if (handle == null) {
            Handle opened = jdbi.open();
            try {
                opened.setTransactionIsolationLevel(TransactionIsolationLevel.READ_COMMITTED);
            } catch (RuntimeException e) {
                opened.close();
                throw e;
            }
            handle = opened;
        }
        return handle;
    }

    private void discardHandle() {
        if (handle != null) {
            try {
                handle.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the writer's handle failed", e);
            }
            handle = null;
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> void insert(Handle handle, Table<?> table, List<Pending<?>> rows) {
        List<T> values = new ArrayList<>(rows.size());
        for (Pending<?> pending : rows) {
            values.add((T) pending.row());
        }
        ((Table<T>) table).insert(handle, values);
    }

    /** Rows that retry go back first in line, after a pause. */
    private void requeue(List<Pending<?>> retried) {
        try {
            Thread.sleep(RETRY_PAUSE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            for (int i = retried.size() - 1; i >= 0; i--) {
                queue.addFirst(retried.get(i));
            }
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Writes what is queued, then stops the writer. */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            notEmpty.signalAll();
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
