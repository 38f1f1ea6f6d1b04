package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Long recordings end to end: a ~3-minute file made of the LibriVox clips with silences between them comes back
 * whole, cut at silences by Silero VAD, segments in order; the fixed-window fallback; progress and cancellation.
 */
class TranscriptionPipelineTest {
    private static final OrtEnvironment ENVIRONMENT = OrtEnvironment.getEnvironment();
    private static final int SECOND = AudioDecoder.SAMPLE_RATE;
    private static WhisperModel whisper;
    private static VoiceActivity voiceActivity;
    private static List<SpeechFixtures.Clip> clips;
    private static List<float[]> clipSamples;

    @BeforeAll
    static void open() throws Exception {
        whisper = WhisperModel.open(ENVIRONMENT, SpeechFixtures.model(SpeechFixtures.WHISPER), 2);
        voiceActivity = VoiceActivity.open(ENVIRONMENT, SpeechFixtures.model(SpeechFixtures.SILERO));
        clips = SpeechFixtures.clips();
        AudioDecoder decoder = new AudioDecoder(Duration.ofMinutes(1));
        clipSamples = new ArrayList<>();
        for (SpeechFixtures.Clip clip : clips) {
            clipSamples.add(decoder.decode(Files.readAllBytes(clip.wav())).samples());
        }
    }

    @AfterAll
    static void close() {
        whisper.close();
        voiceActivity.close();
    }

    /** A recording of the clips in turn, {@code rounds} times, with 0.6 to 1.8 s of silence after each. */
    private record Recording(DecodedAudio audio, String reference, List<int[]> speech) {}

