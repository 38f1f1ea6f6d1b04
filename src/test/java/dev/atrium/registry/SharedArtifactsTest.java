package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.ObjectStore;
import dev.atrium.store.S3ObjectStore;
import dev.atrium.testing.S3Server;
import dev.atrium.testing.SettableClock;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas' {@link ArtifactStore}s over one S3 bucket (a real s3proxy): a file committed on one is uploaded
 * once under its sha256 and fetched by the other into its cache, checked against its hash on the way (an object
 * altered in the bucket is refused and never cached); an unreachable bucket is a 503 that loses nothing; and sweeps
 * delete unreferenced objects only past their grace period.
 */
class SharedArtifactsTest {
    private static S3Server s3;

    @TempDir
    Path directory;

    private final SettableClock clock = new SettableClock(Instant.now());
    private String bucket;
    private ObjectStore remoteA;
    private ObjectStore remoteB;
    private ArtifactStore onA;
    private ArtifactStore onB;

    @BeforeAll
    static void startS3() {
        s3 = S3Server.start();
    }

    @AfterAll
    static void stopS3() {
        s3.close();
    }

    @BeforeEach
    void open() {
        bucket = s3.newBucket();
        remoteA = S3ObjectStore.open(s3.config(bucket, "models"));
        remoteB = S3ObjectStore.open(s3.config(bucket, "models"));
        onA = ArtifactStore.open(directory.resolve("a"), remoteA, clock);
        onB = ArtifactStore.open(directory.resolve("b"), remoteB, clock);
    }

    @AfterEach
    void close() {
        remoteA.close();
        remoteB.close();
    }

    @Test
    void aFileCommittedOnOneReplica_isUploadedOnceUnderItsHash_andFetchedByAnother() throws Exception {
        byte[] content = bytes(200_000, 1);
        StagedArtifact staged = onA.stage(new ByteArrayInputStream(content), Long.MAX_VALUE);

        Path onAPath = onA.commit(staged);

        assertThat(Files.readAllBytes(onAPath)).isEqualTo(content);
        assertThat(s3.keys(bucket)).containsExactly("models/sha256/" + staged.sha256());
        assertThat(onB.contains(staged.sha256())).isFalse();
        Path fetched = onB.path(file(staged));
        assertThat(Files.readAllBytes(fetched)).isEqualTo(content);
        assertThat(onB.contains(staged.sha256())).isTrue();
        // the second commit of the same bytes finds the object there and sends nothing
        long written = Files.getLastModifiedTime(s3.file(bucket, "models/sha256/" + staged.sha256())).toMillis();
        Thread.sleep(20);
        onB.commit(onB.stage(new ByteArrayInputStream(content), Long.MAX_VALUE));
        assertThat(Files.getLastModifiedTime(s3.file(bucket, "models/sha256/" + staged.sha256())).toMillis())
                .isEqualTo(written);
        try (var staging = Files.list(onB.stagingDirectory())) {
            assertThat(staging).isEmpty();
        }
    }

