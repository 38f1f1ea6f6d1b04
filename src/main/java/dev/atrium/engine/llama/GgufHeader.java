package dev.atrium.engine.llama;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The metadata of a GGUF file (magic, version, and the key-value section), read without loading the model.
 * Arrays (the vocabulary, merges) are skipped; scalar values and strings are kept.
 *
 * <p>Design: the file is uploaded by a client, so nothing it declares is trusted. Every length and count is
 * checked against the bytes the file still holds before anything is read or allocated, arrays are walked with
 * an explicit stack (no recursion) and may nest only {@value #MAX_ARRAY_DEPTH} deep, and every element read
 * consumes at least one byte, so the work is bounded by the file's size.
 */
record GgufHeader(int version, long tensorCount, Map<String, Object> values) {
    private static final int MAGIC = 0x46554747; // "GGUF", little-endian
    private static final long MAX_STRING = 1 << 24;
    private static final long MAX_ARRAY = 100_000_000;
    /** Arrays of arrays are rare in GGUF files (llama.cpp itself writes none); deeper nesting is refused. */
    static final int MAX_ARRAY_DEPTH = 8;
    private static final int TYPE_STRING = 8;
    private static final int TYPE_ARRAY = 9;

    /**
     * @throws IllegalArgumentException when the file is not a GGUF file this reader understands
     */
    static GgufHeader read(Path file) {
        try (InputStream raw = Files.newInputStream(file)) {
            Reader in = new Reader(new DataInputStream(new BufferedInputStream(raw, 1 << 16)), Files.size(file));
            if (in.int32() != MAGIC) {
                throw new IllegalArgumentException("it does not start with the GGUF magic");
            }
            int version = in.int32();
            if (version < 2 || version > 3) {
                throw new IllegalArgumentException("GGUF version " + version + " is not supported (2 and 3 are)");
            }
            long tensors = in.int64();
            long count = in.int64();
            if (tensors < 1 || tensors > 1_000_000 || count < 0 || count > 100_000) {
                throw new IllegalArgumentException("its header counts are implausible");
            }
            // each key-value pair takes at least a key length (8 bytes) and a type (4 bytes)
            in.require(count, 12, "its key-value count");
            Map<String, Object> values = new HashMap<>();
            for (long i = 0; i < count; i++) {
                String key = in.string();
                int type = in.int32();
                Object value = type == TYPE_ARRAY ? skipArray(in) : scalar(in, type);
                if (value != null) {
                    values.put(key, value);
                }
            }
            return new GgufHeader(version, tensors, values);
        } catch (EOFException e) {
            throw new IllegalArgumentException("it ends inside its header");
        } catch (IOException e) {
            throw new IllegalArgumentException("it cannot be read");
        }
    }

    /** Skips one array value (its element type and count are next), nested arrays included, without recursion. */
    private static Object skipArray(Reader in) throws IOException {
        int[] types = new int[MAX_ARRAY_DEPTH];
        long[] remaining = new long[MAX_ARRAY_DEPTH];
        int depth = 0;
        types[0] = arrayType(in);
        remaining[0] = arrayLength(in, types[0]);
        while (depth >= 0) {
            if (remaining[depth] == 0) {
                depth--;
                continue;
            }
            remaining[depth]--;
            int type = types[depth];
            if (type == TYPE_ARRAY) {
                if (depth + 1 == MAX_ARRAY_DEPTH) {
                    throw new IllegalArgumentException("its arrays nest more than " + MAX_ARRAY_DEPTH + " deep");
                }
                depth++;
                types[depth] = arrayType(in);
                remaining[depth] = arrayLength(in, types[depth]);
            } else if (type == TYPE_STRING) {
                in.skipString();
            } else {
                in.skip(scalarSize(type));
            }
        }
        return null;
    }

    private static int arrayType(Reader in) throws IOException {
        int type = in.int32();
        if (type != TYPE_ARRAY && type != TYPE_STRING) {
            scalarSize(type); // refuses an unknown type
        }
        return type;
    }

    private static long arrayLength(Reader in, int elementType) throws IOException {
        long length = in.int64();
        if (length < 0 || length > MAX_ARRAY) {
            throw new IllegalArgumentException("an array is implausibly long");
        }
        int smallest = switch (elementType) {
            case TYPE_ARRAY -> 12; // element type and count
            case TYPE_STRING -> 8; // length
            default -> scalarSize(elementType);
        };
        in.require(length, smallest, "an array's length");
        return length;
    }

    private static int scalarSize(int type) {
        return switch (type) {
            case 0, 1, 7 -> 1;
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 10, 11, 12 -> 8;
            default -> throw new IllegalArgumentException("unknown value type " + type);
        };
    }

    private static Object scalar(Reader in, int type) throws IOException {
        return switch (type) {
            case 0, 1 -> (long) in.data.readByte();
            case 2, 3 -> (long) Short.reverseBytes(in.data.readShort());
            case 4 -> Integer.toUnsignedLong(in.int32());
            case 5 -> (long) in.int32();
            case 6 -> (double) Float.intBitsToFloat(in.int32());
            case 7 -> in.data.readByte() != 0;
            case TYPE_STRING -> in.string();
            case 10, 11 -> in.int64();
            case 12 -> Double.longBitsToDouble(in.int64());
            default -> throw new IllegalArgumentException("unknown value type " + type);
        };
    }

    /** Little-endian reads that count the bytes left in the file. */
    private static final class Reader {
        private final DataInputStream data;
        private long left;

        Reader(DataInputStream data, long size) {
            this.data = data;
            this.left = size;
        }

        /** Refuses a declared count of items of at least {@code smallest} bytes each that the file cannot hold. */
        void require(long count, int smallest, String what) {
            if (count > left / smallest) {
                throw new IllegalArgumentException(what + " (" + count + ") is more than the file holds");
            }
        }

        int int32() throws IOException {
            take(4);
            return Integer.reverseBytes(data.readInt());
        }

        long int64() throws IOException {
            take(8);
            return Long.reverseBytes(data.readLong());
        }

        String string() throws IOException {
            int length = stringLength();
            take(length);
            return new String(data.readNBytes(length), StandardCharsets.UTF_8);
        }

        void skipString() throws IOException {
            skip(stringLength());
        }

        void skip(long bytes) throws IOException {
            take(bytes);
            data.skipNBytes(bytes);
        }

        private int stringLength() throws IOException {
            long length = int64();
            if (length < 0 || length > MAX_STRING) {
                throw new IllegalArgumentException("a string is implausibly long");
            }
            require(length, 1, "a string's length");
            return (int) length;
        }

        private void take(long bytes) throws EOFException {
            if (bytes > left) {
                throw new EOFException();
            }
            left -= bytes;
        }
    }

    String string(String key, String fallback) {
        return values.get(key) instanceof String text ? text : fallback;
    }

    long number(String key, long fallback) {
        return values.get(key) instanceof Long number ? number : fallback;
    }

    /** llama.cpp's file types (general.file_type), by number. */
    static String fileType(long type) {
        return switch ((int) type) {
            case 0 -> "F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K";
            case 11, 12, 13 -> "Q3_K";
            case 14, 15 -> "Q4_K";
            case 16, 17 -> "Q5_K";
            case 18 -> "Q6_K";
            case 32 -> "BF16";
            default -> type < 0 ? "unknown" : "type " + type;
        };
    }
}
