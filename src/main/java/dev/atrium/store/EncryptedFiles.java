package dev.atrium.store;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KDF;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.HKDFParameterSpec;

/**
 * Tenants' uploaded files, encrypted at rest with their tenant's data key ({@link TenantKeys}), streamed in and
 * out in chunks so that memory stays bounded whatever a file's size.
 *
 * <p>Layout: {@code <directory>/<tenant id>/<file id>}, directories 0700 and files 0600 ({@link PrivateFiles}). A
 * file is written under a temporary name and moved to its own once complete, so a failed or refused upload leaves
 * nothing behind.
 *
 * <p>Format, version 1: a header, {@code "ATEF"}, the byte 1, the key id's length (one byte) and the key id
 * (ASCII), a 32-byte random salt and an 8-byte random nonce prefix; then the chunks, each the AES-256-GCM
 * encryption of {@value #CHUNK_BYTES} bytes of plaintext (the last one 0 to {@value #CHUNK_BYTES}) followed by its
 * 16-byte tag. Every file has at least one chunk. The file's own key is HKDF-SHA256 of the tenant's data key, with
 * the salt, and the info {@code "atrium-tenant-file-v1" 0x00 tenantId 0x00 fileId 0x00 keyId}, so a file does not
 * open under another tenant or another name, and nonces need only be unique within the file. Chunk {@code i}'s
 * nonce is the prefix then {@code i} (4 bytes, big-endian); its associated data is {@code i} (4 bytes, big-endian)
 * then 1 for the last chunk, 0 for the others, so a chunk altered, moved, dropped or cut short, or a file ending
 * early, fails to authenticate.
 *
 * <p>Deletion overwrites a file's bytes with zeros, then unlinks it. That is best effort (copy-on-write file
 * systems, SSDs and snapshots may keep old blocks, and backups keep copies); the guarantee comes from the key:
 * every byte stored is ciphertext, and once the tenant's data key is destroyed ({@link #destroyTenant}) no copy
 * can be read again.
 *
 * <p>With a remote {@link ObjectStore} (the {@code artifact-store} setting, shared by replicas) a file is encrypted
 * into the tenant's directory as before, then sent to the store as {@code tenant-files/<tenant id>/<file id>} and
 * removed locally: reads stream from the store, and no replica keeps a copy that a deletion elsewhere would miss.
 * Deleting there is S3's delete (no overwrite); as above, destroying the data key is what makes copies unreadable.
 *
 * <p>Thread-safe; distinct files may be written and read concurrently, and of two writes of one id, one wins and
 * the other is a conflict. A stream returned by {@link #open} is for one thread, as any stream.
 */
public final class EncryptedFiles {
    /** Plaintext bytes per chunk. */
    public static final int CHUNK_BYTES = 64 * 1024;
    static final int TAG_BYTES = 16;
    static final int SALT_BYTES = 32;
    static final int PREFIX_BYTES = 8;
    private static final byte[] MAGIC = {'A', 'T', 'E', 'F'};
    private static final byte VERSION = 1;
    private static final byte[] FILE_KEY_CONTEXT = "atrium-tenant-file-v1".getBytes(UTF_8);
    private static final long MAX_CHUNKS = 1L << 32;
    private static final Pattern FILE_ID = Pattern.compile("[A-Za-z0-9_-]{1,128}");

    private static final String REMOTE_PREFIX = "tenant-files/";

    private final Path directory;
    private final TenantKeys keys;
    private final ObjectStore remote;
    private final SecureRandom random = new SecureRandom();

    /** @param directory where the files go, e.g. {@code <data directory>/tenant-files}; made 0700 if missing */
    public EncryptedFiles(Path directory, TenantKeys keys) {
        this(directory, keys, null);
    }

    /**
     * @param directory where the files go, or with {@code remote}, where they are written before they are sent
     * @param remote the store every replica shares, or null to keep the files in {@code directory}
     */
    public EncryptedFiles(Path directory, TenantKeys keys, ObjectStore remote) {
        this.directory = requireNonNull(directory, "directory is null").toAbsolutePath();
        this.keys = requireNonNull(keys, "keys is null");
        this.remote = remote;
        try {
            PrivateFiles.createDirectories(this.directory);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the tenant files directory " + directory, e);
        }
        if (remote != null) {
            sendLocalFiles();
        }
    }

