package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real speech and tools the audio tests use: Debian's pocketsphinx-testdata LibriVox clips with their
 * reference transcripts, sox/flac/lame/espeak-ng (all installed by .ci/run, so a missing one fails the test), the
 * Whisper and Silero models in ../shared/models, and word error rate.
 */
final class SpeechFixtures {
    static final Path LIBRIVOX = Path.of("/usr/share/pocketsphinx/test/data/librivox");
    static final Path MODELS = Path.of("..", "shared", "models");
    static final Path WHISPER = MODELS.resolve("whisper-tiny-en-int8.onnx");
    static final Path SILERO = MODELS.resolve("silero-vad-v5.onnx");
    private static final Pattern LINE = Pattern.compile("<s>(.*)</s>\\s*\\((.*)\\)");

    private SpeechFixtures() {}

    /** A LibriVox clip (16 kHz, 16-bit mono WAV) and what it says. */
    record Clip(Path wav, String reference) {}

    static List<Clip> clips() throws IOException {
        Path transcription = LIBRIVOX.resolve("transcription");
        assertThat(transcription).as("Debian's pocketsphinx-testdata (installed by .ci/run) is missing").exists();
        List<Clip> clips = new ArrayList<>();
        for (String line : Files.readAllLines(transcription)) {
            Matcher matcher = LINE.matcher(line.strip());
            if (matcher.matches()) {
                Path wav = LIBRIVOX.resolve(matcher.group(2).strip() + ".wav");
                assertThat(wav).as("a clip the transcription names").exists();
                clips.add(new Clip(wav, matcher.group(1).strip()));
            }
        }
        assertThat(clips).as("clips in " + transcription).hasSize(5);
        return clips;
    }

    static Path model(Path path) {
        assertThat(path).as("the model " + path.getFileName() + " in ../shared/models (see its README)").exists();
        return path;
    }

    /** Runs a tool (sox, flac, lame, espeak-ng) and fails the test if it is missing or fails. */
    static void run(String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(command[0] + " is not installed (.ci/run installs sox, flac, lame, espeak-ng)", e);
        }
        byte[] output = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(command[0] + " finished").isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + ": " + new String(output)).isZero();
    }

    /** Word error rate: word-level Levenshtein distance over the reference's word count, after normalising both. */
    static double wordErrorRate(String reference, String hypothesis) {
        List<String> expected = words(reference);
        List<String> actual = words(hypothesis);
        int[] previous = new int[actual.size() + 1];
        int[] current = new int[actual.size() + 1];
        for (int j = 0; j <= actual.size(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= expected.size(); i++) {
            current[0] = i;
            for (int j = 1; j <= actual.size(); j++) {
                int substitution = previous[j - 1] + (expected.get(i - 1).equals(actual.get(j - 1)) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return expected.isEmpty() ? (actual.isEmpty() ? 0 : 1) : previous[actual.size()] / (double) expected.size();
    }

    /** Lower case, punctuation removed, hyphens and "mr." read as the references write them. */
    static List<String> words(String text) {
        String normalized = text.toLowerCase(Locale.ROOT)
                .replaceAll("\\bmr\\.?(?=\\s)", "mister")
                .replace('-', ' ')
                .replaceAll("[^\\p{L}\\p{N}' ]", " ")
                .replace("'", "");
        List<String> words = new ArrayList<>();
        for (String word : normalized.split("\\s+")) {
            if (!word.isEmpty()) {
                words.add(word);
            }
        }
        return words;
    }

    /** 16-bit PCM mono WAV bytes of samples in [-1, 1]. */
    static byte[] wav16(float[] samples, int sampleRate) {
        ByteBuffer buffer = ByteBuffer.allocate(44 + samples.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put("RIFF".getBytes()).putInt(36 + samples.length * 2).put("WAVE".getBytes());
        buffer.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(sampleRate)
                .putInt(sampleRate * 2).putShort((short) 2).putShort((short) 16);
        buffer.put("data".getBytes()).putInt(samples.length * 2);
        for (float sample : samples) {
            buffer.putShort((short) Math.round(Math.clamp(sample, -1f, 1f) * 32767));
        }
        return buffer.array();
    }
}
