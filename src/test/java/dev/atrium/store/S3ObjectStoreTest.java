package dev.atrium.store;

import static dev.atrium.store.IndependentTenantCrypto.MASTER;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.config.ArtifactStoreConfig;
import dev.atrium.testing.S3Server;
import dev.atrium.testing.SettableClock;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link S3ObjectStore} against a real S3-compatible server (s3proxy, signatures checked), and tenant files kept
 * in it: written through one replica's {@link EncryptedFiles}, read and deleted through another's, erased with the
 * tenant, and never left behind in a data directory.
 */
class S3ObjectStoreTest {
    private static S3Server s3;

    @TempDir
    Path directory;

    private String bucket;

    @BeforeAll
    static void startS3() {
        s3 = S3Server.start();
    }

    @AfterAll
    static void stopS3() {
        s3.close();
    }

    @BeforeEach
    void newBucket() {
        bucket = s3.newBucket();
    }

    @Test
    void objects_arePutFoundListedReadAndDeleted_underTheStoresPrefix() throws Exception {
        try (ObjectStore store = S3ObjectStore.open(s3.config(bucket, "team/atrium"))) {
            store.checkReachable();
            byte[] content = new byte[300_000];
            new Random(7).nextBytes(content);
            Path file = Files.write(directory.resolve("blob"), content);

            store.put("sha256/abc", file);
            store.put("tenant-files/t1/file-1", Files.write(directory.resolve("small"), "x".getBytes(UTF_8)));

            assertThat(store.find("sha256/abc")).hasValueSatisfying(object -> {
                assertThat(object.key()).isEqualTo("sha256/abc");
                assertThat(object.sizeBytes()).isEqualTo(content.length);
            });
            assertThat(store.find("sha256/missing")).isEmpty();
            try (InputStream in = store.open("sha256/abc").orElseThrow()) {
                assertThat(in.readAllBytes()).isEqualTo(content);
            }
            assertThat(store.open("sha256/missing")).isEmpty();
            assertThat(store.list("sha256/")).extracting(ObjectStore.StoredObject::key).containsExactly("sha256/abc");
            assertThat(s3.keys(bucket)).contains("team/atrium/sha256/abc", "team/atrium/tenant-files/t1/file-1");

            assertThat(store.delete("sha256/abc")).isTrue();
            assertThat(store.delete("sha256/abc")).isFalse();
            assertThat(store.find("sha256/abc")).isEmpty();
        }
    }

    @Test
    void wrongCredentials_orNoServer_failWithAMessageNamingTheStore_neverTheSecret() throws Exception {
        ArtifactStoreConfig right = s3.config(bucket, "");
        ArtifactStoreConfig wrong = new ArtifactStoreConfig(bucket, "", right.endpoint(), "us-east-1",
                right.accessKeyId(), "not-the-secret-" + "x".repeat(20), null);
        try (ObjectStore store = S3ObjectStore.open(wrong)) {
            assertThatThrownBy(store::checkReachable).isInstanceOf(ObjectStoreException.class)
                    .hasMessageContaining("s3://" + bucket).hasMessageNotContaining("not-the-secret");
        }
        ArtifactStoreConfig nowhere = new ArtifactStoreConfig(bucket, "", java.net.URI.create("http://127.0.0.1:"
                + dev.atrium.testing.Haproxy.freePort()), "us-east-1", right.accessKeyId(),
                right.secretAccessKey(), null);
        try (ObjectStore store = S3ObjectStore.open(nowhere)) {
            assertThatThrownBy(() -> store.find("sha256/x")).isInstanceOf(ObjectStoreException.class)
                    .hasMessageNotContaining(right.secretAccessKey());
        }
    }

