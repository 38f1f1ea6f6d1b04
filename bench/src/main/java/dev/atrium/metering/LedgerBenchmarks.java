package dev.atrium.metering;

import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One usage record written and committed alone (as a request does when it is the only one in flight), through
 * the store's one writer into a SQLite file with {@code synchronous=FULL}: the ledger's cost per commit. The file
 * lies in {@code atrium.bench.dir} (default the temporary directory; a tmpfs such as {@code /dev/shm} leaves out the
 * disk's fsync and measures the CPU alone).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LedgerBenchmarks {
    private Path directory;
    private Database database;
    private UsageLedger ledger;
    private final AtomicLong ids = new AtomicLong();
    private final Instant now = Instant.parse("2026-12-03T12:00:00Z");

    @Setup(Level.Trial)
    public void open() throws IOException {
        directory = Files.createTempDirectory(Path.of(System.getProperty("atrium.bench.dir",
                System.getProperty("java.io.tmpdir"))), "ledger-bench-");
        database = Database.openSqlite(directory.resolve("atrium.db"));
        ledger = new UsageLedger(database.jdbi(), new AtriumMetrics());
    }

    @TearDown(Level.Trial)
    public void close() {
        ledger.close();
        database.close();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Benchmark
    public void recordAlone() {
        ledger.record(new UsageRecord("req_" + ids.incrementAndGet(), null, now, now, "ten_bench", "key_bench",
                "all-minilm-l6-v2", 1, "/v1/embeddings", "ok", new Usage(16, 0, 1, 2), Charge.free()));
    }
}
