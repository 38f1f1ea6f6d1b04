package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A model version as one signed, self-contained archive for the edge: a zip whose first entry is
 * {@value #MANIFEST} (the model, version, task, engine, IO schema, lineage, the runtimes it needs, and the path,
 * role, SHA-256 and size of every file), whose second is {@value #SIGNATURE} (the base64 Ed25519 signature of the
 * manifest's bytes by the server's {@link SigningKey}), and whose others are the files under {@code files/}. The
 * signature covers the manifest and the manifest covers every file, so one flipped byte anywhere is found.
 *
 * <p>Verifying reads the archive once, in order, with bounded memory: the manifest (at most
 * {@value #MAX_MANIFEST_BYTES} bytes) and its signature first, then each file hashed as it streams (and, when asked,
 * written out), never past the size the manifest gives it. Paths are plain relative names (no {@code ..}, no
 * absolute path, no backslash), each file once, nothing the manifest does not list.
 */
public final class Bundle {
    public static final String FORMAT = "atrium-bundle/1";
    public static final String MANIFEST = "manifest.json";
    public static final String SIGNATURE = "manifest.sig";
    public static final String FILES = "files/";
    static final int MAX_MANIFEST_BYTES = 1 << 20;
    private static final int MAX_SIGNATURE_BYTES = 1024;
    private static final int MAX_FILES = 64;
    /**
     * The most a bundle's files may hold together: what a manifest declares is refused above it before anything is
     * read, so an archive that inflates far past its size (a zip bomb, signed by whoever) cannot fill the disk.
     */
    static final long MAX_TOTAL_BYTES = 64L << 30;
    private static final Pattern PATH = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}){0,3}");
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private Bundle() {}

    /** A file to put in a bundle: from disk, or made in memory (a config). */
    public record Source(String path, String role, Path file, byte[] content) {
        public Source {
            requireNonNull(path, "path is null");
            requireNonNull(role, "role is null");
            if ((file == null) == (content == null)) {
                throw new IllegalArgumentException("a source is a file or a content");
            }
            if (!isSafePath(path)) {
                throw new IllegalArgumentException("not a bundle path: " + path);
            }
        }

        public static Source of(String path, String role, Path file) {
            return new Source(path, role, file, null);
        }

        public static Source of(String path, String role, byte[] content) {
            return new Source(path, role, null, content);
        }

        InputStream open() throws IOException {
            return file != null ? Files.newInputStream(file) : new java.io.ByteArrayInputStream(content);
        }
    }

    /** A file as the manifest lists it. */
    public record Entry(String path, String role, String sha256, long size) {}

    /** Why a bundle was refused: what was wrong, in words for its user. */
    public static final class BundleException extends RuntimeException {
        public BundleException(String message) {
            super(message);
        }
    }

    /**
     * Writes a bundle: {@code manifest} (without {@code files} and {@code signer}, which this adds) signed by
     * {@code key}, then the sources. Each source is hashed first and again as it is written: a file that changed in
     * between fails the export rather than making a bundle that does not verify.
     */
    public static void write(ObjectNode manifest, List<Source> sources, SigningKey key, OutputStream out) {
        try {
            List<Entry> entries = new ArrayList<>();
            for (Source source : sources) {
                try (InputStream in = source.open()) {
                    Digest digest = digest(in, null, Long.MAX_VALUE);
                    entries.add(new Entry(source.path(), source.role(), digest.sha256(), digest.size()));
                }
            }
            ObjectNode signed = manifest.deepCopy();
            signed.put("format", FORMAT);
            ArrayNode files = signed.putArray("files");
            entries.forEach(entry -> files.addObject().put("path", entry.path()).put("role", entry.role())
                    .put("sha256", entry.sha256()).put("size", entry.size()));
            signed.putObject("signer").put("algorithm", SigningKey.ALGORITHM).put("key_id", key.keyId())
                    .put("public_key", key.publicKeyBase64());
            byte[] manifestBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(signed);
            ZipOutputStream zip = new ZipOutputStream(out);
            zip.setLevel(java.util.zip.Deflater.BEST_SPEED); // model weights hardly compress: spend little on them
            zip.putNextEntry(new ZipEntry(MANIFEST));
            zip.write(manifestBytes);
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry(SIGNATURE));
            zip.write(Base64.getEncoder().encode(key.sign(manifestBytes)));
            zip.closeEntry();
            for (int i = 0; i < sources.size(); i++) {
                Source source = sources.get(i);
                zip.putNextEntry(new ZipEntry(FILES + source.path()));
                try (InputStream in = source.open()) {
                    Digest written = digest(in, zip, Long.MAX_VALUE);
                    if (!written.sha256().equals(entries.get(i).sha256())) {
                        throw new IllegalStateException(source.path() + " changed while the bundle was written");
                    }
                }
                zip.closeEntry();
            }
            zip.finish();
            zip.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A verified bundle: its manifest, the key that signed it, and where its files were written (if asked). */
    public record Verified(JsonNode manifest, String keyId, List<Entry> files, Optional<Path> directory) {
        public String model() {
            return manifest.path("model").asString();
        }

        public int version() {
            return manifest.path("version").asInt();
        }

        /** Where a file of the bundle was written; only for a bundle extracted by {@link #verify}. */
        public Path file(String path) {
            return directory.orElseThrow(() -> new IllegalStateException("the bundle was not extracted"))
                    .resolve(path);
        }

        /** The files of a role, in the manifest's order. */
        public List<Entry> files(String role) {
            return files.stream().filter(entry -> entry.role().equals(role)).toList();
        }
    }

    /**
     * Verifies a bundle and, when {@code extractTo} is given (an empty directory), writes its files there as they
     * are checked. A bundle that does not verify leaves nothing usable behind: files are written under a name that
     * only becomes theirs once the whole bundle checked out.
     *
     * @param pinned the key the bundle must be signed by; without one, the key the manifest names (which proves the
     *     bundle is whole, not who made it)
     * @throws BundleException naming what was wrong
     */
    public static Verified verify(Path bundle, Optional<PublicKey> pinned, Optional<Path> extractTo) {
        try (InputStream raw = Files.newInputStream(bundle);
                ZipInputStream zip = new ZipInputStream(new java.io.BufferedInputStream(raw))) {
            byte[] manifestBytes = entry(zip, MANIFEST, MAX_MANIFEST_BYTES);
            byte[] signatureText = entry(zip, SIGNATURE, MAX_SIGNATURE_BYTES);
            JsonNode manifest;
            try {
                manifest = JSON.readTree(manifestBytes);
            } catch (RuntimeException e) {
                throw new BundleException("the manifest is not JSON");
            }
            if (manifest == null || !manifest.isObject() || !FORMAT.equals(manifest.path("format").asString(""))) {
                throw new BundleException("the manifest is not an " + FORMAT + " manifest");
            }
            PublicKey named;
            try {
                named = SigningKey.publicKey(manifest.path("signer").path("public_key").asString(""));
            } catch (IllegalArgumentException e) {
                throw new BundleException("the manifest names no Ed25519 signer key");
            }
            PublicKey key = pinned.orElse(named);
            if (pinned.isPresent() && !java.util.Arrays.equals(pinned.get().getEncoded(), named.getEncoded())) {
                throw new BundleException("the bundle is signed by key " + SigningKey.keyId(named) + ", not by the"
                        + " trusted key " + SigningKey.keyId(pinned.get()));
            }
            byte[] signature;
            try {
                signature = Base64.getDecoder().decode(new String(signatureText, StandardCharsets.US_ASCII).strip());
            } catch (IllegalArgumentException e) {
                throw new BundleException("the signature is not base64");
            }
            if (!SigningKey.verify(key, manifestBytes, signature)) {
                throw new BundleException("the manifest's signature does not verify with key " + SigningKey.keyId(key)
                        + ": the manifest was changed, or signed by another key");
            }
            Map<String, Entry> expected = entries(manifest);
            Set<String> seen = new HashSet<>();
            Path directory = extractTo.orElse(null);
            List<Path> written = new ArrayList<>();
            ZipEntry next;
            while ((next = zip.getNextEntry()) != null) {
                String name = next.getName();
                String path = name.startsWith(FILES) ? name.substring(FILES.length()) : null;
                Entry entry = path == null ? null : expected.get(path);
                if (entry == null) {
                    throw new BundleException("the bundle holds '" + printable(name) + "', which its manifest does not"
                            + " list");
                }
                if (!seen.add(path)) {
                    throw new BundleException("the bundle holds '" + path + "' twice");
                }
                Digest digest;
                if (directory != null) {
                    Path target = directory.resolve(path + ".unverified");
                    Files.createDirectories(target.getParent());
                    try (OutputStream out = Files.newOutputStream(target)) {
                        digest = digest(zip, out, entry.size());
                    }
                    written.add(target);
                } else {
                    digest = digest(zip, null, entry.size());
                }
                if (digest.size() != entry.size() || !digest.sha256().equals(entry.sha256())) {
                    throw new BundleException("file '" + path + "' does not match its manifest: its SHA-256 or size"
                            + " differs (changed after it was signed)");
                }
            }
            for (String path : expected.keySet()) {
                if (!seen.contains(path)) {
                    throw new BundleException("file '" + path + "' of the manifest is missing from the bundle");
                }
            }
            for (Path target : written) {
                String name = target.getFileName().toString();
                Files.move(target, target.resolveSibling(name.substring(0, name.length() - ".unverified".length())));
            }
            return new Verified(manifest, SigningKey.keyId(key), List.copyOf(expected.values()),
                    Optional.ofNullable(directory));
        } catch (java.util.zip.ZipException e) {
            throw new BundleException("the bundle is not a well-formed zip archive");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundle " + bundle.getFileName(), e);
        }
    }

    private static Map<String, Entry> entries(JsonNode manifest) {
        JsonNode files = manifest.path("files");
        if (!files.isArray() || files.size() > MAX_FILES) {
            throw new BundleException("the manifest lists no files, or more than " + MAX_FILES);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long total = 0;
        for (JsonNode file : files) {
            String path = file.path("path").asString("");
            String sha256 = file.path("sha256").asString("");
            long size = file.path("size").asLong(-1);
            if (!isSafePath(path) || !sha256.matches("[0-9a-f]{64}") || size < 0
                    || entries.put(path, new Entry(path, file.path("role").asString(""), sha256, size)) != null) {
                throw new BundleException("the manifest lists a file with no safe path, SHA-256 or size, or one"
                        + " twice");
            }
            total += size;
            if (size > MAX_TOTAL_BYTES || total > MAX_TOTAL_BYTES) {
                throw new BundleException("the manifest's files hold more than " + (MAX_TOTAL_BYTES >> 30)
                        + " GiB together");
            }
        }
        return entries;
    }

    /** Whether a path is a plain relative name inside the bundle: no {@code ..}, no absolute path. */
    static boolean isSafePath(String path) {
        return PATH.matcher(path).matches() && java.util.Arrays.stream(path.split("/"))
                .noneMatch(part -> part.equals(".") || part.equals(".."));
    }

    private static String printable(String name) {
        String cut = name.length() > 80 ? name.substring(0, 80) + "..." : name;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static byte[] entry(ZipInputStream zip, String name, int maxBytes) throws IOException {
        ZipEntry entry = zip.getNextEntry();
        if (entry == null || !entry.getName().equals(name)) {
            throw new BundleException("the bundle does not start with " + MANIFEST + " and " + SIGNATURE);
        }
        byte[] bytes = zip.readNBytes(maxBytes + 1);
        if (bytes.length > maxBytes) {
            throw new BundleException(name + " is larger than " + maxBytes + " bytes");
        }
        return bytes;
    }

    private record Digest(String sha256, long size) {}

    /** Hashes a stream (copying it when {@code out} is given), reading at most one byte past {@code limit}. */
    private static Digest digest(InputStream in, OutputStream out, long limit) throws IOException {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[64 * 1024];
        long size = 0;
        try (DigestInputStream digesting = new DigestInputStream(new java.io.FilterInputStream(in) {
            @Override
            public void close() {
                // the zip's entries are read on after this one
            }
        }, sha256)) {
            int read;
            while ((read = digesting.read(buffer, 0, limit - size < buffer.length ? (int) (limit - size + 1)
                    : buffer.length)) > 0) {
                size += read;
                if (size > limit) {
                    break;
                }
                if (out != null) {
                    out.write(buffer, 0, read);
                }
            }
        }
        return new Digest(HexFormat.of().formatHex(sha256.digest()), size);
    }
}