    private static Recording recording(int rounds) {
        FloatList samples = new FloatList(SECOND);
        StringBuilder reference = new StringBuilder();
        List<int[]> speech = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < clips.size(); i++) {
                float[] clip = clipSamples.get(i);
                speech.add(new int[] {samples.size(), samples.size() + clip.length});
                samples.add(clip, clip.length);
                int silence = (6 + (round * clips.size() + i) * 5 % 13) * SECOND / 10;
                samples.add(new float[silence], silence);
                reference.append(clips.get(i).reference()).append(' ');
            }
        }
        float[] all = samples.toArray();
        return new Recording(new DecodedAudio(all, all.length / (double) SECOND,
                new AudioSource(SourceFormat.WAV, "PCM 16-bit", SECOND, 1)), reference.toString().strip(), speech);
    }

    @Test
    void transcribe_threeMinutesWithVoiceActivity_comesBackWholeCutAtSilencesInOrder() {
        Recording recording = recording(6);
        assertThat(recording.audio().durationSeconds()).isBetween(170.0, 190.0);
        TranscriptionPipeline pipeline = new TranscriptionPipeline(whisper,
                AudioSegmenter.atSilences(voiceActivity, AudioSegmenter.Settings.DEFAULT));
        List<int[]> progress = new ArrayList<>();
        long[] windowsPlanned = new long[1];

        long start = System.nanoTime();
        Transcript transcript = pipeline.transcribe(recording.audio(), WhisperOptions.DEFAULT, (done, total) -> {
            progress.add(new int[] {done, total});
            if (done == 0) {
                windowsPlanned[0] = System.nanoTime();
            }
        }, () -> false);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("voice activity over %.1f s: %.2f s%n", recording.audio().durationSeconds(),
                (windowsPlanned[0] - start) / 1e9);

        double wordErrorRate = SpeechFixtures.wordErrorRate(recording.reference(), transcript.text());
        System.out.printf("%.1f s recording: %d segments, WER %.4f, %.2f s (real-time factor %.1f x)%n",
                transcript.durationSeconds(), transcript.segments().size(), wordErrorRate, seconds,
                transcript.durationSeconds() / seconds);
        transcript.segments().forEach(segment -> System.out.printf("  [%6.2f - %6.2f] %s%n", segment.startSeconds(),
                segment.endSeconds(), segment.text()));
        assertThat(wordErrorRate).isLessThanOrEqualTo(0.10);
        assertThat(transcript.durationSeconds()).isEqualTo(recording.audio().durationSeconds());
        assertThat(transcript.segments()).hasSizeGreaterThanOrEqualTo(6);
        assertOrderedAndMonotonic(transcript);
        assertThat(transcript.text()).isEqualTo(String.join(" ", transcript.segments().stream().map(TranscriptSegment::text).toList()));
        // each cut falls where no clip is speaking... or in a pause inside one: quiet either way
        for (TranscriptSegment segment : transcript.segments()) {
            assertThat(segment.endSeconds() - segment.startSeconds()).isLessThanOrEqualTo(30.0);
            assertQuietAround(recording.audio().samples(), (int) (segment.startSeconds() * SECOND));
            assertQuietAround(recording.audio().samples(), (int) (segment.endSeconds() * SECOND));
        }
        assertThat(progress.getFirst()).containsExactly(0, progress.getLast()[1]);
        assertThat(progress.getLast()[0]).isEqualTo(progress.getLast()[1]);
        for (int i = 1; i < progress.size(); i++) {
            assertThat(progress.get(i)[0]).isEqualTo(progress.get(i - 1)[0] + 1);
        }
    }

    @Test
    void transcribe_withoutVoiceActivity_fixedOverlappingWindowsStillGiveTheText() {
        Recording recording = recording(2); // ~60 s: three fixed windows
        TranscriptionPipeline pipeline = new TranscriptionPipeline(whisper, AudioSegmenter.fixed(AudioSegmenter.Settings.DEFAULT));

        Transcript transcript = pipeline.transcribe(recording.audio(), WhisperOptions.DEFAULT, TranscriptionProgress.NONE,
                () -> false);

        double wordErrorRate = SpeechFixtures.wordErrorRate(recording.reference(), transcript.text());
        System.out.printf("fixed windows, %.1f s: %d segments, WER %.4f%n", transcript.durationSeconds(),
                transcript.segments().size(), wordErrorRate);
        transcript.segments().forEach(segment -> System.out.printf("  [%6.2f - %6.2f] %s%n", segment.startSeconds(),
                segment.endSeconds(), segment.text()));
        // a word cut in two at a window edge can be lost or misheard: a looser bound than with cuts at silences
        assertThat(wordErrorRate).isLessThanOrEqualTo(0.15);
        assertThat(transcript.segments()).hasSizeGreaterThanOrEqualTo(2);
        assertOrderedAndMonotonic(transcript);
    }

    @Test
    void transcribe_silence_isEmptyWithVoiceActivity() {
        float[] silence = new float[5 * SECOND];
        DecodedAudio audio = new DecodedAudio(silence, 5, new AudioSource(SourceFormat.WAV, "PCM 16-bit", SECOND, 1));
        AtomicInteger total = new AtomicInteger(-1);

        Transcript transcript = new TranscriptionPipeline(whisper, AudioSegmenter.atSilences(voiceActivity,
                AudioSegmenter.Settings.DEFAULT)).transcribe(audio, WhisperOptions.DEFAULT, (done, all) -> total.set(all), () -> false);

        assertThat(transcript.text()).isEmpty();
        assertThat(transcript.segments()).isEmpty();
        assertThat(transcript.durationSeconds()).isEqualTo(5.0);
        assertThat(total).hasValue(0);
    }

    @Test
    void transcribe_cancelledAfterTheFirstWindow_stopsBeforeTheSecond() {
        Recording recording = recording(2);
        AtomicInteger done = new AtomicInteger();
        TranscriptionPipeline pipeline = new TranscriptionPipeline(whisper,
                AudioSegmenter.atSilences(voiceActivity, AudioSegmenter.Settings.DEFAULT));

        assertThatThrownBy(() -> pipeline.transcribe(recording.audio(), WhisperOptions.DEFAULT,
                (windows, total) -> done.set(windows), () -> done.get() >= 1))
                .isInstanceOf(CancellationException.class);
        assertThat(done).hasValue(1);
    }

    @Test
    void transcribe_interruptedThread_stopsAndKeepsTheInterrupt() {
        Recording recording = recording(1);
        AtomicInteger done = new AtomicInteger();
        TranscriptionPipeline pipeline = new TranscriptionPipeline(whisper, AudioSegmenter.fixed(AudioSegmenter.Settings.DEFAULT));
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> pipeline.transcribe(recording.audio(), WhisperOptions.DEFAULT,
                    (windows, total) -> done.set(windows), () -> false))
                    .isInstanceOf(CancellationException.class);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(done).hasValue(0);
    }

    @Test
    void dropRepeatedWords_overlapOfFixedWindows_isDroppedOnce() {
        assertThat(TranscriptionPipeline.dropRepeatedWords("he was not an ill-disposed young", "Young man. He might even"))
                .isEqualTo("man. He might even");
        assertThat(TranscriptionPipeline.dropRepeatedWords("he was not", "an ill disposed")).isEqualTo("an ill disposed");
        assertThat(TranscriptionPipeline.dropRepeatedWords("", "an ill disposed")).isEqualTo("an ill disposed");
    }

    private static void assertOrderedAndMonotonic(Transcript transcript) {
        double previousEnd = 0;
        for (int i = 0; i < transcript.segments().size(); i++) {
            TranscriptSegment segment = transcript.segments().get(i);
            assertThat(segment.id()).isEqualTo(i);
            assertThat(segment.startSeconds()).isGreaterThanOrEqualTo(previousEnd);
            assertThat(segment.endSeconds()).isGreaterThan(segment.startSeconds())
                    .isLessThanOrEqualTo(transcript.durationSeconds());
            assertThat(segment.text()).isNotBlank();
            previousEnd = segment.endSeconds();
        }
    }

    /** The 64 ms around a cut are far quieter than speech (speech RMS here is about 0.05 to 0.1). */
    private static void assertQuietAround(float[] samples, int sample) {
        int from = Math.max(0, sample - 512);
        int to = Math.min(samples.length, sample + 512);
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += samples[i] * samples[i];
        }
        assertThat(Math.sqrt(sum / Math.max(1, to - from))).as("RMS around the cut at sample " + sample).isLessThan(0.01);
    }
}
