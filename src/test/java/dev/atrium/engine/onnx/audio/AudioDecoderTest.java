package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Decoding real speech in every supported container and encoding, and refusing what is not decodable. */
class AudioDecoderTest {
    private static final AudioDecoder DECODER = new AudioDecoder(Duration.ofMinutes(10));
    /** The 3 s LibriVox clip "he was not an ill disposed young man". */
    private static final Path CLIP = SpeechFixtures.LIBRIVOX.resolve("sense_and_sensibility_01_austen_64kb-0880.wav");

    @TempDir
    static Path directory;
    private static byte[] clipBytes;
    /** The clip's 16-bit samples over 32768, read here without the decoder. */
    private static float[] reference;

    @BeforeAll
    static void readClip() throws IOException {
        SpeechFixtures.clips(); // fails with the reason when pocketsphinx-testdata is missing
        clipBytes = Files.readAllBytes(CLIP);
        assertThat(new String(clipBytes, 36, 4, StandardCharsets.US_ASCII)).as("a canonical 44-byte header").isEqualTo("data");
        ByteBuffer data = ByteBuffer.wrap(clipBytes, 44, clipBytes.length - 44).order(ByteOrder.LITTLE_ENDIAN);
        reference = new float[data.remaining() / 2];
        for (int i = 0; i < reference.length; i++) {
            reference[i] = data.getShort() / 32768f;
        }
    }

    @Test
    void decode_wav16kMono16Bit_isTheSamplesAsTheyAre() {
        DecodedAudio audio = DECODER.decode(clipBytes);

        assertThat(audio.samples()).containsExactly(reference);
        assertThat(audio.source()).isEqualTo(new AudioSource(SourceFormat.WAV, "PCM 16-bit", 16_000, 1));
        assertThat(audio.durationSeconds()).isEqualTo(reference.length / 16_000.0);
    }

