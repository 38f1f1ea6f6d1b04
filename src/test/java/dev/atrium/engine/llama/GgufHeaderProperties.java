package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.FuzzInput;
import dev.atrium.testing.FuzzTries;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzing the GGUF header reader with a valid small header (written here) mutated byte by byte, cut, and with
 * its counts and lengths replaced: it reads a header or refuses with IllegalArgumentException (which
 * {@code LlamaEngine.inspect} answers with 422), never another exception, within a time bound.
 */
@AddLifecycleHook(FuzzTries.class)
class GgufHeaderProperties {
    private static final long MAX_MILLIS = 2_000;

    @Property(tries = 2000)
    void read_mutatedHeader_givesAHeaderOrAnIllegalArgument(@ForAll long seed) throws IOException {
        FuzzInput fuzz = new FuzzInput(seed);
        byte[] valid = validHeader(fuzz);
        byte[] bytes = fuzz.chance(5) ? fuzz.garbage(256) : fuzz.chance(20) ? valid : mutated(fuzz, valid);
        Path file = Files.createTempFile("fuzz", ".gguf");
        try {
            Files.write(file, bytes);
            long start = System.nanoTime();
            String outcome;
            try {
                GgufHeader header = GgufHeader.read(file);
                outcome = "read";
                if (bytes == valid) {
                    assertThat(header.string("general.architecture", null)).isEqualTo("llama");
                    assertThat(header.number("llama.context_length", 0)).isEqualTo(128);
                }
            } catch (IllegalArgumentException e) {
                outcome = "refused";
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(millis).as("read time of %s", FuzzInput.describe(bytes)).isLessThanOrEqualTo(MAX_MILLIS);
            Statistics.collect(outcome);
            Statistics.coverage(coverage -> {
                coverage.check("read").percentage(p -> p > 10);
                coverage.check("refused").percentage(p -> p > 10);
            });
        } finally {
            Files.delete(file);
        }
    }

    /** Flipped bytes, or one 4- or 8-byte field (a count, a length, a type) replaced by an edge value. */
    private static byte[] mutated(FuzzInput fuzz, byte[] valid) {
        if (fuzz.chance(50)) {
            return fuzz.mutate(valid);
        }
        byte[] bytes = valid.clone();
        int width = fuzz.chance(50) ? 4 : 8;
        int at = fuzz.below(Math.max(1, bytes.length - width));
        long value = fuzz.oneOf(0L, 1L, -1L, 8L, 9L, 13L, 255L, 1L << 31, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE,
                100_000_001L, (long) (1 << 24) + 1);
        ByteBuffer buffer = ByteBuffer.wrap(bytes, at, width).order(ByteOrder.LITTLE_ENDIAN);
        if (width == 4) {
            buffer.putInt((int) value);
        } else {
            buffer.putLong(value);
        }
        return bytes;
    }

    /** A small GGUF v3 header: strings, every scalar type, and arrays (nested too) of random sizes. */
    private static byte[] validHeader(FuzzInput fuzz) {
        int extra = fuzz.below(6);
        GgufHeaderTest.Gguf gguf = new GgufHeaderTest.Gguf(2 + extra);
        gguf.string("general.architecture").int32(8).string("llama");
        gguf.string("llama.context_length").int32(4).int32(128);
        for (int i = 0; i < extra; i++) {
            gguf.string("key." + i + fuzz.string());
            int type = fuzz.below(13);
            gguf.int32(type);
            value(fuzz, gguf, type, 0);
        }
        return gguf.bytes();
    }

    private static void value(FuzzInput fuzz, GgufHeaderTest.Gguf gguf, int type, int depth) {
        switch (type) {
            case 0, 1, 7 -> gguf.bytes(new byte[] {(byte) fuzz.below(256)});
            case 2, 3 -> gguf.bytes(new byte[2]);
            case 4, 5, 6 -> gguf.int32(fuzz.random().nextInt());
            case 8 -> gguf.string(fuzz.string());
            case 10, 11, 12 -> gguf.int64(fuzz.random().nextLong());
            default -> {
                int element = depth >= 2 ? fuzz.below(9) : fuzz.below(13);
                int count = fuzz.below(5);
                gguf.int32(element).int64(count);
                for (int i = 0; i < count; i++) {
                    value(fuzz, gguf, element, depth + 1);
                }
            }
        }
    }
}
