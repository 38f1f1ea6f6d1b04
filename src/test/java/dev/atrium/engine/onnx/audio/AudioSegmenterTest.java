package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Window planning from speech probabilities (made here, one per 32 ms frame) and fixed windows. */
class AudioSegmenterTest {
    private static final int FRAME = VoiceActivity.WINDOW;
    private static final int SECOND = AudioDecoder.SAMPLE_RATE;
    private static final AudioSegmenter.Settings SETTINGS = AudioSegmenter.Settings.DEFAULT;
    private static final int PAD = SETTINGS.speechPadMillis() * SECOND / 1000;

    /** Probabilities of {@code seconds} of audio, speech (0.9) in the given [start, end) second ranges, else 0.05. */
    private static float[] speech(double seconds, double... ranges) {
        float[] probabilities = new float[(int) Math.ceil(seconds * SECOND / FRAME)];
        Arrays.fill(probabilities, 0.05f);
        for (int i = 0; i < ranges.length; i += 2) {
            for (int frame = (int) (ranges[i] * SECOND / FRAME); frame < ranges[i + 1] * SECOND / FRAME; frame++) {
                probabilities[frame] = 0.9f;
            }
        }
        return probabilities;
    }

    @Test
    void atSilences_shortSpeech_isOneWindowAroundIt() {
        float[] probabilities = speech(10, 2, 5);

        List<AudioWindow> windows = AudioSegmenter.atSilences(probabilities, 10 * SECOND, SETTINGS);

        assertThat(windows).containsExactly(new AudioWindow(start(2) - PAD, end(5) + PAD));
    }

    @Test
    void atSilences_noSpeech_isNoWindow() {
        assertThat(AudioSegmenter.atSilences(speech(40), 40 * SECOND, SETTINGS)).isEmpty();
    }

    @Test
    void atSilences_blipShorterThanMinSpeech_isIgnored() {
        assertThat(AudioSegmenter.atSilences(speech(10, 3, 3.1), 10 * SECOND, SETTINGS)).isEmpty();
    }

    @Test
    void atSilences_speechOverMoreThan30s_isCutInTheSilenceThatLetsTheWindowGrowMost() {
        // sentences at 1-9, 10-19, 20-28 and 31-40 s: the first three fit one window (0.8 to 28.2 s)
        float[] probabilities = speech(45, 1, 9, 10, 19, 20, 28, 31, 40);

        List<AudioWindow> windows = AudioSegmenter.atSilences(probabilities, 45 * SECOND, SETTINGS);

        assertThat(windows).containsExactly(new AudioWindow(start(1) - PAD, end(28) + PAD),
                new AudioWindow(start(31) - PAD, end(40) + PAD));
    }

    @Test
    void atSilences_speechWithoutPauseLongerThanAWindow_isCutAtItsQuietestFrame() {
        float[] probabilities = speech(70, 0, 70);
        int dip = 24 * SECOND / FRAME;
        probabilities[dip] = 0.6f; // still speech, but the quietest frame

        List<AudioWindow> windows = AudioSegmenter.atSilences(probabilities, 70 * SECOND, SETTINGS);

        assertThat(windows.getFirst()).isEqualTo(new AudioWindow(0, dip * FRAME));
        assertThat(windows).allSatisfy(window -> assertThat(window.length()).isLessThanOrEqualTo(AudioSegmenter.MAX_WINDOW));
        assertContiguousInOrder(windows);
        assertThat(windows.getLast().endSample()).isEqualTo(70 * SECOND);
    }

    @Test
    void atSilences_manySentences_windowsInOrderAtMost30sEachAndCoverEverySpeechFrame() {
        double[] ranges = new double[80];
        for (int i = 0; i < 40; i++) {
            ranges[2 * i] = i * 4.5 + 0.5;
            ranges[2 * i + 1] = i * 4.5 + 0.5 + 1 + i % 4;
        }
        float[] probabilities = speech(181, ranges);

        List<AudioWindow> windows = AudioSegmenter.atSilences(probabilities, 181 * SECOND, SETTINGS);

        assertThat(windows).hasSizeGreaterThanOrEqualTo(6);
        for (int i = 0; i < windows.size(); i++) {
            assertThat(windows.get(i).length()).isLessThanOrEqualTo(AudioSegmenter.MAX_WINDOW);
            if (i > 0) {
                assertThat(windows.get(i).startSample()).isGreaterThanOrEqualTo(windows.get(i - 1).endSample());
            }
        }
        for (int frame = 0; frame < probabilities.length; frame++) {
            int sample = frame * FRAME;
            if (probabilities[frame] > 0.5) {
                assertThat(windows).as("frame " + frame).anySatisfy(window ->
                        assertThat(sample).isBetween(window.startSample(), window.endSample() - 1));
            }
        }
    }

    @Test
    void fixed_longAudio_windowsOf30sOverlapAndEndAtTheEnd() {
        int length = 95 * SECOND + 123;

        List<AudioWindow> windows = AudioSegmenter.fixed(length, SECOND);

        assertThat(windows).containsExactly(new AudioWindow(0, 30 * SECOND), new AudioWindow(29 * SECOND, 59 * SECOND),
                new AudioWindow(58 * SECOND, 88 * SECOND), new AudioWindow(87 * SECOND, length));
    }

    @Test
    void fixed_shortAudio_isOneWindow() {
        assertThat(AudioSegmenter.fixed(SECOND, SECOND)).containsExactly(new AudioWindow(0, SECOND));
        assertThat(AudioSegmenter.fixed(AudioSegmenter.MAX_WINDOW, SECOND))
                .containsExactly(new AudioWindow(0, AudioSegmenter.MAX_WINDOW));
    }

    @Test
    void windows_withoutVoiceActivity_overlapAndAreFixed() {
        AudioSegmenter segmenter = AudioSegmenter.fixed(SETTINGS);

        assertThat(segmenter.overlaps()).isTrue();
        assertThat(segmenter.windows(new float[61 * SECOND])).hasSize(3);
        assertThat(segmenter.windows(new float[0])).isEmpty();
    }

    /** The first sample of the frame where speech starting at {@code seconds} is first heard. */
    private static int start(double seconds) {
        return (int) (seconds * SECOND / FRAME) * FRAME;
    }

    /** The end of the last frame of speech ending at {@code seconds}. */
    private static int end(double seconds) {
        return (int) Math.ceil(seconds * SECOND / FRAME) * FRAME;
    }

    private static void assertContiguousInOrder(List<AudioWindow> windows) {
        for (int i = 1; i < windows.size(); i++) {
            assertThat(windows.get(i).startSample()).isEqualTo(windows.get(i - 1).endSample());
        }
    }
}
