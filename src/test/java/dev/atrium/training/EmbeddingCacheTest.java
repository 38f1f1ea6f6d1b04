package dev.atrium.training;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.EncryptedFiles;
import dev.atrium.store.TenantKeys;
import dev.atrium.testing.SettableClock;
import dev.atrium.testing.Stores;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The embedding cache over the real store: a real SQLite database with the migrations, tenants' data keys, and
 * blobs encrypted on disk as tenants' files are. Bit-exact round trips, misses for every part of the key, corrupt
 * and mismatching blobs ignored, per-tenant least-recently-used bounds, and erasure with the files and the tenant.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Dialect.class)
class EmbeddingCacheTest {
    @Parameter
    Dialect dialect;

    private static final int DIMENSION = 8;
    private static final List<String> TEXTS = List.of("the striker scored twice", "simmer the sauce slowly",
            "the server crashed overnight");

    @TempDir
    Path directory;

    private final SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
    private Database database;
    private Path blobs;
    private TrainingFiles files;
    private EmbeddingCache cache;

    @BeforeEach
    void open() {
        database = Stores.open(dialect, directory);
        byte[] master = new byte[32];
        new SplittableRandom(3).nextBytes(master);
        TenantKeys keys = new TenantKeys(database.jdbi(), master, clock, 100, Duration.ofMinutes(5));
        blobs = directory.resolve("tenant-files");
        files = new TrainingFiles(database.jdbi(), new EncryptedFileStore(new EncryptedFiles(blobs, keys)), clock,
                1 << 20, new EmbeddingCache.Limits(3, 64 * 1024));
        cache = files.embeddings();
    }

    @AfterEach
    void close() {
        database.close();
    }

    @Test
    void get_afterPut_givesBackEveryVectorBitForBit() {
        TrainingFile file = upload("ten_a", "rows.jsonl", 1);
        List<float[]> vectors = new ArrayList<>(vectors(TEXTS.size(), 5));
        // values a lossy encoding would change: signed zero, subnormals, extremes, infinities and a NaN payload
        vectors.set(1, new float[] {-0.0f, Float.MIN_VALUE, -Float.MIN_NORMAL / 3, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc00123)});
        cache.put(key("ten_a", file), TEXTS, vectors);

        List<float[]> cached = cache.get(key("ten_a", file), TEXTS, DIMENSION).orElseThrow();

