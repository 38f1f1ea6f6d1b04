package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The end-to-end Whisper graph on real speech, and the checks that refuse other graphs at upload. */
class WhisperModelTest {
    private static final OrtEnvironment ENVIRONMENT = OrtEnvironment.getEnvironment();
    private static final AudioDecoder DECODER = new AudioDecoder(Duration.ofMinutes(5));
    private static WhisperModel whisper;

    @TempDir
    static Path directory;

    @BeforeAll
    static void open() {
        whisper = WhisperModel.open(ENVIRONMENT, SpeechFixtures.model(SpeechFixtures.WHISPER), 2);
    }

    @AfterAll
    static void close() {
        whisper.close();
    }

    private static String transcribe(Path file) throws Exception {
        float[] samples = DECODER.decode(Files.readAllBytes(file)).samples();
        return whisper.transcribe(samples, 0, samples.length, WhisperOptions.DEFAULT);
    }

    @Test
    void transcribe_libriVoxClips_wordErrorRateAtMost10Percent() throws Exception {
        double errors = 0;
        int words = 0;
        double audioSeconds = 0;
        long nanos = 0;
        for (SpeechFixtures.Clip clip : SpeechFixtures.clips()) {
            DecodedAudio audio = DECODER.decode(Files.readAllBytes(clip.wav()));
            long start = System.nanoTime();
            String text = whisper.transcribe(audio.samples(), 0, audio.samples().length, WhisperOptions.DEFAULT);
            long elapsed = System.nanoTime() - start;
            nanos += elapsed;
            audioSeconds += audio.durationSeconds();
            double rate = SpeechFixtures.wordErrorRate(clip.reference(), text);
            int count = SpeechFixtures.words(clip.reference()).size();
            errors += rate * count;
            words += count;
            System.out.printf("WER %.3f  %.1f s in %.2f s (%.1f x)  %s%n      ref: %s%n", rate, audio.durationSeconds(),
                    elapsed / 1e9, audio.durationSeconds() / (elapsed / 1e9), text, clip.reference());
        }
        double wordErrorRate = errors / words;
        System.out.printf("LibriVox clips: WER %.4f over %d words; %.1f s of audio in %.2f s (real-time factor %.1f x)%n",
                wordErrorRate, words, audioSeconds, nanos / 1e9, audioSeconds / (nanos / 1e9));
        assertThat(wordErrorRate).isLessThanOrEqualTo(0.10);
    }

    @Test
    void transcribe_mp3AndFlacOfAClip_sayWhatTheWavSays() throws Exception {
        SpeechFixtures.Clip clip = SpeechFixtures.clips().getFirst();
        Path flac = directory.resolve("clip.flac");
        Path stereo = directory.resolve("clip-44k-stereo.wav");
        Path mp3 = directory.resolve("clip.mp3");
        SpeechFixtures.run("flac", "--silent", "--force", "-o", flac.toString(), clip.wav().toString());
        SpeechFixtures.run("sox", clip.wav().toString(), "-r", "44100", "-c", "2", stereo.toString());
        SpeechFixtures.run("lame", "--quiet", stereo.toString(), mp3.toString());

        List<String> wav = SpeechFixtures.words(transcribe(clip.wav()));

        assertThat(SpeechFixtures.wordErrorRate(clip.reference(), String.join(" ", wav))).isLessThanOrEqualTo(0.10);
        assertThat(SpeechFixtures.words(transcribe(flac))).isEqualTo(wav);
        assertThat(SpeechFixtures.words(transcribe(mp3))).isEqualTo(wav);
    }

    /** espeak-ng speaks at 22.05 kHz: synthetic (slowed, as its default pace is hard to follow), through the resampler. */
    @Test
    void transcribe_espeakSpeechAt22kHz_isUnderstood() throws Exception {
        String sentence = "the quick brown fox jumps over the lazy dog near the river bank";
        Path wav = directory.resolve("espeak.wav");
        SpeechFixtures.run("espeak-ng", "-s", "130", "-w", wav.toString(), sentence);

        String text = transcribe(wav);

        System.out.println("espeak-ng: " + text);
        assertThat(SpeechFixtures.wordErrorRate(sentence, text)).isLessThanOrEqualTo(0.20);
    }

    @Test
    void transcribe_windowLongerThan30s_isRefused() {
        float[] samples = new float[AudioSegmenter.MAX_WINDOW + 1];

        assertThatThrownBy(() -> whisper.transcribe(samples, 0, samples.length, WhisperOptions.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void transcribe_windowOfAFewSamples_isEmptyOrShortText() {
        float[] samples = new float[100];

        assertThat(whisper.transcribe(samples, 0, samples.length, WhisperOptions.DEFAULT).length()).isLessThan(40);
    }

    @Test
    void open_sileroGraph_isInvalidArtifact() {
        assertThatThrownBy(() -> WhisperModel.validate(ENVIRONMENT, SpeechFixtures.model(SpeechFixtures.SILERO)))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT))
                .hasMessageContaining("not an end-to-end Whisper graph").hasMessageContaining("no input 'audio_pcm'");
    }

    @Test
    void open_fileThatIsNotOnnx_isInvalidArtifact() throws Exception {
        Path file = Files.writeString(directory.resolve("not-a-model.onnx"), "this is text, not a graph");

        assertThatThrownBy(() -> WhisperModel.validate(ENVIRONMENT, file))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT))
                .hasMessageNotContaining(directory.toString());
    }

    @Test
    void validate_whisperGraph_passes() {
        WhisperModel.validate(ENVIRONMENT, SpeechFixtures.model(SpeechFixtures.WHISPER));
    }

    @Test
    void voiceActivityOpen_graphThatIsNotSilero_isInvalidArtifact() {
        Path other = SpeechFixtures.model(SpeechFixtures.MODELS.resolve("mobilenetv3-small-3class.onnx"));

        assertThatThrownBy(() -> VoiceActivity.open(ENVIRONMENT, other))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT))
                .hasMessageContaining("not Silero VAD v5");
    }

    @Test
    void whisperOptions_outOfRange_areRefused() {
        assertThatThrownBy(() -> new WhisperOptions(0, 448, 1f, 1f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WhisperOptions(1, 449, 1f, 1f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WhisperOptions(1, 448, 1f, 0.5f)).isInstanceOf(IllegalArgumentException.class);
    }
}