    static Stream<Arguments> sameRateVariants() {
        return Stream.of(
                Arguments.of("8-bit unsigned (not dithered)", List.of("-D", "-b", "8", "-e", "unsigned-integer"), List.of(), "PCM 8-bit", 1, 1.0, 1 / 128.0 + 1e-6),
                Arguments.of("24-bit, WAVE_FORMAT_EXTENSIBLE", List.of("-b", "24"), List.of(), "PCM 24-bit", 1, 1.0, 1e-6),
                Arguments.of("24-bit, plain PCM header", List.of("-t", "wavpcm", "-b", "24"), List.of(), "PCM 24-bit", 1, 1.0, 1e-6),
                Arguments.of("32-bit, WAVE_FORMAT_EXTENSIBLE", List.of("-b", "32"), List.of(), "PCM 32-bit", 1, 1.0, 1e-6),
                Arguments.of("float 32-bit (with a fact chunk)", List.of("-e", "floating-point", "-b", "32"), List.of(), "IEEE float 32-bit", 1, 1.0, 1e-6),
                Arguments.of("float 64-bit", List.of("-e", "floating-point", "-b", "64"), List.of(), "IEEE float 64-bit", 1, 1.0, 1e-6),
                Arguments.of("stereo, both channels the clip", List.of("-c", "2"), List.of(), "PCM 16-bit", 2, 1.0, 1e-6),
                Arguments.of("stereo, right channel silent: the average is half", List.of(), List.of("remix", "1", "0"), "PCM 16-bit", 2, 0.5, 1e-4),
                Arguments.of("3 channels, WAVE_FORMAT_EXTENSIBLE", List.of("-c", "3"), List.of(), "PCM 16-bit", 3, 1.0, 1e-4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sameRateVariants")
    void decode_wavVariantAt16k_isTheSameSignal(String name, List<String> options, List<String> effects, String encoding,
            int channels, double gain, double tolerance) throws Exception {
        DecodedAudio audio = DECODER.decode(Files.readAllBytes(sox(options, "wav", effects.toArray(String[]::new))));

        assertThat(audio.source()).isEqualTo(new AudioSource(SourceFormat.WAV, encoding, 16_000, channels));
        assertThat(audio.samples()).hasSize(reference.length);
        assertThat(maxDifference(audio.samples(), reference, gain)).isLessThanOrEqualTo(tolerance);
    }

    static Stream<Arguments> otherRateVariants() {
        return Stream.of(
                Arguments.of("WAV 44.1 kHz", List.of("-r", "44100"), "wav", SourceFormat.WAV, 44_100, 1),
                Arguments.of("WAV 48 kHz stereo float", List.of("-r", "48000", "-c", "2", "-e", "floating-point"), "wav", SourceFormat.WAV, 48_000, 2),
                Arguments.of("WAV 8 kHz", List.of("-r", "8000"), "wav", SourceFormat.WAV, 8_000, 1),
                Arguments.of("FLAC 44.1 kHz stereo 24-bit", List.of("-r", "44100", "-c", "2", "-b", "24"), "flac", SourceFormat.FLAC, 44_100, 2),
                Arguments.of("WAV 22.05 kHz 24-bit", List.of("-r", "22050", "-b", "24"), "wav", SourceFormat.WAV, 22_050, 1));
    }

    /**
     * sox's own resampler to the other rate and ours back give the clip again, up to the band each keeps: below
     * 4 kHz for an 8 kHz file, else below our 7.4 kHz passband edge (speech has little energy above it).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("otherRateVariants")
    void decode_variantAtAnotherRate_isResampledToTheSameSignal(String name, List<String> soxArguments, String extension,
            SourceFormat format, int rate, int channels) throws Exception {
        DecodedAudio audio = DECODER.decode(Files.readAllBytes(sox(soxArguments, extension)));

        assertThat(audio.source().format()).isEqualTo(format);
        assertThat(audio.source().sampleRate()).isEqualTo(rate);
        assertThat(audio.source().channels()).isEqualTo(channels);
        assertThat(audio.durationSeconds()).isCloseTo(reference.length / 16_000.0, within(1.0 / 8_000));
        assertThat(audio.samples().length).isCloseTo(reference.length, within(2));
        float[] expected = rate < 16_000 ? lowPassed(reference) : reference;
        double error = relativeError(audio.samples(), expected);
        System.out.printf("%s: relative error %.4f against the clip%n", name, error);
        assertThat(error).isLessThan(rate < 16_000 ? 0.15 : 0.03);
    }

    @Test
    void decode_flac16k_isLossless() throws Exception {
        DecodedAudio audio = DECODER.decode(Files.readAllBytes(flac(CLIP)));

        assertThat(audio.source()).isEqualTo(new AudioSource(SourceFormat.FLAC, "FLAC 16-bit", 16_000, 1));
        assertThat(audio.samples()).containsExactly(reference);
    }

    @Test
    void decode_mp3_isTheClipUpToTheCodecsLossAndDelay() throws Exception {
        DecodedAudio audio = DECODER.decode(Files.readAllBytes(mp3(CLIP, List.of())));

        assertThat(audio.source()).isEqualTo(new AudioSource(SourceFormat.MP3, "MPEG-2 LSF Layer III", 16_000, 1));
        assertThat(audio.durationSeconds()).isCloseTo(reference.length / 16_000.0, within(0.15));
        assertThat(bestCorrelation(audio.samples(), reference, 2_000)).isGreaterThan(0.95);
    }

    @Test
    void decode_mp3At44kStereoWithId3Tag_isResampled() throws Exception {
        Path wav = sox(List.of("-r", "44100", "-c", "2"), "wav");
        DecodedAudio audio = DECODER.decode(Files.readAllBytes(mp3(wav, List.of("--tt", "a title", "--add-id3v2"))));

        assertThat(audio.source()).isEqualTo(new AudioSource(SourceFormat.MP3, "MPEG-1 Layer III", 44_100, 2));
        assertThat(bestCorrelation(audio.samples(), reference, 2_000)).isGreaterThan(0.95);
    }

    @Test
    void decode_inputStream_givesTheSameAsBytes() throws Exception {
        DecodedAudio audio = DECODER.decode(new ByteArrayInputStream(Files.readAllBytes(flac(CLIP))));

        assertThat(audio.samples()).containsExactly(reference);
    }

    // ---- limits -------------------------------------------------------------------------------------------------

    static Stream<String> extensions() {
        return Stream.of("wav", "flac", "mp3");
    }

    /** The clip ten times over (30 s) against a 1 s limit: refused, having read a small part of the file. */
    @ParameterizedTest
    @MethodSource("extensions")
    void decode_longerThanTheLimit_isRefusedBeforeTheRestIsRead(String extension) throws Exception {
        Path wav = sox(List.of(), "wav", "repeat", "9");
        byte[] bytes = Files.readAllBytes(switch (extension) {
            case "wav" -> wav;
            case "flac" -> flac(wav);
            default -> mp3(wav, List.of("-b", "64"));
        });
        CountingStream stream = new CountingStream(bytes);

        Throwable thrown = catchThrowable(() -> new AudioDecoder(Duration.ofSeconds(1)).decode(stream));

        assertInvalidFile(thrown, "longer than the 1 s");
        assertThat(stream.read).as("bytes read of " + bytes.length).isLessThan(bytes.length / 3);
    }

    @Test
    void decode_exactlyAtTheLimit_isAccepted() {
        double seconds = reference.length / 16_000.0;
        DecodedAudio audio = new AudioDecoder(Duration.ofNanos((long) (seconds * 1e9))).decode(clipBytes);

        assertThat(audio.samples()).hasSize(reference.length);
    }

    // ---- what cannot be decoded -----------------------------------------------------------------------------------

    static Stream<Arguments> undecodable() throws Exception {
        byte[] flac = Files.readAllBytes(flac(CLIP));
        // 64 kbit/s: frames at LAME's default 24 kbit/s for 16 kHz are too small for its Info tag (and its frame count)
        byte[] mp3 = Files.readAllBytes(mp3(CLIP, List.of("-b", "64")));
        byte[] garbage = new byte[4096];
        new Random(7).nextBytes(garbage);
        garbage[0] = 0x42;
        byte[] wavHeaderOnly = Arrays.copyOf(clipBytes, 44);
        byte[] emptyData = Arrays.copyOf(clipBytes, 44);
        ByteBuffer.wrap(emptyData).order(ByteOrder.LITTLE_ENDIAN).putInt(40, 0);
        byte[] noFmt = concat("RIFF".getBytes(StandardCharsets.US_ASCII), new byte[] {4, 0, 0, 0},
                "WAVE".getBytes(StandardCharsets.US_ASCII));
        byte[] flacGarbage = concat("fLaC".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(garbage, 2000));
        return Stream.of(
                Arguments.of("empty", new byte[0], "the file is empty"),
                Arguments.of("random bytes", garbage, "not audio in a supported format (WAV, FLAC, MP3)"),
                Arguments.of("text", "hello, this is not audio at all".getBytes(StandardCharsets.UTF_8), "not audio in a supported format"),
                Arguments.of("Ogg", concat("OggS".getBytes(StandardCharsets.US_ASCII), new byte[60]), "Ogg"),
                Arguments.of("WAV cut in its header", Arrays.copyOf(clipBytes, 30), "the WAV file is truncated"),
                Arguments.of("WAV cut in its data", Arrays.copyOf(clipBytes, clipBytes.length / 2), "the WAV file is truncated: its data chunk declares"),
                Arguments.of("WAV with a header and no data", wavHeaderOnly, "the WAV file is truncated"),
                Arguments.of("WAV with a zero-length data chunk", emptyData, "the WAV file has no audio samples"),
                Arguments.of("WAV without a fmt chunk", noFmt, "the WAV file has no fmt chunk"),
                Arguments.of("WAV in A-law", Files.readAllBytes(sox(List.of("-e", "a-law"), "wav")), "unsupported encoding (format code 0x0006)"),
                Arguments.of("FLAC cut in its metadata", Arrays.copyOf(flac, 100), "the FLAC file is truncated"),
                Arguments.of("FLAC cut in its frames", Arrays.copyOf(flac, flac.length * 3 / 5), "the FLAC file is truncated: it holds"),
                Arguments.of("FLAC magic then garbage", flacGarbage, "FLAC"),
                Arguments.of("MP3 cut in its frames", Arrays.copyOf(mp3, mp3.length * 3 / 5), "the MP3 file is truncated: it holds"),
                Arguments.of("ID3 tag and nothing else", concat("ID3".getBytes(StandardCharsets.US_ASCII), new byte[] {3, 0, 0, 0, 0, 1, 0}), "truncated"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("undecodable")
    void decode_undecodable_isInvalidRequestForFile(String name, byte[] bytes, String message) {
        assertInvalidFile(catchThrowable(() -> DECODER.decode(bytes)), message);
    }

    /**
     * Every prefix and many corruptions of each format either decode or fail as a 400 for {@code file}: never
     * another exception, a hang or an error of the JVM.
     */
    @ParameterizedTest
    @MethodSource("extensions")
    void decode_cutOrCorruptedAnywhere_decodesOrIsInvalidRequest(String extension) throws Exception {
        byte[] bytes = Files.readAllBytes(switch (extension) {
            case "wav" -> CLIP;
            case "flac" -> flac(CLIP);
            default -> mp3(CLIP, List.of());
        });
        List<byte[]> inputs = new ArrayList<>();
        for (int length = 0; length < bytes.length; length += Math.max(1, bytes.length / 97)) {
            inputs.add(Arrays.copyOf(bytes, length));
        }
        Random random = new Random(11);
        for (int i = 0; i < 60; i++) {
            byte[] corrupted = bytes.clone();
            for (int flip = 0; flip < 1 + i % 8; flip++) {
                corrupted[random.nextInt(Math.min(corrupted.length, 64 + i * 200))] ^= (byte) (1 + random.nextInt(255));
            }
            inputs.add(corrupted);
        }
        int decoded = 0;
        for (byte[] input : inputs) {
            try {
                DecodedAudio audio = DECODER.decode(input);
                for (float sample : audio.samples()) {
                    assertThat(sample).isBetween(-1f, 1f);
                }
                decoded++;
            } catch (AtriumException e) {
                assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                assertThat(e.param()).contains("file");
            }
        }
        System.out.printf("%s: %d of %d cut or corrupted inputs decoded, the rest refused%n", extension, decoded, inputs.size());
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static void assertInvalidFile(Throwable thrown, String message) {
        assertThat(thrown).isInstanceOf(AtriumException.class).hasMessageContaining(message);
        AtriumException atrium = (AtriumException) thrown;
        assertThat(atrium.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(atrium.param()).contains("file");
    }

    private static int variants;

    /** The clip through sox with the given output options, then effects. */
    static Path sox(List<String> options, String extension, String... effects) throws Exception {
        Path output = directory.resolve("variant-" + variants++ + "." + extension);
        List<String> command = new ArrayList<>(List.of("sox", CLIP.toString()));
        command.addAll(options);
        command.add(output.toString());
        command.addAll(List.of(effects));
        SpeechFixtures.run(command.toArray(String[]::new));
        return output;
    }

    static Path flac(Path wav) throws Exception {
        Path output = directory.resolve("clip-" + variants++ + ".flac");
        SpeechFixtures.run("flac", "--silent", "--force", "-o", output.toString(), wav.toString());
        return output;
    }

    static Path mp3(Path wav, List<String> options) throws Exception {
        Path output = directory.resolve("clip-" + variants++ + ".mp3");
        List<String> command = new ArrayList<>(List.of("lame", "--quiet"));
        command.addAll(options);
        command.addAll(List.of(wav.toString(), output.toString()));
        SpeechFixtures.run(command.toArray(String[]::new));
        return output;
    }

    private static double maxDifference(float[] actual, float[] expected, double gain) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - gain * expected[i]));
        }
        return max;
    }

    /** RMS of the difference over RMS of the expected signal, over the common length. */
    private static double relativeError(float[] actual, float[] expected) {
        double difference = 0;
        double energy = 0;
        int length = Math.min(actual.length, expected.length);
        for (int i = 0; i < length; i++) {
            difference += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            energy += expected[i] * expected[i];
        }
        return Math.sqrt(difference / energy);
    }

    /** The clip without what an 8 kHz file cannot hold: through our own resampler to 8 kHz and back. */
    private static float[] lowPassed(float[] samples) {
        FloatList down = new FloatList(16);
        Resampler toEight = new Resampler(16_000, 8_000, down);
        toEight.accept(samples, samples.length);
        toEight.finish();
        FloatList up = new FloatList(16);
        Resampler back = new Resampler(8_000, 16_000, up);
        float[] eight = down.toArray();
        back.accept(eight, eight.length);
        back.finish();
        return up.toArray();
    }

    /** The highest normalised correlation of {@code actual} shifted by 0 to {@code maxLag} samples against {@code expected}. */
    private static double bestCorrelation(float[] actual, float[] expected, int maxLag) {
        double best = -1;
        for (int lag = 0; lag <= maxLag; lag += 1) {
            double product = 0;
            double a = 0;
            double e = 0;
            int length = Math.min(expected.length, actual.length - lag);
            for (int i = 0; i < length; i++) {
                product += actual[i + lag] * expected[i];
                a += actual[i + lag] * actual[i + lag];
                e += expected[i] * expected[i];
            }
            best = Math.max(best, product / Math.sqrt(a * e));
        }
        return best;
    }

    private static byte[] concat(byte[]... parts) {
        byte[] bytes = new byte[0];
        for (byte[] part : parts) {
            int at = bytes.length;
            bytes = Arrays.copyOf(bytes, at + part.length);
            System.arraycopy(part, 0, bytes, at, part.length);
        }
        return bytes;
    }

    /** Counts the bytes the decoder takes. */
    private static final class CountingStream extends InputStream {
        private final ByteArrayInputStream bytes;
        long read;

        CountingStream(byte[] data) {
            this.bytes = new ByteArrayInputStream(data);
        }

        @Override
        public int read() {
            int value = bytes.read();
            read += value < 0 ? 0 : 1;
            return value;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            int count = bytes.read(buffer, offset, length);
            read += Math.max(0, count);
            return count;
        }
    }
}