        assertThat(cached).hasSize(vectors.size());
        for (int row = 0; row < vectors.size(); row++) {
            for (int i = 0; i < DIMENSION; i++) {
                assertThat(Float.floatToRawIntBits(cached.get(row)[i])).as("row %d, value %d", row, i)
                        .isEqualTo(Float.floatToRawIntBits(vectors.get(row)[i]));
            }
        }
        EmbeddingCache.Entry entry = cache.entries("ten_a").getFirst();
        assertThat(entry.rows()).isEqualTo(3);
        assertThat(entry.dimension()).isEqualTo(DIMENSION);
        assertThat(entry.fileSha256()).isEqualTo(file.sha256());
        assertThat(entry.bytes()).isEqualTo(EmbeddingCache.HEADER_BYTES + 4L * 3 * DIMENSION);
    }

    @Test
    void put_ofAKeyKeptAlready_keepsTheFirstEntryAndDropsTheOtherBlob_forTenantsAndThePlatformAlike() {
        for (String tenant : java.util.Arrays.asList("ten_a", null)) {
            TrainingFile file = upload(tenant, "rows.jsonl", 1);
            cache.put(key(tenant, file), TEXTS, vectors(3, 1));
            cache.put(key(tenant, file), TEXTS, vectors(3, 2)); // a second job that embedded it at the same time

            assertThat(cache.entries(tenant)).hasSize(1);
            assertThat(blobFiles(tenant == null ? EncryptedFileStore.PLATFORM : tenant)).hasSize(2);
            assertThat(cache.get(key(tenant, file), TEXTS, DIMENSION).orElseThrow().getFirst())
                    .containsExactly(vectors(3, 1).getFirst());
        }
    }

    @Test
    void get_withAnyPartOfTheKeyOther_misses() {
        TrainingFile file = upload("ten_a", "rows.jsonl", 1);
        TrainingFile other = upload("ten_a", "other.jsonl", 2);
        cache.put(key("ten_a", file), TEXTS, vectors(3, 1));

        EmbeddingCache.Key kept = key("ten_a", file);
        assertThat(cache.get(kept, TEXTS, DIMENSION)).isPresent();
        assertThat(cache.get(key("ten_a", other), TEXTS, DIMENSION)).as("another file").isEmpty();
        assertThat(cache.get(new EmbeddingCache.Key("ten_a", "minilm:2", kept.modelSha256(), kept.settings(),
                kept.fileSha256()), TEXTS, DIMENSION)).as("another version").isEmpty();
        assertThat(cache.get(new EmbeddingCache.Key("ten_a", kept.modelVersion(), "f".repeat(64), kept.settings(),
                kept.fileSha256()), TEXTS, DIMENSION)).as("the same name uploaded again").isEmpty();
        assertThat(cache.get(new EmbeddingCache.Key("ten_a", kept.modelVersion(), kept.modelSha256(),
                kept.settings() + ";truncate=false", kept.fileSha256()), TEXTS, DIMENSION)).as("other settings")
                .isEmpty();
        assertThat(cache.get(kept, TEXTS, DIMENSION)).as("the misses left the entry").isPresent();
    }

    @Test
    void get_byAnotherTenant_withIdenticalBytes_misses() {
        TrainingFile mine = upload("ten_a", "rows.jsonl", 1);
        TrainingFile theirs = upload("ten_b", "rows.jsonl", 1);
        assertThat(theirs.sha256()).isEqualTo(mine.sha256());
        cache.put(key("ten_a", mine), TEXTS, vectors(3, 1));

        assertThat(cache.get(key("ten_b", theirs), TEXTS, DIMENSION)).isEmpty();
        assertThat(cache.entries("ten_b")).isEmpty();
        cache.put(key("ten_b", theirs), TEXTS, vectors(3, 2));
        assertThat(cache.entries("ten_b")).singleElement().extracting(EmbeddingCache.Entry::blob)
                .isNotEqualTo(cache.entries("ten_a").getFirst().blob());
        assertThat(cache.get(key("ten_a", mine), TEXTS, DIMENSION).orElseThrow().getFirst())
                .containsExactly(vectors(3, 1).getFirst());
    }

    @Test
    void get_ofACorruptOrTruncatedBlob_missesAndDropsTheEntry() throws IOException {
        TrainingFile file = upload("ten_a", "rows.jsonl", 1);
        for (boolean truncate : new boolean[] {false, true}) {
            cache.put(key("ten_a", file), TEXTS, vectors(3, 1));
            Path blob = blobs.resolve("ten_a").resolve(cache.entries("ten_a").getFirst().blob());
            byte[] bytes = Files.readAllBytes(blob);
            if (truncate) {
                Files.write(blob, java.util.Arrays.copyOf(bytes, bytes.length - 40));
            } else {
                bytes[bytes.length / 2] ^= 1;
                Files.write(blob, bytes);
            }

            assertThat(cache.get(key("ten_a", file), TEXTS, DIMENSION)).as("truncated " + truncate).isEmpty();
            assertThat(cache.entries("ten_a")).isEmpty();
            assertThat(blob).doesNotExist();
        }
        cache.put(key("ten_a", file), TEXTS, vectors(3, 1));
        assertThat(cache.get(key("ten_a", file), TEXTS, DIMENSION)).as("kept again").isPresent();
    }

    @Test
    void get_ofAnEntryPointingAtAnotherEntrysBlob_misses() {
        TrainingFile first = upload("ten_a", "rows.jsonl", 1);
        TrainingFile second = upload("ten_a", "other.jsonl", 2);
        cache.put(key("ten_a", first), TEXTS, vectors(3, 1));
        clock.advance(Duration.ofMinutes(1));
        cache.put(key("ten_a", second), TEXTS, vectors(3, 2));
        String secondBlob = cache.entries("ten_a").getFirst().blob();
        database.jdbi().useHandle(handle -> handle.createUpdate(
                        "UPDATE embedding_cache SET blob = :blob WHERE file_sha256 = :sha256")
                .bind("blob", secondBlob).bind("sha256", first.sha256()).execute());

        // it decrypts (the tenant's own), but its header names the other file's key
        assertThat(cache.get(key("ten_a", first), TEXTS, DIMENSION)).isEmpty();
        assertThat(cache.entries("ten_a")).extracting(EmbeddingCache.Entry::fileSha256)
                .containsExactly(second.sha256());
        assertThat(cache.get(key("ten_a", second), TEXTS, DIMENSION)).as("the blob's own entry").isPresent();
    }

    @Test
    void get_forOtherTextsOrAnotherCountOrDimension_missesAndDropsTheEntry() {
        TrainingFile file = upload("ten_a", "rows.jsonl", 1);
        List<Runnable> mismatches = List.of(
                () -> assertThat(cache.get(key("ten_a", file), TEXTS.subList(0, 2), DIMENSION)).isEmpty(),
                () -> assertThat(cache.get(key("ten_a", file), TEXTS, DIMENSION + 1)).isEmpty(),
                () -> assertThat(cache.get(key("ten_a", file), List.of("other", "texts", "here"), DIMENSION))
                        .isEmpty());
        for (Runnable mismatch : mismatches) {
            cache.put(key("ten_a", file), TEXTS, vectors(3, 1));
            mismatch.run();
            assertThat(cache.entries("ten_a")).isEmpty();
            assertThat(blobFiles("ten_a")).containsExactly(file.blob()); // the file's, and no embeddings
        }
    }

    @Test
    void put_pastTheEntryLimit_evictsTheLeastRecentlyUsed() {
        List<TrainingFile> uploaded = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            uploaded.add(upload("ten_a", "rows" + i + ".jsonl", i));
        }
        for (int i = 0; i < 3; i++) {
            clock.advance(Duration.ofMinutes(1));
            cache.put(key("ten_a", uploaded.get(i)), TEXTS, vectors(3, i));
        }
        clock.advance(Duration.ofMinutes(1));
        assertThat(cache.get(key("ten_a", uploaded.get(0)), TEXTS, DIMENSION)).isPresent(); // the first used again
        String second = cache.entries("ten_a").stream()
                .filter(entry -> entry.fileSha256().equals(uploaded.get(1).sha256())).findFirst().orElseThrow().blob();

        clock.advance(Duration.ofMinutes(1));
        cache.put(key("ten_a", uploaded.get(3)), TEXTS, vectors(3, 3));

        assertThat(cache.entries("ten_a")).extracting(EmbeddingCache.Entry::fileSha256).containsExactly(
                uploaded.get(3).sha256(), uploaded.get(0).sha256(), uploaded.get(2).sha256());
        assertThat(cache.get(key("ten_a", uploaded.get(1)), TEXTS, DIMENSION)).isEmpty();
        assertThat(blobFiles("ten_a")).hasSize(3 + 4).doesNotContain(second); // three entries, four files
    }

    @Test
    void put_pastTheByteLimit_evicts_andVectorsLargerThanIt_areNotKept() {
        TrainingFile small = upload("ten_a", "small.jsonl", 1);
        TrainingFile large = upload("ten_a", "large.jsonl", 2);
        TrainingFile huge = upload("ten_a", "huge.jsonl", 3);
        List<String> many = java.util.stream.IntStream.range(0, 1200).mapToObj(i -> "text " + i).toList();
        cache.put(key("ten_a", small), TEXTS, vectors(3, 1));
        clock.advance(Duration.ofMinutes(1));
        cache.put(key("ten_a", large), many, vectors(many.size(), 2)); // 38 KiB: with the first, within 64 KiB
        assertThat(cache.entries("ten_a")).hasSize(2);
        clock.advance(Duration.ofMinutes(1));
        cache.put(key("ten_a", huge), many, vectors(many.size(), 3)); // the two large ones pass 64 KiB together

        assertThat(cache.entries("ten_a")).extracting(EmbeddingCache.Entry::fileSha256)
                .containsExactly(huge.sha256(), small.sha256());
        assertThat(cache.entries("ten_a").stream().mapToLong(EmbeddingCache.Entry::bytes).sum())
                .isLessThanOrEqualTo(64 * 1024);

        List<String> tooMany = java.util.stream.IntStream.range(0, 2100).mapToObj(i -> "text " + i).toList();
        cache.put(key("ten_a", large), tooMany, vectors(tooMany.size(), 4)); // 67 KiB alone
        assertThat(cache.entries("ten_a")).hasSize(2);
        assertThat(blobFiles("ten_a")).hasSize(5);
    }

    @Test
    void delete_removesTheEntriesOfTheFilesBytes_onceNoOtherFileOfTheTenantHasThem() {
        TrainingFile first = upload("ten_a", "rows.jsonl", 1);
        TrainingFile copy = upload("ten_a", "copy.jsonl", 1);
        TrainingFile theirs = upload("ten_b", "rows.jsonl", 1);
        cache.put(key("ten_a", first), TEXTS, vectors(3, 1));
        cache.put(key("ten_b", theirs), TEXTS, vectors(3, 1));
        String blob = cache.entries("ten_a").getFirst().blob();

        files.delete("ten_a", first.id());
        assertThat(cache.get(key("ten_a", copy), TEXTS, DIMENSION)).as("the copy holds the same bytes").isPresent();

        files.delete("ten_a", copy.id());
        assertThat(cache.entries("ten_a")).isEmpty();
        assertThat(blobFiles("ten_a")).isEmpty();
        assertThat(blobs.resolve("ten_a").resolve(blob)).doesNotExist();
        assertThat(cache.entries("ten_b")).as("another tenant's identical bytes").hasSize(1);
    }

    @Test
    void put_afterTheFileWasDeleted_keepsNothing() {
        TrainingFile file = upload("ten_a", "rows.jsonl", 1);
        files.delete("ten_a", file.id());

        cache.put(key("ten_a", file), TEXTS, vectors(3, 1)); // a job that embedded it meanwhile

        assertThat(cache.entries("ten_a")).isEmpty();
        assertThat(blobFiles("ten_a")).isEmpty();
    }

    @Test
    void deleteTenant_removesAllItsEntriesAndBlobs() {
        TrainingFile first = upload("ten_a", "rows.jsonl", 1);
        TrainingFile second = upload("ten_a", "other.jsonl", 2);
        TrainingFile theirs = upload("ten_b", "rows.jsonl", 1);
        cache.put(key("ten_a", first), TEXTS, vectors(3, 1));
        cache.put(key("ten_a", second), TEXTS, vectors(3, 2));
        cache.put(key("ten_b", theirs), TEXTS, vectors(3, 1));

        files.deleteTenant("ten_a");

        assertThat(cache.entries("ten_a")).isEmpty();
        assertThat(blobFiles("ten_a")).isEmpty();
        assertThat(cache.get(key("ten_b", theirs), TEXTS, DIMENSION)).isPresent();
    }

    private TrainingFile upload(String tenant, String name, int seed) {
        String rows = "{\"text\": \"row " + seed + "\", \"label\": \"a\"}\n";
        return files.upload(tenant, name, FilePurpose.FINE_TUNE, new ByteArrayInputStream(rows.getBytes(UTF_8)));
    }

    private static EmbeddingCache.Key key(String tenant, TrainingFile file) {
        return new EmbeddingCache.Key(tenant, "minilm:1", "a".repeat(64), "engine=onnx;truncate=true",
                file.sha256());
    }

    private static List<float[]> vectors(int rows, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<float[]> vectors = new ArrayList<>(rows);
        for (int row = 0; row < rows; row++) {
            float[] vector = new float[DIMENSION];
            for (int i = 0; i < DIMENSION; i++) {
                vector[i] = (float) random.nextGaussian();
            }
            vectors.add(vector);
        }
        return vectors;
    }

    /** The names of the tenant's blobs on disk: its files' and its cached embeddings'. */
    private List<String> blobFiles(String tenant) {
        Path tenantDirectory = blobs.resolve(tenant);
        if (!Files.isDirectory(tenantDirectory)) {
            return List.of();
        }
        try (Stream<Path> listed = Files.list(tenantDirectory)) {
            return listed.filter(Files::isRegularFile).map(path -> path.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
