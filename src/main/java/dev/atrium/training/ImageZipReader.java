package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads an image classification dataset from a zip of one folder of images per label ({@code shirt/1.png},
 * {@code coat/2.jpg}), streaming it once with {@link ZipInputStream}: nothing is extracted to disk, and every bound of
 * its {@link ImageZipLimits} is checked on the bytes as they inflate, never on the sizes the archive declares.
 *
 * <p>The rules, in the order they apply to each entry:
 * <ul>
 *   <li>Its name must be a plain relative path: one with a leading {@code /}, a drive ({@code C:}), a {@code ..} or
 *       {@code .} segment, an empty segment, a backslash or a control character (NUL included) is refused (zip-slip),
 *       whatever the entry is.
 *   <li>Folders, anything under {@code __MACOSX/}, any file or folder whose name starts with a dot
 *       ({@code .DS_Store}, {@code .ipynb_checkpoints/}) and Windows' {@code Thumbs.db} and {@code desktop.ini} are
 *       skipped; their bytes still count towards the total and the compression ratio.
 *   <li>Every other entry must be an image: named {@code .png}, {@code .jpg}, {@code .jpeg}, {@code .gif},
 *       {@code .bmp} or {@code .webp} (any case), and starting as one of those formats does.
 * </ul>
 * An image's label is its first folder; when every image shares that first folder and some lie deeper, it is taken
 * as a wrapper ({@code fashion/shirt/1.png}, as zipping the folder {@code fashion} gives) and the label is the second
 * folder. Folders below the label are allowed and ignored. An image outside any label folder is refused.
 *
 * <p>Every refusal is an {@link AtriumException#invalidParam} on the request field the file came in, naming the entry
 * it is about. Instances are immutable and thread-safe.
 */
final class ImageZipReader {
    private static final byte[] LOCAL_HEADER = {'P', 'K', 3, 4};
    private static final byte[] EMPTY_ARCHIVE = {'P', 'K', 5, 6};
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp");
    private static final List<String> SKIPPED_FILES = List.of("thumbs.db", "desktop.ini");
    private static final String LAYOUT = "a .zip training file holds one folder of images per label,"
            + " LABEL/NAME.png (or .jpg, .jpeg, .gif, .bmp, .webp), optionally all inside one top folder";
    /** What {@link ZipInputStream} may have read past an entry's start before the entry is opened: its input buffer. */
    private static final int READ_AHEAD = 512;
    private static final int LONGEST_NAME_SHOWN = 200;

    private final String param;
    private final ImageZipLimits limits;

    /** @param param the request field that names the file (e.g. {@code training_file}), put on every refusal */
    ImageZipReader(String param, ImageZipLimits limits) {
        this.param = requireNonNull(param, "param is null");
        this.limits = requireNonNull(limits, "limits is null");
    }

    private record Image(String name, byte[] bytes) {}

    /**
     * Reads the whole stream (without closing it), holding at most the images' bytes and one buffer.
     *
     * @throws AtriumException {@code INVALID_REQUEST} when the file is not a zip, holds no images, or at the first
     *     entry that breaks a rule or a limit, naming it
     * @throws UncheckedIOException when the stream itself fails
     */
    List<ImageExample> read(InputStream in) {
        Source source = new Source(requireNonNull(in, "in is null"));
        byte[] magic;
        try {
            magic = source.readNBytes(LOCAL_HEADER.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (Arrays.equals(magic, EMPTY_ARCHIVE)) {
            throw refuse("the zip archive is empty; " + LAYOUT);
        }
        if (!Arrays.equals(magic, LOCAL_HEADER)) {
            throw refuse("the file is not a zip archive; " + LAYOUT);
        }
        List<Image> images = new ArrayList<>();
        String last = null;
        boolean inEntry = false;
        try (ZipInputStream zip = new ZipInputStream(new SequenceInputStream(new ByteArrayInputStream(magic),
                source))) {
            byte[] buffer = new byte[64 * 1024];
            int entries = 0;
            long total = 0;
            while (true) {
                ZipEntry entry;
                try {
                    entry = zip.getNextEntry();
                } catch (IllegalArgumentException e) { // the name is not valid UTF-8
                    throw refuse("the name of the entry " + (last == null ? "at the start" : "after " + entry(last))
                            + " is not valid UTF-8");
                }
                if (entry == null) {
                    break;
                }
                String name = entry.getName();
                last = name;
                inEntry = true;
                if (++entries > limits.maxEntries()) {
                    throw refuse("the zip archive has more than " + limits.maxEntries() + " entries");
                }
                checkPath(name);
                boolean image = !entry.isDirectory() && !skipped(name);
                if (image) {
                    String lower = name.toLowerCase(Locale.ROOT);
                    if (EXTENSIONS.stream().noneMatch(lower::endsWith)) {
                        throw refuse(entry(name) + " is not an image; " + LAYOUT);
                    }
                    if (images.size() == limits.maxImages()) {
                        throw refuse("the zip archive has more than " + limits.maxImages() + " images");
                    }
                }
                ByteArrayOutputStream kept = image ? new ByteArrayOutputStream() : null;
                long start = source.count();
                long inflated = 0;
                int n;
                while ((n = zip.read(buffer)) != -1) {
                    inflated += n;
                    total += n;
                    if (image && inflated > limits.maxImageBytes()) {
                        throw refuse(entry(name) + " is larger than " + limits.maxImageBytes() + " bytes");
                    }
                    if (total > limits.maxTotalBytes()) {
                        throw refuse("the zip archive inflates to more than " + limits.maxTotalBytes() + " bytes in"
                                + " all (at " + entry(name) + ")");
                    }
                    long compressed = source.count() - start + READ_AHEAD;
                    if (inflated > limits.ratioGraceBytes() && inflated > compressed * limits.maxRatio()) {
                        throw refuse(entry(name) + " inflates to more than " + limits.maxRatio() + " times its"
                                + " compressed size, as a zip bomb does; it is refused");
                    }
                    if (kept != null) {
                        kept.write(buffer, 0, n);
                    }
                }
                inEntry = false;
                if (kept != null) {
                    byte[] bytes = kept.toByteArray();
                    if (!startsAsAnImage(bytes)) {
                        throw refuse(entry(name) + " is not a PNG, JPEG, GIF, BMP or WebP image");
                    }
                    images.add(new Image(name, bytes));
                }
            }
        } catch (IOException e) {
            if (source.failed()) {
                throw new UncheckedIOException(e);
            }
            throw refuse("the zip archive could not be read " + (inEntry ? "at " + entry(last)
                    : last == null ? "at its first entry" : "after " + entry(last)) + ": it is damaged, cut short,"
                    + " encrypted, or compressed other than by deflate");
        }
        if (images.isEmpty()) {
            throw refuse("the zip archive has no images; " + LAYOUT);
        }
        return labelled(images);
    }

    /** Each image with its label: its first folder, or its second when the first is a wrapper all images share. */
    private List<ImageExample> labelled(List<Image> images) {
        String first = images.getFirst().name().split("/", -1)[0];
        boolean wrapped = images.stream().allMatch(image -> image.name().split("/", -1)[0].equals(first))
                && images.stream().anyMatch(image -> image.name().split("/", -1).length > 2);
        int labelAt = wrapped ? 1 : 0;
        List<ImageExample> examples = new ArrayList<>(images.size());
        for (Image image : images) {
            String[] segments = image.name().split("/", -1);
            if (segments.length < labelAt + 2) {
                throw refuse(entry(image.name()) + " is not in a label folder; " + LAYOUT);
            }
            examples.add(new ImageExample(image.bytes(), segments[labelAt], entry(image.name())));
        }
        return examples;
    }

    /** Refuses a name that is not a plain relative path, as one that could climb out of a folder it is put in. */
    private void checkPath(String name) {
        String path = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        boolean plain = !path.isEmpty() && !path.startsWith("/") && path.indexOf('\\') < 0
                && path.chars().noneMatch(c -> c < 0x20 || c == 0x7F)
                && !(path.length() >= 2 && path.charAt(1) == ':' && Character.isLetter(path.charAt(0)))
                && Arrays.stream(path.split("/", -1)).noneMatch(segment -> segment.isEmpty() || segment.equals(".")
                        || segment.equals(".."));
        if (!plain) {
            throw refuse(entry(name) + " is refused: an entry's name must be a relative path inside the archive,"
                    + " without '..' or '.', a leading '/', a drive, backslashes or control characters");
        }
    }

    private static boolean skipped(String name) {
        String[] segments = name.split("/", -1);
        return segments[0].equals("__MACOSX") || Arrays.stream(segments).anyMatch(segment -> segment.startsWith("."))
                || SKIPPED_FILES.contains(segments[segments.length - 1].toLowerCase(Locale.ROOT));
    }

    /** Whether the bytes start as a PNG, JPEG, GIF, BMP or WebP file does (the formats the decoder takes). */
    private static boolean startsAsAnImage(byte[] bytes) {
        return startsWith(bytes, 0, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})
                || startsWith(bytes, 0, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF})
                || startsWith(bytes, 0, new byte[] {'G', 'I', 'F', '8'})
                || startsWith(bytes, 0, new byte[] {'B', 'M'})
                || startsWith(bytes, 0, new byte[] {'R', 'I', 'F', 'F'}) && startsWith(bytes, 8,
                        new byte[] {'W', 'E', 'B', 'P'});
    }

    private static boolean startsWith(byte[] bytes, int offset, byte[] prefix) {
        return bytes.length >= offset + prefix.length
                && Arrays.equals(bytes, offset, offset + prefix.length, prefix, 0, prefix.length);
    }

    /** The entry as messages name it: quoted, control characters escaped, a long name cut. */
    static String entry(String name) {
        StringBuilder text = new StringBuilder("entry '");
        name.codePoints().limit(LONGEST_NAME_SHOWN).forEach(c -> {
            if (c < 0x20 || c == 0x7F) {
                text.append(String.format("\\u%04x", c));
            } else {
                text.appendCodePoint(c);
            }
        });
        if (name.codePointCount(0, name.length()) > LONGEST_NAME_SHOWN) {
            text.append("...");
        }
        return text.append('\'').toString();
    }

    private AtriumException refuse(String message) {
        return AtriumException.invalidParam(param, message);
    }

    /**
     * The caller's stream, counting the bytes read from it (the compressed bytes, for the ratio) and telling a failure
     * of its own from a damaged archive; closing it leaves the caller's stream open.
     */
    private static final class Source extends FilterInputStream {
        private long count;
        private boolean failed;

        Source(InputStream in) {
            super(in);
        }

        long count() {
            return count;
        }

        boolean failed() {
            return failed;
        }

        @Override
        public int read() throws IOException {
            try {
                int b = super.read();
                count += b < 0 ? 0 : 1;
                return b;
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            try {
                int n = super.read(buffer, offset, length);
                count += Math.max(n, 0);
                return n;
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                long skipped = super.skip(n);
                count += skipped;
                return skipped;
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void close() {
            // the caller's to close
        }
    }
}