    /**
     * Stores a tenant's file, encrypted, reading {@code in} to its end (it is not closed). Its bytes are counted as
     * they arrive: the upload is refused at the first byte past {@code maxBytes}, having read no further.
     *
     * @param fileId the file's id, e.g. {@code file-abc123}: letters, digits, '_' and '-'
     * @throws AtriumException {@link ErrorCode#PAYLOAD_TOO_LARGE} past {@code maxBytes}; {@link ErrorCode#CONFLICT}
     *     when the tenant already has a file of that id; {@link ErrorCode#STORE_UNAVAILABLE} when the disk refuses
     *     the write
     * @throws IOException when {@code in} fails (a client that went away)
     */
    public StoredFile write(String tenantId, String fileId, InputStream in, long maxBytes) throws IOException {
        TenantKeys.checkTenantId(tenantId);
        checkFileId(fileId);
        requireNonNull(in, "in is null");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative; it is " + maxBytes);
        }
        TenantKeys.DataKey dataKey = keys.dataKey(tenantId);
        Path tenantDirectory = PrivateFiles.createDirectories(directory.resolve(tenantId));
        Path target = tenantDirectory.resolve(fileId);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw conflict(fileId);
        }
        byte[] salt = randomBytes(SALT_BYTES);
        byte[] prefix = randomBytes(PREFIX_BYTES);
        SecretKey fileKey = fileKey(dataKey.key(), tenantId, fileId, dataKey.keyId(), salt);
        Path partial = tenantDirectory.resolve("." + fileId + "." + HexFormat.of().formatHex(randomBytes(8))
                + ".partial");
        PrivateFiles.createFile(partial);
        try {
            MessageDigest sha256 = sha256();
            LimitedInput input = new LimitedInput(in, maxBytes);
            try (FileChannel out = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                writeFully(out, header(dataKey.keyId(), salt, prefix));
                Cipher cipher = aesGcm();
                byte[] plain = new byte[CHUNK_BYTES];
                byte[] sealed = new byte[CHUNK_BYTES + TAG_BYTES];
                int length = input.fill(plain, 0);
                for (long index = 0; ; index++) {
                    // a full chunk is the last one only if nothing follows it: read one byte ahead to know
                    int next = length < CHUNK_BYTES ? -1 : input.read();
                    boolean last = next < 0;
                    if (index >= MAX_CHUNKS) {
                        throw tooLarge(maxBytes);
                    }
                    cipher.init(Cipher.ENCRYPT_MODE, fileKey, new GCMParameterSpec(TAG_BYTES * 8, nonce(prefix, index)));
                    cipher.updateAAD(associatedData(index, last));
                    int sealedLength = cipher.doFinal(plain, 0, length, sealed, 0);
                    writeFully(out, ByteBuffer.wrap(sealed, 0, sealedLength));
                    sha256.update(plain, 0, length);
                    if (last) {
                        break;
                    }
                    plain[0] = (byte) next;
                    length = 1 + input.fill(plain, 1);
                }
                try {
                    out.force(true);
                } catch (IOException e) {
                    throw StoreUnavailable.diskWriteFailed("the file", e);
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available", e);
            }
            try {
                // a hard link, unlike a rename, fails atomically when the name is taken
                Files.createLink(target, partial);
            } catch (FileAlreadyExistsException e) {
                throw conflict(fileId);
            } catch (UnsupportedOperationException e) {
                moveUnlessTaken(partial, target, fileId);
            }
            forceDirectory(tenantDirectory);
            if (remote != null) {
                send(tenantId, fileId, target);
            }
            return new StoredFile(tenantId, fileId, dataKey.keyId(), input.count(),
                    HexFormat.of().formatHex(sha256.digest()));
        } finally {
            // after a successful move there is nothing left under the temporary name
            Files.deleteIfExists(partial);
        }
    }

    /**
     * Reads a tenant's file back, decrypting one chunk at a time. The first chunk is checked before this returns;
     * each later one as the stream reaches it, and the stream throws {@link UnreadableFileException} before giving
     * out any byte of a chunk that does not authenticate.
     *
     * @throws AtriumException {@link ErrorCode#NOT_FOUND} when the tenant has no file of that id
     * @throws UnreadableFileException when the file was altered or its data key is not the tenant's
     */
    public InputStream open(String tenantId, String fileId) throws IOException {
        TenantKeys.checkTenantId(tenantId);
        checkFileId(fileId);
        InputStream raw;
        if (remote != null) {
            try {
                raw = remote.open(remoteKey(tenantId, fileId)).orElseThrow(() -> notFound(fileId));
            } catch (ObjectStoreException e) {
                throw ObjectStore.unavailable();
            }
        } else {
            try {
                raw = Files.newInputStream(directory.resolve(tenantId).resolve(fileId), LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                throw notFound(fileId);
            }
        }
        try {
            byte[] start = new byte[MAGIC.length + 2];
            if (raw.readNBytes(start, 0, start.length) < start.length
                    || !Arrays.equals(start, 0, MAGIC.length, MAGIC, 0, MAGIC.length)
                    || start[MAGIC.length] != VERSION) {
                throw new UnreadableFileException("the stored file '" + fileId + "' is not an encrypted tenant file"
                        + " of a known version (its header is damaged)");
            }
            byte[] keyIdBytes = new byte[Byte.toUnsignedInt(start[MAGIC.length + 1])];
            byte[] salt = new byte[SALT_BYTES];
            byte[] prefix = new byte[PREFIX_BYTES];
            if (raw.readNBytes(keyIdBytes, 0, keyIdBytes.length) < keyIdBytes.length
                    || raw.readNBytes(salt, 0, SALT_BYTES) < SALT_BYTES
                    || raw.readNBytes(prefix, 0, PREFIX_BYTES) < PREFIX_BYTES) {
                throw new UnreadableFileException("the stored file '" + fileId + "' is cut short in its header");
            }
            String keyId = new String(keyIdBytes, US_ASCII);
            TenantKeys.DataKey dataKey = keys.existingKey(tenantId).orElseThrow(() -> new UnreadableFileException(
                    "the stored file '" + fileId + "' cannot be read: its tenant's data key was destroyed"));
            if (!dataKey.keyId().equals(keyId)) {
                throw new UnreadableFileException("the stored file '" + fileId + "' cannot be read: it was written"
                        + " with a data key that is not this tenant's (destroyed, or another tenant's)");
            }
            DecryptingInputStream stream = new DecryptingInputStream(raw,
                    fileKey(dataKey.key(), tenantId, fileId, keyId, salt), prefix, fileId);
            stream.nextChunk();
            return stream;
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /**
     * Deletes a tenant's file: overwrites its bytes, then unlinks it (see the class note for what that guarantees).
     *
     * @return whether there was such a file
     */
    public boolean delete(String tenantId, String fileId) throws IOException {
        TenantKeys.checkTenantId(tenantId);
        checkFileId(fileId);
        if (remote != null) {
            try {
                return remote.delete(remoteKey(tenantId, fileId));
            } catch (ObjectStoreException e) {
                throw ObjectStore.unavailable();
            }
        }
        Path file = directory.resolve(tenantId).resolve(fileId);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        overwrite(file);
        return Files.deleteIfExists(file);
    }

    /**
     * Destroys the tenant's data key ({@link TenantKeys#destroy}), which makes every file of the tenant, and every
     * copy of one, unreadable; then deletes the tenant's files as {@link #delete} does.
     *
     * @return how many files were deleted
     */
    public int destroyTenant(String tenantId) throws IOException {
        TenantKeys.checkTenantId(tenantId);
        // the key first: should deleting the files fail half way, what is left is already unreadable
        keys.destroy(tenantId);
        int deleted = 0;
        if (remote != null) {
            try {
                for (ObjectStore.StoredObject object : remote.list(REMOTE_PREFIX + tenantId + "/")) {
                    if (remote.delete(object.key())) {
                        deleted++;
                    }
                }
            } catch (ObjectStoreException e) {
                throw ObjectStore.unavailable();
            }
        }
        Path tenantDirectory = directory.resolve(tenantId);
        if (!Files.isDirectory(tenantDirectory, LinkOption.NOFOLLOW_LINKS)) {
            return deleted;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(tenantDirectory)) {
            for (Path file : files) {
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    overwrite(file);
                    Files.delete(file);
                    deleted++;
                }
            }
        }
        Files.deleteIfExists(tenantDirectory);
        return deleted;
    }

    /** Decrypts chunk after chunk; fails for good at the first that does not authenticate. */
    private static final class DecryptingInputStream extends InputStream {
        private final InputStream in;
        private final SecretKey fileKey;
        private final byte[] prefix;
        private final String fileId;
        private final Cipher cipher;
        // one byte more than a sealed chunk: a chunk is the last when nothing follows it
        private final byte[] sealed = new byte[CHUNK_BYTES + TAG_BYTES + 1];
        private final byte[] plain = new byte[CHUNK_BYTES];
        private final byte[] one = new byte[1];
        private int carried;
        private int position;
        private int limit;
        private long index;
        private boolean finished;
        private UnreadableFileException failure;

        DecryptingInputStream(InputStream in, SecretKey fileKey, byte[] prefix, String fileId) {
            this.in = in;
            this.fileKey = fileKey;
            this.prefix = prefix;
            this.fileId = fileId;
            this.cipher = aesGcm();
        }

        @Override
        public int read() throws IOException {
            return read(one, 0, 1) < 0 ? -1 : Byte.toUnsignedInt(one[0]);
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            Objects.checkFromIndexSize(offset, length, buffer.length);
            if (failure != null) {
                throw failure;
            }
            if (length == 0) {
                return 0;
            }
            while (position == limit) {
                if (finished) {
                    return -1;
                }
                nextChunk();
            }
            int count = Math.min(length, limit - position);
            System.arraycopy(plain, position, buffer, offset, count);
            position += count;
            return count;
        }

        @Override
        public int available() {
            return limit - position;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        void nextChunk() throws IOException {
            if (failure != null) {
                throw failure;
            }
            int read = carried + in.readNBytes(sealed, carried, sealed.length - carried);
            boolean last = read < sealed.length;
            int length = last ? read : CHUNK_BYTES + TAG_BYTES;
            if (length < TAG_BYTES) {
                throw fail("the stored file '" + fileId + "' is cut short (chunk " + index + " is incomplete)");
            }
            if (index >= MAX_CHUNKS) {
                throw fail("the stored file '" + fileId + "' has more chunks than the format allows");
            }
            try {
                cipher.init(Cipher.DECRYPT_MODE, fileKey, new GCMParameterSpec(TAG_BYTES * 8, nonce(prefix, index)));
                cipher.updateAAD(associatedData(index, last));
                limit = cipher.doFinal(sealed, 0, length, plain, 0);
            } catch (AEADBadTagException e) {
                position = 0;
                limit = 0;
                throw fail("the stored file '" + fileId + "' was altered, reordered or cut short: chunk " + index
                        + " does not authenticate");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available", e);
            }
            position = 0;
            index++;
            if (last) {
                finished = true;
            } else {
                sealed[0] = sealed[CHUNK_BYTES + TAG_BYTES];
                carried = 1;
            }
        }

        private UnreadableFileException fail(String message) {
            failure = new UnreadableFileException(message);
            return failure;
        }
    }

    /** Counts the bytes read from a caller's stream and refuses the first one past the limit, reading no further. */
    private static final class LimitedInput {
        private final InputStream in;
        private final long maxBytes;
        private long count;

        LimitedInput(InputStream in, long maxBytes) {
            this.in = in;
            this.maxBytes = maxBytes;
        }

        /** Fills {@code buffer} from {@code offset}, up to its end or the stream's; returns how many bytes came. */
        int fill(byte[] buffer, int offset) throws IOException {
            int filled = 0;
            while (offset + filled < buffer.length) {
                // never ask for more than one byte past the limit
                long allowed = maxBytes - count;
                int want = (int) Math.min(buffer.length - offset - filled, allowed < Integer.MAX_VALUE ? allowed + 1
                        : Integer.MAX_VALUE);
                int read = in.read(buffer, offset + filled, want);
                if (read < 0) {
                    break;
                }
                counted(read);
                filled += read;
            }
            return filled;
        }

        int read() throws IOException {
            int read = in.read();
            if (read >= 0) {
                counted(1);
            }
            return read;
        }

        long count() {
            return count;
        }

        private void counted(int read) {
            count += read;
            if (count > maxBytes) {
                throw tooLarge(maxBytes);
            }
        }
    }

    static SecretKey fileKey(SecretKey dataKey, String tenantId, String fileId, String keyId, byte[] salt) {
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        info.writeBytes(FILE_KEY_CONTEXT);
        info.write(0);
        info.writeBytes(tenantId.getBytes(UTF_8));
        info.write(0);
        info.writeBytes(fileId.getBytes(UTF_8));
        info.write(0);
        info.writeBytes(keyId.getBytes(UTF_8));
        try {
            return KDF.getInstance("HKDF-SHA256").deriveKey("AES", HKDFParameterSpec.ofExtract()
                    .addIKM(dataKey)
                    .addSalt(salt)
                    .thenExpand(info.toByteArray(), TenantKeys.KEY_BYTES));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 is not available", e);
        }
    }

    private static ByteBuffer header(String keyId, byte[] salt, byte[] prefix) {
        byte[] id = keyId.getBytes(US_ASCII);
        ByteBuffer header = ByteBuffer.allocate(MAGIC.length + 2 + id.length + SALT_BYTES + PREFIX_BYTES);
        header.put(MAGIC).put(VERSION).put((byte) id.length).put(id).put(salt).put(prefix);
        return header.flip();
    }

    private static byte[] nonce(byte[] prefix, long index) {
        return ByteBuffer.allocate(PREFIX_BYTES + 4).put(prefix).putInt((int) index).array();
    }

    private static byte[] associatedData(long index, boolean last) {
        return ByteBuffer.allocate(5).putInt((int) index).put((byte) (last ? 1 : 0)).array();
    }

    /**
     * Sends what the directory still holds (files written before the remote store was configured) to the remote
     * store, then deletes them here, so that they stay readable and no copy is left behind.
     */
    private void sendLocalFiles() {
        int sent = 0;
        try (DirectoryStream<Path> tenants = Files.newDirectoryStream(directory)) {
            for (Path tenantDirectory : tenants) {
                if (!Files.isDirectory(tenantDirectory, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> files = Files.newDirectoryStream(tenantDirectory)) {
                    for (Path file : files) {
                        String name = file.getFileName().toString();
                        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || name.startsWith(".")) {
                            continue;
                        }
                        String key = remoteKey(tenantDirectory.getFileName().toString(), name);
                        if (remote.find(key).isEmpty()) {
                            remote.put(key, file);
                            sent++;
                        }
                        overwrite(file);
                        Files.delete(file);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot send the tenant files in " + directory + " to "
                    + remote.location(), e);
        }
        if (sent > 0) {
            org.slf4j.LoggerFactory.getLogger(EncryptedFiles.class).info("sent {} tenant files from {} to {}",
                    sent, directory, remote.location());
        }
    }

    /**
     * Sends a file just written to the remote store, then removes it here; on failure removes it too, so that the
     * upload fails whole. A file of that id already there is a conflict, as it is locally.
     */
    private void send(String tenantId, String fileId, Path file) throws IOException {
        String key = remoteKey(tenantId, fileId);
        try {
            if (remote.find(key).isPresent()) {
                throw conflict(fileId);
            }
            remote.put(key, file);
        } catch (ObjectStoreException e) {
            throw ObjectStore.unavailable();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static String remoteKey(String tenantId, String fileId) {
        return REMOTE_PREFIX + tenantId + "/" + fileId;
    }

    private static void moveUnlessTaken(Path partial, Path target, String fileId) throws IOException {
        try {
            Files.move(partial, target);
        } catch (FileAlreadyExistsException e) {
            throw conflict(fileId);
        }
    }

    /** A failure here is this server's disk (full, mostly), told apart from a client that went away. */
    private static void writeFully(FileChannel out, ByteBuffer bytes) {
        try {
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            throw StoreUnavailable.diskWriteFailed("the file", e);
        }
    }

    private static void overwrite(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            long size = channel.size();
            ByteBuffer zeros = ByteBuffer.allocate(CHUNK_BYTES);
            for (long position = 0; position < size; ) {
                zeros.clear().limit((int) Math.min(CHUNK_BYTES, size - position));
                position += channel.write(zeros, position);
            }
            channel.force(true);
        }
    }

    private static void forceDirectory(Path directory) {
        // makes the rename durable; some platforms (Windows) cannot open a directory, and need not
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // the file itself is already on disk
        }
    }

    private byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    private static Cipher aesGcm() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    private static void checkFileId(String fileId) {
        requireNonNull(fileId, "fileId is null");
        if (!FILE_ID.matcher(fileId).matches()) {
            throw new IllegalArgumentException("a file id is 1 to 128 letters, digits, '_' or '-'; got '" + fileId + "'");
        }
    }

    private static AtriumException tooLarge(long maxBytes) {
        return AtriumException.withParam(ErrorCode.PAYLOAD_TOO_LARGE, "file",
                "the file is larger than the limit of " + maxBytes + " bytes");
    }

    private static AtriumException conflict(String fileId) {
        return AtriumException.withParam(ErrorCode.CONFLICT, "file", "a file with id '" + fileId + "' already exists");
    }

    private static AtriumException notFound(String fileId) {
        return AtriumException.withParam(ErrorCode.NOT_FOUND, "file", "no file with id '" + fileId + "'");
    }
}