    @Test
    void tenantFiles_writtenOnOneReplica_areReadAndDeletedOnAnother_andKeptInNoDataDirectory() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
        Path dataA = Files.createDirectory(directory.resolve("a"));
        Path dataB = Files.createDirectory(directory.resolve("b"));
        // one store both replicas share (SQLite here: what is shared in it is the tenant's data key)
        try (Database database = IndependentTenantCrypto.openStore(dataA);
                ObjectStore remoteA = S3ObjectStore.open(s3.config(bucket, "p"));
                ObjectStore remoteB = S3ObjectStore.open(s3.config(bucket, "p"))) {
            TenantKeys keys = new TenantKeys(database.jdbi(), MASTER, clock, 100, Duration.ofMinutes(5));
            EncryptedFiles onA = new EncryptedFiles(dataA.resolve("tenant-files"), keys, remoteA);
            EncryptedFiles onB = new EncryptedFiles(dataB.resolve("tenant-files"), keys, remoteB);
            String secret = "CANARY-row-" + "y".repeat(100_000);

            StoredFile stored = onA.write("tenant-1", "file-1", new ByteArrayInputStream(secret.getBytes(UTF_8)),
                    1 << 20);
            onA.write("tenant-1", "file-2", new ByteArrayInputStream("second".getBytes(UTF_8)), 1 << 20);

            assertThat(stored.bytes()).isEqualTo(secret.length());
            try (InputStream in = onB.open("tenant-1", "file-1")) {
                assertThat(new String(in.readAllBytes(), UTF_8)).isEqualTo(secret);
            }
            // ciphertext in the bucket, nothing in either data directory
            byte[] object = Files.readAllBytes(s3.file(bucket, "p/tenant-files/tenant-1/file-1"));
            assertThat(new String(object, UTF_8)).doesNotContain("CANARY");
            try (var left = Files.walk(dataA.resolve("tenant-files"))) {
                assertThat(left.filter(Files::isRegularFile)).isEmpty();
            }
            assertThatThrownBy(() -> onB.write("tenant-1", "file-1", new ByteArrayInputStream(new byte[1]), 10))
                    .isInstanceOfSatisfying(AtriumException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));

            assertThat(onB.delete("tenant-1", "file-1")).isTrue();
            assertThatThrownBy(() -> onA.open("tenant-1", "file-1")).isInstanceOfSatisfying(AtriumException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));

            assertThat(onB.destroyTenant("tenant-1")).isEqualTo(1);
            assertThat(s3.keys(bucket)).isEmpty();
        }
    }

    @Test
    void tenantFilesWrittenBeforeTheBucketWasConfigured_areSentToIt_andLeaveNoLocalCopy() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
        Path data = Files.createDirectory(directory.resolve("data"));
        try (Database database = IndependentTenantCrypto.openStore(data);
                ObjectStore remote = S3ObjectStore.open(s3.config(bucket, "p"))) {
            TenantKeys keys = new TenantKeys(database.jdbi(), MASTER, clock, 100, Duration.ofMinutes(5));
            new EncryptedFiles(data.resolve("tenant-files"), keys)
                    .write("tenant-1", "older", new ByteArrayInputStream("from before".getBytes(UTF_8)), 100);

            EncryptedFiles shared = new EncryptedFiles(data.resolve("tenant-files"), keys, remote);

            assertThat(s3.keys(bucket)).containsExactly("p/tenant-files/tenant-1/older");
            try (var left = Files.walk(data.resolve("tenant-files"))) {
                assertThat(left.filter(Files::isRegularFile)).isEmpty();
            }
            try (InputStream in = shared.open("tenant-1", "older")) {
                assertThat(new String(in.readAllBytes(), UTF_8)).isEqualTo("from before");
            }
        }
    }

    @Test
    void tenantFiles_whileTheStoreIsDown_areRefusedWith503_andNothingIsLeftBehind() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
        Path data = Files.createDirectory(directory.resolve("data"));
        try (Database database = IndependentTenantCrypto.openStore(data);
                ObjectStore remote = S3ObjectStore.open(s3.config(bucket, "p"))) {
            EncryptedFiles files = new EncryptedFiles(data.resolve("tenant-files"),
                    new TenantKeys(database.jdbi(), MASTER, clock, 100, Duration.ofMinutes(5)), remote);
            files.write("tenant-1", "kept", new ByteArrayInputStream("kept".getBytes(UTF_8)), 100);
            s3.stop();
            try {
                assertThatThrownBy(() -> files.write("tenant-1", "file-1",
                        new ByteArrayInputStream("lost".getBytes(UTF_8)), 100))
                        .isInstanceOfSatisfying(AtriumException.class, e -> {
                            assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
                            assertThat(e.code().httpStatus()).isEqualTo(503);
                        });
                assertThatThrownBy(() -> files.open("tenant-1", "kept")).isInstanceOfSatisfying(
                        AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE));
                try (var left = Files.walk(data.resolve("tenant-files"))) {
                    assertThat(left.filter(Files::isRegularFile)).isEmpty();
                }
            } finally {
                s3.restart();
            }
            try (InputStream in = files.open("tenant-1", "kept")) {
                assertThat(new String(in.readAllBytes(), UTF_8)).isEqualTo("kept");
            }
            assertThat(s3.keys(bucket)).containsExactly("p/tenant-files/tenant-1/kept");
        }
    }
}
