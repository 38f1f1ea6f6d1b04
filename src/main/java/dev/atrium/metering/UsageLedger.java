package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.scheduling.Timeouts;
import dev.atrium.store.EpochMicros;
import dev.atrium.store.GroupCommitWriter;
import java.time.Duration;
import java.sql.Connection;
import java.sql.PreparedStatement;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jdbi.v3.core.statement.Query;

/**
 * The usage ledger: one row per request that reached an engine, durable before the response completes.
 *
 * <p>Design: group commit through the store's one writer ({@link GroupCommitWriter}), shared with the audit log.
 * Request threads hand their record to it and wait; it takes everything waiting, inserts it in one transaction
 * (one fsync: the store runs with {@code synchronous=FULL}), then releases the waiters. Under load many requests
 * share a commit; alone, a request waits for one. A record that cannot be committed fails its request. Rows are
 * inserted with {@code ON CONFLICT DO NOTHING} on the request id, so writing a record twice keeps one row.
 */
public final class UsageLedger implements AutoCloseable {
    /** A request that cannot get its record committed in this time fails rather than waits for ever. */
    private static final Duration COMMIT_TIMEOUT = Duration.ofSeconds(30);

    private final Jdbi jdbi;
    private final GroupCommitWriter writer;
    private final boolean ownsWriter;
    /** Usage records, in the store's shared writer: a record that cannot be committed fails its request. */
    private final GroupCommitWriter.Table<Entry> table = new GroupCommitWriter.Table<>() {
        /** The insert, prepared once per connection: the writer keeps its connection between commits. */
        private Connection preparedOn;
        private PreparedStatement insert;

        @Override
        public void insert(Handle handle, List<Entry> rows) {
            Connection connection = handle.getConnection();
            try {
                if (connection != preparedOn || insert.isClosed()) {
                    insert = connection.prepareStatement(INSERT);
                    preparedOn = connection;
                }
            } catch (SQLException e) {
                preparedOn = null;
                throw new UnableToExecuteStatementException(e, null);
            }
            write(insert, handle, rows);
        }

        @Override
        public boolean retries() {
            return false;
        }
    };