    @Test
    void anObjectAlteredInTheBucket_isRefusedOnDownload_andNeverCached() throws Exception {
        StagedArtifact staged = onA.stage(new ByteArrayInputStream(bytes(50_000, 2)), Long.MAX_VALUE);
        onA.commit(staged);
        Path object = s3.file(bucket, "models/sha256/" + staged.sha256());
        byte[] altered = Files.readAllBytes(object);
        altered[100] ^= 1;
        Files.write(object, altered);

        assertThatThrownBy(() -> onB.path(file(staged))).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(e.getMessage()).contains("does not match its sha256");
        });
        assertThat(onB.contains(staged.sha256())).isFalse();
        try (var staging = Files.list(onB.stagingDirectory())) {
            assertThat(staging).isEmpty();
        }
    }

    /**
     * An object grown in the bucket (here by 64 MB past its recorded size) is refused as soon as it passes that size:
     * a download reads what the registry recorded, not what the bucket offers.
     */
    @Test
    void anObjectLongerInTheBucketThanRecorded_isRefusedAtItsRecordedSize_andNeverCached() throws Exception {
        StagedArtifact staged = onA.stage(new ByteArrayInputStream(bytes(50_000, 3)), Long.MAX_VALUE);
        onA.commit(staged);
        Path object = s3.file(bucket, "models/sha256/" + staged.sha256());
        try (var out = Files.newOutputStream(object, java.nio.file.StandardOpenOption.APPEND)) {
            byte[] block = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                out.write(block);
            }
        }

        assertThatThrownBy(() -> onB.path(file(staged))).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(e.getMessage()).contains("longer than its recorded 50000 bytes");
        });
        assertThat(onB.contains(staged.sha256())).isFalse();
        try (var staging = Files.list(onB.stagingDirectory())) {
            assertThat(staging).isEmpty();
        }
    }

    private static ArtifactFile file(StagedArtifact staged) {
        return new ArtifactFile(ArtifactFile.ONNX, staged.sha256(), staged.sizeBytes());
    }

    @Test
    void anUnreachableBucket_refusesCommitsAndFetchesWith503_whileCachedFilesAreStillServed() throws Exception {
        StagedArtifact cached = onA.stage(new ByteArrayInputStream(bytes(10_000, 3)), Long.MAX_VALUE);
        Path cachedPath = onA.commit(cached);
        StagedArtifact elsewhere = onB.stage(new ByteArrayInputStream(bytes(10_000, 4)), Long.MAX_VALUE);
        onB.commit(elsewhere);
        s3.stop();
        try {
            StagedArtifact refused = onA.stage(new ByteArrayInputStream(bytes(10_000, 5)), Long.MAX_VALUE);
            assertThatThrownBy(() -> onA.commit(refused)).isInstanceOfSatisfying(AtriumException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
                assertThat(e.retryAfterSeconds()).isPresent();
            });
            assertThat(onA.contains(refused.sha256())).isFalse();
            onA.discard(refused.path());
            assertThatThrownBy(() -> onA.path(file(elsewhere))).isInstanceOfSatisfying(AtriumException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE));
            assertThat(onA.path(file(cached))).isEqualTo(cachedPath);
        } finally {
            s3.restart();
        }
        assertThat(Files.exists(onA.path(file(elsewhere)))).isTrue();
    }

    @Test
    void sweeps_deleteUnreferencedObjectsOnlyPastTheirGrace_andRestoreReferencedOnesTheBucketLost()
            throws Exception {
        StagedArtifact kept = onA.stage(new ByteArrayInputStream(bytes(1_000, 6)), Long.MAX_VALUE);
        onA.commit(kept);
        StagedArtifact dropped = onA.stage(new ByteArrayInputStream(bytes(1_000, 7)), Long.MAX_VALUE);
        onA.commit(dropped);
        // a version row not yet written: another replica between its upload and its insert
        StagedArtifact fresh = onB.stage(new ByteArrayInputStream(bytes(1_000, 8)), Long.MAX_VALUE);
        onB.commit(fresh);

        onA.retainOnly(Set.of(kept.sha256()));
        assertThat(s3.keys(bucket)).hasSize(3);
        assertThat(onA.contains(dropped.sha256())).isFalse();

        clock.advance(ArtifactStore.GRACE.plus(Duration.ofMinutes(1)));
        Files.delete(s3.file(bucket, "models/sha256/" + kept.sha256()));
        onA.retainOnly(Set.of(kept.sha256()));

        assertThat(s3.keys(bucket)).containsExactly("models/sha256/" + kept.sha256());
        assertThat(Files.exists(onB.path(file(kept)))).isTrue();
    }

    @Test
    void filesStoredBeforeTheBucketWasConfigured_areUploadedByTheFirstSweep_andServedToOtherReplicas()
            throws Exception {
        Path older = directory.resolve("older");
        ArtifactStore alone = ArtifactStore.open(older);
        byte[] content = bytes(5_000, 9);
        StagedArtifact staged = alone.stage(new ByteArrayInputStream(content), Long.MAX_VALUE);
        alone.commit(staged);

        ArtifactStore shared = ArtifactStore.open(older, remoteA, clock);
        shared.retainOnly(Set.of(staged.sha256()));

        assertThat(s3.keys(bucket)).containsExactly("models/sha256/" + staged.sha256());
        assertThat(Files.readAllBytes(onB.path(file(staged)))).isEqualTo(content);
    }

    private static byte[] bytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
