package dev.atrium.store;

import static dev.atrium.store.EncryptedFiles.CHUNK_BYTES;
import static dev.atrium.store.IndependentTenantCrypto.MASTER;
import static dev.atrium.store.IndependentTenantCrypto.NEW_MASTER;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.testing.SettableClock;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EncryptedFilesTest {
    private static final String CANARY = "CANARY-7f3e2a-tenant-secret-training-row";
    private static final int SEALED_CHUNK = CHUNK_BYTES + 16;

    @TempDir
    Path directory;

    private Path dataDirectory;
    private final SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
    private Database database;
    private TenantKeys keys;
    private EncryptedFiles files;

    @BeforeEach
    void open() throws IOException {
        dataDirectory = Files.createDirectory(directory.resolve("data"));
        database = IndependentTenantCrypto.openStore(dataDirectory);
        keys = new TenantKeys(database.jdbi(), MASTER, clock, 100, Duration.ofMinutes(5));
        files = new EncryptedFiles(dataDirectory.resolve("tenant-files"), keys);
    }

    @AfterEach
    void close() {
        database.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES, 3 * CHUNK_BYTES + 17})
    void write_thenOpen_roundTripsEverySize_asTheDocumentedFormat(int size) throws Exception {
        byte[] content = randomBytes(size, size);
        StoredFile stored = files.write("ten_a", "file-1", new TrickleInputStream(content, size), size);

        assertThat(stored.bytes()).isEqualTo(size);
        assertThat(stored.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content)));
        assertThat(stored.keyId()).isEqualTo(IndependentTenantCrypto.keyId(database.jdbi(), "ten_a"));
        try (InputStream in = files.open("ten_a", "file-1")) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
        Path file = storedPath("ten_a", "file-1");
        int chunks = Math.max(1, (size + CHUNK_BYTES - 1) / CHUNK_BYTES);
        assertThat(Files.size(file)).isEqualTo(IndependentTenantCrypto.headerLength(stored.keyId()) + size + 16L * chunks);
        byte[] dataKey = IndependentTenantCrypto.dataKey(database.jdbi(), MASTER, "ten_a");
        assertThat(IndependentTenantCrypto.decryptFile(Files.readAllBytes(file), dataKey, "ten_a", "file-1"))
                .isEqualTo(content);
    }

    @Test
    void open_readByteByByte_andInOddSizes_givesTheSameBytes() throws Exception {
        byte[] content = randomBytes(CHUNK_BYTES + 300, 7);
        files.write("ten_a", "file-1", new ByteArrayInputStream(content), content.length);
        byte[] byBytes = new byte[content.length];
        try (InputStream in = files.open("ten_a", "file-1")) {
            for (int i = 0; i < content.length; i++) {
                int b = in.read();
                assertThat(b).isNotNegative();
                byBytes[i] = (byte) b;
            }
            assertThat(in.read()).isEqualTo(-1);
            assertThat(in.read(new byte[10], 0, 10)).isEqualTo(-1);
        }
        assertThat(byBytes).isEqualTo(content);
        try (InputStream in = files.open("ten_a", "file-1")) {
            var out = new ByteArrayOutputStream();
            byte[] buffer = new byte[CHUNK_BYTES / 3 + 7];
            for (int n; (n = in.read(buffer, 3, buffer.length - 3)) >= 0; ) {
                out.write(buffer, 3, n);
            }
            assertThat(out.toByteArray()).isEqualTo(content);
        }
    }

    @Test
    void write_filesAndDirectories_areTheServersUsersAlone() throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        files.write("ten_a", "file-1", new ByteArrayInputStream(new byte[10]), 10);
        files.write("ten_b", "file-1", new ByteArrayInputStream(new byte[10]), 10);
        try (Stream<Path> paths = Files.walk(dataDirectory.resolve("tenant-files"))) {
            for (Path path : paths.toList()) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).as(path.toString())
                        .isEqualTo(Files.isDirectory(path) ? "rwx------" : "rw-------");
            }
        }
    }

    @Test
    void write_canary_appearsNowhereInTheDataDirectory_whileStored_norAfterDeletion() throws Exception {
        byte[] canary = CANARY.getBytes(UTF_8);
        // the canary inside random bytes, across a chunk boundary, and a file of nothing but canaries
        byte[] mixed = randomBytes(3 * CHUNK_BYTES, 11);
        for (int at : new int[] {0, 1000, CHUNK_BYTES - 10, 2 * CHUNK_BYTES + 5, mixed.length - canary.length}) {
            System.arraycopy(canary, 0, mixed, at, canary.length);
        }
        byte[] repeated = (CANARY + "\n").repeat(20_000).getBytes(UTF_8);
        files.write("ten_a", "file-mixed", new ByteArrayInputStream(mixed), mixed.length);
        files.write("ten_a", "file-repeated", new ByteArrayInputStream(repeated), repeated.length);
        byte[] dataKey = IndependentTenantCrypto.dataKey(database.jdbi(), MASTER, "ten_a");

        Path control = Files.write(directory.resolve("control.txt"), repeated);
        assertThat(filesContaining(control, canary)).as("the scan finds a plaintext canary").containsExactly(control);
        assertThat(dataDirectory.resolve("atrium.db-wal")).exists();
        assertThat(dataDirectory.resolve("atrium.db-shm")).exists();
        assertThat(allFiles(dataDirectory)).as("the store and both files are scanned").hasSizeGreaterThanOrEqualTo(5);
        assertThat(filesContaining(dataDirectory, canary)).isEmpty();
        assertThat(filesContaining(dataDirectory, dataKey)).as("the raw data key").isEmpty();

        Path stored = storedPath("ten_a", "file-repeated");
        try (FileChannel held = FileChannel.open(stored)) {
            assertThat(files.delete("ten_a", "file-repeated")).isTrue();
            assertThat(stored).doesNotExist();
            // the bytes under the held descriptor are the unlinked file's: overwritten before the unlink
            ByteBuffer left = ByteBuffer.allocate((int) held.size());
            held.read(left, 0);
            assertThat(left.array()).containsOnly(0);
        }
        assertThat(files.delete("ten_a", "file-mixed")).isTrue();
        assertThat(files.delete("ten_a", "file-mixed")).isFalse();
        assertThat(filesContaining(dataDirectory, canary)).isEmpty();
        AtriumException missing = catchThrowableOfType(AtriumException.class, () -> files.open("ten_a", "file-mixed"));
        assertThat(missing.code()).isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(missing.getMessage()).contains("file-mixed").doesNotContain(dataDirectory.toString());
    }

    @Test
    void destroyTenant_makesEvenACopyTakenBeforeUnreadable_andARotationOutdatesBackups() throws Exception {
        byte[] secret = (CANARY + " of tenant a").repeat(5000).getBytes(UTF_8);
        byte[] other = randomBytes(CHUNK_BYTES + 5, 3);
        files.write("ten_a", "file-a", new ByteArrayInputStream(secret), secret.length);
        files.write("ten_b", "file-b", new ByteArrayInputStream(other), other.length);
        String wrapped = IndependentTenantCrypto.wrappedKey(database.jdbi(), "ten_a");
        String keyId = IndependentTenantCrypto.keyId(database.jdbi(), "ten_a");
        byte[] dataKey = IndependentTenantCrypto.unwrap(MASTER, "ten_a", keyId, wrapped);
        assertThat(filesContaining(dataDirectory, wrapped.getBytes(UTF_8))).as("the scan sees the store's bytes")
                .isNotEmpty();
        Path backup = copyTree(dataDirectory, directory.resolve("backup"));

        assertThat(files.destroyTenant("ten_a")).isEqualTo(1);
        assertThat(dataDirectory.resolve("tenant-files").resolve("ten_a")).doesNotExist();
        assertThat(filesContaining(dataDirectory, wrapped.getBytes(UTF_8))).as("the wrapped key, in the store's"
                + " database, WAL or shm").isEmpty();
        assertThat(filesContaining(dataDirectory, dataKey)).isEmpty();
        assertThat(filesContaining(dataDirectory, CANARY.getBytes(UTF_8))).isEmpty();

        // the copy put back in place does not open: the key it needs is gone
        Path restored = storedPath("ten_a", "file-a");
        Files.createDirectories(restored.getParent());
        Files.copy(backup.resolve("tenant-files/ten_a/file-a"), restored);
        assertThatThrownBy(() -> files.open("ten_a", "file-a")).isInstanceOf(UnreadableFileException.class)
                .hasMessageContaining("destroyed");
        // nor once the tenant has a new key
        files.write("ten_a", "file-new", new ByteArrayInputStream(new byte[3]), 3);
        assertThatThrownBy(() -> files.open("ten_a", "file-a")).isInstanceOf(UnreadableFileException.class)
                .hasMessageContaining("not this tenant's");
        assertThat(readAll("ten_b", "file-b")).as("other tenants are untouched").isEqualTo(other);

        // a backup of the whole store still opens with the old master key, until the master key is rotated
        try (Database backupStore = Database.openSqlite(backup.resolve("atrium.db"))) {
            EncryptedFiles backupFiles = new EncryptedFiles(backup.resolve("tenant-files"),
                    new TenantKeys(backupStore.jdbi(), MASTER, clock, 10, Duration.ofMinutes(5)));
            try (InputStream in = backupFiles.open("ten_a", "file-a")) {
                assertThat(in.readAllBytes()).isEqualTo(secret);
            }
            TenantKeys rotated = new TenantKeys(database.jdbi(), NEW_MASTER, clock, 10, Duration.ofMinutes(5));
            assertThat(rotated.rewrapFrom(MASTER)).as("ten_b and the new key of ten_a").isEqualTo(2);
            EncryptedFiles afterRotation = new EncryptedFiles(dataDirectory.resolve("tenant-files"), rotated);
            try (InputStream in = afterRotation.open("ten_b", "file-b")) {
                assertThat(in.readAllBytes()).isEqualTo(other);
            }
            // with the old master key discarded, the backup's wrapped key opens with nothing the server holds
            EncryptedFiles backupWithNewMaster = new EncryptedFiles(backup.resolve("tenant-files"),
                    new TenantKeys(backupStore.jdbi(), NEW_MASTER, clock, 10, Duration.ofMinutes(5)));
            assertThatThrownBy(() -> backupWithNewMaster.open("ten_a", "file-a"))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> IndependentTenantCrypto.unwrap(NEW_MASTER, "ten_a", keyId, wrapped))
                    .isInstanceOf(AEADBadTagException.class);
        }
    }

    static Stream<Arguments> tamperings() {
        int header = IndependentTenantCrypto.headerLength("dk-" + "0".repeat(24));
        int chunk2 = header + 2 * SEALED_CHUNK;
        int last = header + 3 * SEALED_CHUNK;
        return Stream.of(
                Arguments.of("a bit flipped in chunk 2", 2 * CHUNK_BYTES, flip(chunk2 + 100)),
                Arguments.of("a bit flipped in the last tag", 3 * CHUNK_BYTES, (UnaryOperator<byte[]>) b -> {
                    b[b.length - 1] ^= 1;
                    return b;
                }),
                Arguments.of("a bit flipped in the magic", 0, flip(0)),
                Arguments.of("a bit flipped in the version", 0, flip(4)),
                Arguments.of("a bit flipped in the key id", 0, flip(10)),
                Arguments.of("a bit flipped in the salt", 0, flip(header - 20)),
                Arguments.of("a bit flipped in the nonce prefix", 0, flip(header - 1)),
                Arguments.of("chunk 1 dropped", CHUNK_BYTES, cut(header + SEALED_CHUNK, header + 2 * SEALED_CHUNK)),
                Arguments.of("the last chunk dropped", 2 * CHUNK_BYTES, (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, last)),
                Arguments.of("the last chunk cut by a byte", 3 * CHUNK_BYTES,
                        (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, b.length - 1)),
                Arguments.of("the last chunk cut below its tag", 3 * CHUNK_BYTES,
                        (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, last + 10)),
                Arguments.of("the file cut in its header", 0, (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, header - 3)),
                Arguments.of("chunks 0 and 1 swapped", 0, swap(header, header + SEALED_CHUNK)),
                Arguments.of("chunks 1 and 2 swapped", CHUNK_BYTES, swap(header + SEALED_CHUNK, chunk2)),
                Arguments.of("a byte appended", 3 * CHUNK_BYTES, (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, b.length + 1)),
                Arguments.of("chunk 1 appended again", 3 * CHUNK_BYTES, (UnaryOperator<byte[]>) b -> {
                    byte[] longer = Arrays.copyOf(b, b.length + SEALED_CHUNK);
                    System.arraycopy(b, header + SEALED_CHUNK, longer, b.length, SEALED_CHUNK);
                    return longer;
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tamperings")
    void open_alteredFile_failsBeforeGivingOutAnyByteOfTheBadChunk(String what, int goodBytes,
            UnaryOperator<byte[]> alter) throws Exception {
        byte[] content = randomBytes(3 * CHUNK_BYTES + 100, 5);
        files.write("ten_a", "file-1", new ByteArrayInputStream(content), content.length);
        assertThat(readAll("ten_a", "file-1")).as("unaltered").isEqualTo(content);
        Path file = storedPath("ten_a", "file-1");
        byte[] original = Files.readAllBytes(file);
        Files.write(file, alter.apply(original.clone()));

        List<Byte> given = new ArrayList<>();
        UnreadableFileException failure = catchThrowableOfType(UnreadableFileException.class, () -> {
            try (InputStream in = files.open("ten_a", "file-1")) {
                byte[] buffer = new byte[4096];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    for (int i = 0; i < n; i++) {
                        given.add(buffer[i]);
                    }
                }
            }
        });
        assertThat(failure).as(what).isNotNull();
        assertThat(failure.getMessage()).contains("file-1").doesNotContain(dataDirectory.toString());
        assertThat(given).as("bytes given out before the failure").hasSize(goodBytes);

        Files.write(file, original);
        assertThat(readAll("ten_a", "file-1")).as("put back").isEqualTo(content);
    }

    @Test
    void open_afterAFailure_keepsFailing() throws Exception {
        byte[] content = randomBytes(2 * CHUNK_BYTES + 1, 9);
        files.write("ten_a", "file-1", new ByteArrayInputStream(content), content.length);
        Path file = storedPath("ten_a", "file-1");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 5] ^= 1;
        Files.write(file, bytes);
        try (InputStream in = files.open("ten_a", "file-1")) {
            assertThat(in.readNBytes(2 * CHUNK_BYTES)).hasSize(2 * CHUNK_BYTES);
            assertThatThrownBy(in::read).isInstanceOf(UnreadableFileException.class);
            assertThatThrownBy(in::read).as("again").isInstanceOf(UnreadableFileException.class);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 5})
    void write_pastTheLimit_isRefusedAtTheFirstByteOver_readingNoFurther_andLeavesNothing(long limit) throws Exception {
        EndlessInputStream endless = new EndlessInputStream();
        AtriumException refused = catchThrowableOfType(AtriumException.class,
                () -> files.write("ten_a", "file-big", endless, limit));
        assertThat(refused.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
        assertThat(refused.param()).contains("file");
        assertThat(refused.getMessage()).contains(Long.toString(limit));
        assertThat(endless.consumed).isEqualTo(limit + 1);
        assertThat(allFiles(dataDirectory.resolve("tenant-files"))).isEmpty();

        byte[] exactly = randomBytes((int) limit, 1);
        StoredFile stored = files.write("ten_a", "file-exact", new TrickleInputStream(exactly, 3), limit);
        assertThat(stored.bytes()).isEqualTo(limit);
        assertThat(readAll("ten_a", "file-exact")).isEqualTo(exactly);
    }

    @Test
    void write_inputFailingHalfWay_leavesNothing() throws Exception {
        InputStream failing = new InputStream() {
            private int given;

            @Override
            public int read() throws IOException {
                if (given++ >= CHUNK_BYTES + 10) {
                    throw new IOException("the client went away");
                }
                return 'x';
            }
        };
        assertThatThrownBy(() -> files.write("ten_a", "file-1", failing, 10 * CHUNK_BYTES))
                .isInstanceOf(IOException.class).hasMessage("the client went away");
        assertThat(allFiles(dataDirectory.resolve("tenant-files"))).isEmpty();
    }

    @Test
    void write_anIdAlreadyStored_isAConflict_andKeepsTheFirst() throws Exception {
        files.write("ten_a", "file-1", new ByteArrayInputStream("first".getBytes(UTF_8)), 100);
        AtriumException conflict = catchThrowableOfType(AtriumException.class, () -> files.write("ten_a", "file-1",
                new ByteArrayInputStream("second".getBytes(UTF_8)), 100));
        assertThat(conflict.code()).isEqualTo(ErrorCode.CONFLICT);
        assertThat(readAll("ten_a", "file-1")).asString(UTF_8).isEqualTo("first");
        assertThat(allFiles(dataDirectory.resolve("tenant-files"))).hasSize(1);
        files.write("ten_b", "file-1", new ByteArrayInputStream("b's".getBytes(UTF_8)), 100);
        assertThat(readAll("ten_b", "file-1")).as("ids are per tenant").asString(UTF_8).isEqualTo("b's");
    }

    @Test
    void write_oneIdRacingFromManyThreads_oneWins_theOthersConflict() throws Exception {
        int writers = 6;
        CyclicBarrier start = new CyclicBarrier(writers);
        List<byte[]> contents = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            contents.add(randomBytes(CHUNK_BYTES + i, 100 + i));
        }
        List<Future<StoredFile>> results = new ArrayList<>();
        try (var executor = Executors.newFixedThreadPool(writers)) {
            for (byte[] content : contents) {
                results.add(executor.submit(() -> {
                    start.await();
                    return files.write("ten_a", "file-1", new ByteArrayInputStream(content), content.length);
                }));
            }
        }
        List<StoredFile> won = new ArrayList<>();
        for (var result : results) {
            try {
                won.add(result.get());
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(AtriumException.class);
                assertThat(((AtriumException) e.getCause()).code()).isEqualTo(ErrorCode.CONFLICT);
            }
        }
        assertThat(won).hasSize(1);
        assertThat(readAll("ten_a", "file-1")).isEqualTo(contents.get((int) won.getFirst().bytes() - CHUNK_BYTES));
        assertThat(allFiles(dataDirectory.resolve("tenant-files"))).hasSize(1);
    }

    @Test
    void open_anotherTenantsFile_doesNotOpen_evenWithTheHeaderNamingThisTenantsKey() throws Exception {
        byte[] content = randomBytes(CHUNK_BYTES + 10, 4);
        files.write("ten_a", "file-1", new ByteArrayInputStream(content), content.length);
        StoredFile own = files.write("ten_b", "file-own", new ByteArrayInputStream(new byte[1]), 1);
        Path copied = storedPath("ten_b", "file-1");
        Files.copy(storedPath("ten_a", "file-1"), copied);
        assertThatThrownBy(() -> files.open("ten_b", "file-1")).isInstanceOf(UnreadableFileException.class)
                .hasMessageContaining("not this tenant's");

        // the header forged to name ten_b's key: the key opens nothing of ten_a's
        byte[] bytes = Files.readAllBytes(copied);
        byte[] ownId = own.keyId().getBytes(ISO_8859_1);
        System.arraycopy(ownId, 0, bytes, 6, ownId.length);
        Files.write(copied, bytes);
        assertThatThrownBy(() -> readAll("ten_b", "file-1")).isInstanceOf(UnreadableFileException.class)
                .hasMessageContaining("does not authenticate");

        // nor does a file open under another name of the same tenant
        Files.copy(storedPath("ten_a", "file-1"), storedPath("ten_a", "file-renamed"));
        assertThatThrownBy(() -> readAll("ten_a", "file-renamed")).isInstanceOf(UnreadableFileException.class);
        assertThat(readAll("ten_a", "file-1")).isEqualTo(content);
    }

    @Test
    void ids_thatCouldLeaveTheDirectory_areRefused() {
        for (String bad : List.of("..", "../ten_b", "a/b", "", ".hidden", "file 1")) {
            assertThatThrownBy(() -> files.write("ten_a", bad, new ByteArrayInputStream(new byte[0]), 0)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> files.open(bad, "file-1")).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private byte[] readAll(String tenantId, String fileId) throws IOException {
        try (InputStream in = files.open(tenantId, fileId)) {
            return in.readAllBytes();
        }
    }

    private Path storedPath(String tenantId, String fileId) {
        return dataDirectory.resolve("tenant-files").resolve(tenantId).resolve(fileId);
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static List<Path> allFiles(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            return paths.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** Every file under {@code root} whose bytes contain {@code needle} anywhere. */
    private static List<Path> filesContaining(Path root, byte[] needle) throws IOException {
        String pattern = new String(needle, ISO_8859_1);
        List<Path> found = new ArrayList<>();
        for (Path file : Files.isDirectory(root) ? allFiles(root) : List.of(root)) {
            if (new String(Files.readAllBytes(file), ISO_8859_1).contains(pattern)) {
                found.add(file);
            }
        }
        return found;
    }

    private static Path copyTree(Path from, Path to) throws IOException {
        for (Path path : Files.walk(from).sorted().toList()) {
            Path target = to.resolve(from.relativize(path).toString());
            if (Files.isDirectory(path)) {
                Files.createDirectories(target);
            } else {
                Files.copy(path, target, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return to;
    }

    private static UnaryOperator<byte[]> flip(int at) {
        return bytes -> {
            bytes[at] ^= 0x10;
            return bytes;
        };
    }

    private static UnaryOperator<byte[]> cut(int from, int to) {
        return bytes -> {
            byte[] shorter = new byte[bytes.length - (to - from)];
            System.arraycopy(bytes, 0, shorter, 0, from);
            System.arraycopy(bytes, to, shorter, from, bytes.length - to);
            return shorter;
        };
    }

    private static UnaryOperator<byte[]> swap(int first, int second) {
        return bytes -> {
            byte[] held = Arrays.copyOfRange(bytes, first, first + SEALED_CHUNK);
            System.arraycopy(bytes, second, bytes, first, SEALED_CHUNK);
            System.arraycopy(held, 0, bytes, second, SEALED_CHUNK);
            return bytes;
        };
    }

    /** Gives its bytes a few at a time (short reads of varying size), as a network stream does. */
    private static final class TrickleInputStream extends InputStream {
        private final byte[] bytes;
        private final Random random;
        private int position;

        TrickleInputStream(byte[] bytes, long seed) {
            this.bytes = bytes;
            this.random = new Random(seed);
        }

        @Override
        public int read() {
            return position < bytes.length ? Byte.toUnsignedInt(bytes[position++]) : -1;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            if (position == bytes.length) {
                return -1;
            }
            int count = Math.min(Math.min(length, bytes.length - position), 1 + random.nextInt(5000));
            System.arraycopy(bytes, position, buffer, offset, count);
            position += count;
            return count;
        }

        @Override
        public int available() {
            throw new UnsupportedOperationException("a declared length is never asked for");
        }
    }

    /** Never ends; counts what was taken from it. */
    private static final class EndlessInputStream extends InputStream {
        long consumed;

        @Override
        public int read() {
            consumed++;
            return 'y';
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            Arrays.fill(buffer, offset, offset + length, (byte) 'y');
            consumed += length;
            return length;
        }

        @Override
        public int available() {
            throw new UnsupportedOperationException("a declared length is never asked for");
        }
    }
}
