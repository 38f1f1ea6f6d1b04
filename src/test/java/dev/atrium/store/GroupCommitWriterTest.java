package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's one writer: rows of several tables commit together, and each table's failures follow its policy. */
class GroupCommitWriterTest {
    @TempDir
    Path directory;

    private Jdbi jdbi;
    private GroupCommitWriter writer;
    private final AtomicInteger commits = new AtomicInteger();

    @BeforeEach
    void open() {
        jdbi = Jdbi.create("jdbc:sqlite:" + directory.resolve("store.db"));
        jdbi.useHandle(handle -> {
            handle.execute("CREATE TABLE ledger (id TEXT PRIMARY KEY)");
            handle.execute("CREATE TABLE audit (id TEXT NOT NULL)");
        });
        writer = new GroupCommitWriter(jdbi, 1000, (nanos, rows) -> commits.incrementAndGet());
    }

    @AfterEach
    void close() {
        writer.close();
    }

    /** A table whose inserts fail while {@code failures} is above zero, counting it down. */
    private static GroupCommitWriter.Table<String> table(String name, boolean retries, AtomicInteger failures) {
        return new GroupCommitWriter.Table<>() {
            @Override
            public void insert(Handle handle, List<String> rows) {
                if (failures.getAndDecrement() > 0) {
                    throw new IllegalStateException("disk full");
                }
                for (String row : rows) {
                    handle.execute("INSERT INTO " + name + " (id) VALUES (?)", row);
                }
            }

            @Override
            public boolean retries() {
                return retries;
            }
        };
    }

    private int count(String table) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM " + table).mapTo(Integer.class).one());
    }

    @Test
    void rowsOfTwoTables_commitTogether() throws Exception {
        GroupCommitWriter.Table<String> ledger = table("ledger", false, new AtomicInteger());
        GroupCommitWriter.Table<String> audit = table("audit", true, new AtomicInteger());
        List<CompletableFuture<Void>> futures = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            futures.add(writer.append(ledger, "r" + i, Duration.ofSeconds(1)));
            futures.add(writer.append(audit, "a" + i, Duration.ofSeconds(1)));
        }
        for (CompletableFuture<Void> future : futures) {
            future.get(10, TimeUnit.SECONDS);
        }
        assertThat(count("ledger")).isEqualTo(200);
        assertThat(count("audit")).isEqualTo(200);
        assertThat(commits.get()).as("rows share commits").isLessThan(400);
    }

    /**
     * As when a batch of model calls ends: its records arrive a few tens of microseconds apart. Without the
     * writer's linger the first row commits alone (it wakes the writer) and the rest share a second commit.
     * A row alone does not wait for company: it commits as soon as the writer wakes.
     */
    @Test
    void rowsArrivingMomentsApart_shareOneCommit() throws Exception {
        GroupCommitWriter.Table<String> ledger = table("ledger", false, new AtomicInteger());
        int bursts = 8;
        for (int burst = 0; burst < bursts; burst++) {
            int before = commits.get();
            List<CompletableFuture<Void>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(writer.append(ledger, burst + "-" + i, Duration.ofSeconds(1)));
                long until = System.nanoTime() + 20_000;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            for (CompletableFuture<Void> future : futures) {
                future.get(10, TimeUnit.SECONDS);
            }
            assertThat(commits.get() - before).as("commits of burst %d", burst).isPositive();
        }
        assertThat(count("ledger")).isEqualTo(8 * bursts);
        // one commit per burst once bursts are seen (the first burst's first row commits alone), and one burst
        // may be split by a pause of this thread on a busy machine; without the linger every burst takes two
        assertThat(commits.get()).as("commits for %d bursts of 8 rows", bursts).isLessThanOrEqualTo(bursts + 2);
    }

    @Test
    void aFailingTableThatRetries_isWrittenLater_andDoesNotFailTheOtherTable() throws Exception {
        GroupCommitWriter.Table<String> ledger = table("ledger", false, new AtomicInteger());
        GroupCommitWriter.Table<String> audit = table("audit", true, new AtomicInteger(2));
        CompletableFuture<Void> event = writer.append(audit, "a", Duration.ofSeconds(1));
        CompletableFuture<Void> record = writer.append(ledger, "r", Duration.ofSeconds(1));
        record.get(10, TimeUnit.SECONDS);
        event.get(10, TimeUnit.SECONDS);
        assertThat(count("ledger")).isEqualTo(1);
        assertThat(count("audit")).as("written once it could be").isEqualTo(1);
    }

    @Test
    void aFailingTableThatDoesNotRetry_failsItsRows() {
        // fails in the shared commit and again alone
        GroupCommitWriter.Table<String> ledger = table("ledger", false, new AtomicInteger(2));
        CompletableFuture<Void> record = writer.append(ledger, "r", Duration.ofSeconds(1));
        assertThatThrownBy(() -> record.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasRootCauseMessage("disk full");
        assertThat(count("ledger")).isZero();
    }

    @Test
    void aRowThatCanNeverBeWritten_isGivenUp_andBlocksNothing() throws Exception {
        GroupCommitWriter.Table<String> audit = table("audit", true, new AtomicInteger(Integer.MAX_VALUE));
        GroupCommitWriter.Table<String> ledger = table("ledger", false, new AtomicInteger());
        CompletableFuture<Void> poison = writer.append(audit, "never", Duration.ofSeconds(1));
        for (int i = 0; i < 5; i++) {
            writer.append(ledger, "r" + i, Duration.ofSeconds(1)).get(10, TimeUnit.SECONDS);
        }
        assertThat(count("ledger")).isEqualTo(5);
        assertThatThrownBy(() -> poison.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }

    @Test
    void append_afterClose_isRefused() {
        writer.close();
        assertThatThrownBy(() -> writer.append(table("ledger", false, new AtomicInteger()), "r", Duration.ZERO))
                .isInstanceOf(IllegalStateException.class);
    }
}