    /** A ledger that writes through the store's shared writer (with the audit log's rows, say). */
    public UsageLedger(Jdbi jdbi, GroupCommitWriter writer) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.writer = requireNonNull(writer, "writer is null");
        this.ownsWriter = false;
    }

    /** A ledger with a writer of its own. */
    public UsageLedger(Jdbi jdbi, AtriumMetrics metrics) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.writer = new GroupCommitWriter(jdbi, 100_000, metrics::ledgerCommit);
        this.ownsWriter = true;
    }

    /** Whether the store takes writes, as far as its writer knows ({@link GroupCommitWriter#takesWrites}). */
    public boolean takesWrites() {
        return writer.takesWrites();
    }

    /**
     * Writes a record and returns once it is committed.
     *
     * @throws IllegalStateException when it could not be committed in time: the request must not be answered
     */
    public void record(UsageRecord record) {
        record(record, null);
    }

    /**
     * Work done in the transaction that writes a usage record, after it (a budget reservation settled by the
     * record's charge), so that both are committed or neither. Not done when the record was not written (one with
     * its request id was there already). It may run more than once when the transaction is retried.
     */
    @FunctionalInterface
    public interface Settlement {
        void apply(Handle handle);
    }

    /** A record and what its transaction settles with it. */
    private record Entry(UsageRecord record, Settlement settlement) {}

    /**
     * Writes a record, with its settlement in the same transaction, and returns once it is committed.
     *
     * @param settlement null for none
     * @throws IllegalStateException when it could not be committed in time: the request must not be answered
     */
    public void record(UsageRecord record, Settlement settlement) {
        CompletableFuture<Void> committed = writer.append(table, new Entry(record, settlement), COMMIT_TIMEOUT);
        // an untimed wait, ended by the shared timer (a timed one costs two wake-ups of the JDK's delay scheduler);
        // the writer's own completion of a future the timer completed first changes nothing
        Timeouts.Timeout timeout = committed.isDone() ? null
                : Timeouts.shared().after(COMMIT_TIMEOUT, () -> committed.completeExceptionally(new NotInTime()));
        try {
            committed.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the usage record was written", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof NotInTime) {
                throw new IllegalStateException("the usage record was not committed in time", e.getCause());
            }
            throw new IllegalStateException("the usage record could not be written", e.getCause());
        } finally {
            if (timeout != null) {
                timeout.cancel();
            }
        }
    }

    /** The commit did not happen within {@link #COMMIT_TIMEOUT}. */
    private static final class NotInTime extends Exception {
        NotInTime() {
            super("not committed within " + COMMIT_TIMEOUT.toMillis() + " ms", null, false, false);
        }
    }

    private static final String INSERT = """
            INSERT INTO usage_records (request_id, client_request_id, started_at, ended_at, tenant_id,
                key_id, model, version, endpoint, outcome, input_tokens, output_tokens, requests, compute_ms,
                price_id, currency, input_charge, output_charge, request_charge, compute_charge, charge,
                audio_ms, images, row_count, audio_charge, image_charge, row_charge)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (request_id) DO NOTHING""";

    /**
     * Inserts the rows in the writer's transaction with one JDBC batch and positional parameters: Jdbi's named
     * binding cost more per row than the insert itself, on a statement every request pays for.
     *
     * @param insert {@link #INSERT}, prepared on the handle's connection
     */
    private static void write(PreparedStatement insert, Handle handle, List<Entry> batch) {
        int[] written;
        try {
            for (Entry entry : batch) {
                UsageRecord record = entry.record();
                Charge charge = record.charge();
                insert.setString(1, record.requestId());
                insert.setObject(2, record.clientRequestId()); // may be null
                insert.setLong(3, EpochMicros.of(record.startedAt()));
                insert.setLong(4, EpochMicros.of(record.endedAt()));
                insert.setString(5, record.tenantId());
                insert.setString(6, record.keyId());
                insert.setString(7, record.model());
                insert.setInt(8, record.version());
                insert.setString(9, record.endpoint());
                insert.setString(10, record.outcome());
                insert.setLong(11, record.usage().inputTokens());
                insert.setLong(12, record.usage().outputTokens());
                insert.setLong(13, record.usage().requests());
                insert.setLong(14, record.usage().computeMillis());
                insert.setObject(15, charge.priceId()); // may be null
                insert.setString(16, charge.currency());
                insert.setString(17, charge.input().toPlainString());
                insert.setString(18, charge.output().toPlainString());
                insert.setString(19, charge.request().toPlainString());
                insert.setString(20, charge.compute().toPlainString());
                insert.setString(21, charge.total().toPlainString());
                insert.setLong(22, record.usage().audioMillis());
                insert.setLong(23, record.usage().images());
                insert.setLong(24, record.usage().rows());
                insert.setString(25, charge.audio().toPlainString());
                insert.setString(26, charge.image().toPlainString());
                insert.setString(27, charge.row().toPlainString());
                insert.addBatch();
            }
            written = insert.executeBatch();
        } catch (SQLException e) {
            try {
                insert.clearBatch(); // a batch cut short must not be added to the next one
            } catch (SQLException ignored) {
                // the statement is unusable: the writer discards its connection after a failure
            }
            throw new UnableToExecuteStatementException(e, null);
        }
        for (int i = 0; i < batch.size(); i++) {
            Settlement settlement = batch.get(i).settlement();
            if (settlement != null && (i >= written.length || written[i] != 0)) {
                settlement.apply(handle);
            }
        }
    }

    /**
     * Records matching a query, newest first.
     *
     * @param before only records older than this position (the previous page's last {@code position})
     */
    public List<Positioned> records(RecordQuery query) {
        StringBuilder sql = new StringBuilder("SELECT rowid AS position, * FROM usage_records WHERE 1 = 1");
        query.tenantId().ifPresent(t -> sql.append(" AND tenant_id = :tenant"));
        query.keyId().ifPresent(k -> sql.append(" AND key_id = :key"));
        query.model().ifPresent(m -> sql.append(" AND model = :model"));
        query.requestId().ifPresent(r -> sql.append(" AND (request_id = :request OR client_request_id = :request)"));
        query.from().ifPresent(f -> sql.append(" AND started_at >= :from"));
        query.to().ifPresent(t -> sql.append(" AND started_at < :to"));
        query.before().ifPresent(b -> sql.append(" AND rowid < :before"));
        sql.append(" ORDER BY rowid DESC LIMIT :limit");
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString()).bind("limit", query.limit());
            query.tenantId().ifPresent(t -> statement.bind("tenant", t));
            query.keyId().ifPresent(k -> statement.bind("key", k));
            query.model().ifPresent(m -> statement.bind("model", m));
            query.requestId().ifPresent(r -> statement.bind("request", r));
            query.from().ifPresent(f -> statement.bind("from", EpochMicros.bound(f)));
            query.to().ifPresent(t -> statement.bind("to", EpochMicros.bound(t)));
            query.before().ifPresent(b -> statement.bind("before", b));
            return statement.map((rs, ctx) -> new Positioned(rs.getLong("position"), record(rs))).list();
        });
    }

    /** A record and its position in the ledger, for paging. */
    public record Positioned(long position, UsageRecord record) {}

    /** Streams every record of a tenant (all tenants when null) started in [from, to), oldest first. */
    public void forEach(String tenantId, Instant from, Instant to, Consumer<UsageRecord> consumer) {
        jdbi.useHandle(handle -> handle.createQuery("""
                        SELECT * FROM usage_records
                        WHERE (:tenant IS NULL OR tenant_id = :tenant) AND started_at >= :from AND started_at < :to
                        ORDER BY started_at, request_id""")
                .bind("tenant", tenantId)
                .bind("from", EpochMicros.bound(from))
                .bind("to", EpochMicros.bound(to))
                .map((rs, ctx) -> record(rs))
                .forEach(consumer));
    }

    /** The sum of charges in a currency of a tenant's or key's records started in [from, to). */
    public BigDecimal spent(Optional<String> tenantId, Optional<String> keyId, String currency, Instant from, Instant to) {
        List<String> charges = jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT charge FROM usage_records
                        WHERE (:tenant IS NULL OR tenant_id = :tenant) AND (:key IS NULL OR key_id = :key)
                          AND currency = :currency AND started_at >= :from AND started_at < :to""")
                .bind("tenant", tenantId.orElse(null))
                .bind("key", keyId.orElse(null))
                .bind("currency", currency)
                .bind("from", EpochMicros.bound(from))
                .bind("to", EpochMicros.bound(to))
                .mapTo(String.class)
                .list());
        return charges.stream().map(BigDecimal::new).reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    static UsageRecord record(ResultSet rs) throws SQLException {
        long priceId = rs.getLong("price_id");
        Long price = rs.wasNull() ? null : priceId;
        return new UsageRecord(rs.getString("request_id"), rs.getString("client_request_id"),
                EpochMicros.instant(rs, "started_at"), EpochMicros.instant(rs, "ended_at"),
                rs.getString("tenant_id"), rs.getString("key_id"), rs.getString("model"), rs.getInt("version"),
                rs.getString("endpoint"), rs.getString("outcome"),
                new Usage(rs.getLong("input_tokens"), rs.getLong("output_tokens"), rs.getLong("requests"),
                        rs.getLong("compute_ms"), rs.getLong("audio_ms"), rs.getLong("images"), rs.getLong("row_count")),
                new Charge(rs.getString("currency"), price, new BigDecimal(rs.getString("input_charge")),
                        new BigDecimal(rs.getString("output_charge")), new BigDecimal(rs.getString("request_charge")),
                        new BigDecimal(rs.getString("compute_charge")), new BigDecimal(rs.getString("audio_charge")),
                        new BigDecimal(rs.getString("image_charge")), new BigDecimal(rs.getString("row_charge"))));
    }

    /** Commits what is queued, then stops the writer. */
    @Override
    public void close() {
        if (ownsWriter) {
            writer.close();
        }
    }
}
