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
 */
record GgufHeader(int version, long tensorCount, Map<String, Object> values) {
    private static final int MAGIC = 0x46554747; // "GGUF", little-endian
    private static final long MAX_STRING = 1 << 24;

    /**
     * @throws IllegalArgumentException when the file is not a GGUF file this reader understands
     */
    static GgufHeader read(Path file) {
        try (InputStream raw = Files.newInputStream(file);
                DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
            if (Integer.reverseBytes(in.readInt()) != MAGIC) {
                throw new IllegalArgumentException("it does not start with the GGUF magic");
            }
            int version = Integer.reverseBytes(in.readInt());
            if (version < 2 || version > 3) {
                throw new IllegalArgumentException("GGUF version " + version + " is not supported (2 and 3 are)");
            }
            long tensors = Long.reverseBytes(in.readLong());
            long count = Long.reverseBytes(in.readLong());
            if (tensors < 1 || tensors > 1_000_000 || count < 0 || count > 100_000) {
                throw new IllegalArgumentException("its header counts are implausible");
            }
            Map<String, Object> values = new HashMap<>();
            for (long i = 0; i < count; i++) {
                String key = string(in);
                int type = Integer.reverseBytes(in.readInt());
                Object value = value(in, type);
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

    private static Object value(DataInputStream in, int type) throws IOException {
        return switch (type) {
            case 0, 1 -> (long) in.readByte();
            case 2, 3 -> (long) Short.reverseBytes(in.readShort());
            case 4 -> Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()));
            case 5 -> (long) Integer.reverseBytes(in.readInt());
            case 6 -> (double) Float.intBitsToFloat(Integer.reverseBytes(in.readInt()));
            case 7 -> in.readByte() != 0;
            case 8 -> string(in);
            case 9 -> {
                int elementType = Integer.reverseBytes(in.readInt());
                long length = Long.reverseBytes(in.readLong());
                if (length < 0 || length > 100_000_000) {
                    throw new IllegalArgumentException("an array is implausibly long");
                }
                for (long i = 0; i < length; i++) {
                    value(in, elementType);
                }
                yield null;
            }
            case 10, 11 -> Long.reverseBytes(in.readLong());
            case 12 -> Double.longBitsToDouble(Long.reverseBytes(in.readLong()));
            default -> throw new IllegalArgumentException("unknown value type " + type);
        };
    }

    private static String string(DataInputStream in) throws IOException {
        long length = Long.reverseBytes(in.readLong());
        if (length < 0 || length > MAX_STRING) {
            throw new IllegalArgumentException("a string is implausibly long");
        }
        return new String(in.readNBytes((int) length), StandardCharsets.UTF_8);
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
