package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Splits decoded audio into windows of at most 30 s for Whisper, in order, each with its place in the original.
 *
 * <p>With a voice activity model, speech is found with Silero's hysteresis (speech from {@code threshold}, silence
 * below {@code threshold - 0.15}), runs shorter than {@code minSpeechMillis} are dropped, the rest padded by
 * {@code speechPadMillis}, and consecutive runs packed into one window while they fit: each cut falls in a
 * silence, and stretches without speech are not sent to the model at all (Whisper invents text for silence).
 * A run longer than a window is cut at its quietest point in the window's second half. Without a model, the audio
 * is cut into fixed windows that overlap by {@code overlapMillis}, so that a word on a cut is heard whole once.
 * Instances are immutable and safe to share.
 */
public final class AudioSegmenter {
    /** The longest window Whisper takes: 30 s. */
    public static final int MAX_WINDOW = 30 * AudioDecoder.SAMPLE_RATE;

    /**
     * How windows are cut.
     *
     * @param threshold speech probability at which speech starts (0 to 1, exclusive)
     * @param minSpeechMillis speech runs shorter than this are ignored
     * @param speechPadMillis silence kept on each side of speech
     * @param overlapMillis overlap of the fixed windows used without a voice activity model
     */
    public record Settings(double threshold, int minSpeechMillis, int speechPadMillis, int overlapMillis) {
        /** Silero's own defaults (0.5, 250 ms; 200 ms pad, a little more than its 30) and a 1 s overlap. */
        public static final Settings DEFAULT = new Settings(0.5, 250, 200, 1_000);

        public Settings {
            if (!(threshold > 0.15 && threshold < 1)) {
                throw new IllegalArgumentException("threshold must be in (0.15, 1): " + threshold);
            }
            if (minSpeechMillis < 0 || speechPadMillis < 0 || speechPadMillis > 2_000) {
                throw new IllegalArgumentException("minSpeechMillis must be >= 0 and speechPadMillis in [0, 2000]");
            }
            if (overlapMillis < 0 || overlapMillis > 5_000) {
                throw new IllegalArgumentException("overlapMillis must be in [0, 5000]: " + overlapMillis);
            }
        }
    }

    private final Optional<VoiceActivity> voiceActivity;
    private final Settings settings;

    private AudioSegmenter(Optional<VoiceActivity> voiceActivity, Settings settings) {
        this.voiceActivity = voiceActivity;
        this.settings = requireNonNull(settings, "settings is null");
    }

    /** Cuts at silences found by the voice activity model. */
    public static AudioSegmenter atSilences(VoiceActivity voiceActivity, Settings settings) {
        return new AudioSegmenter(Optional.of(requireNonNull(voiceActivity, "voiceActivity is null")), settings);
    }

    /** Cuts fixed 30 s windows that overlap by {@code settings.overlapMillis()}. */
    public static AudioSegmenter fixed(Settings settings) {
        return new AudioSegmenter(Optional.empty(), settings);
    }

    /** Whether windows may overlap (fixed windows), so that texts on either side of a cut may repeat words. */
    public boolean overlaps() {
        return voiceActivity.isEmpty() && settings.overlapMillis() > 0;
    }

    /** The windows of {@code samples}, in order; empty when there is no audio (or, with a model, no speech). */
    public List<AudioWindow> windows(float[] samples) {
        if (samples.length == 0) {
            return List.of();
        }
        return voiceActivity.isPresent()
                ? atSilences(voiceActivity.get().speechProbabilities(samples), samples.length, settings)
                : fixed(samples.length, millisToSamples(settings.overlapMillis()));
    }

    static List<AudioWindow> fixed(int length, int overlap) {
        List<AudioWindow> windows = new ArrayList<>();
        int step = MAX_WINDOW - overlap;
        for (int start = 0; ; start += step) {
            int end = Math.min(length, start + MAX_WINDOW);
            windows.add(new AudioWindow(start, end));
            if (end == length) {
                return List.copyOf(windows);
            }
        }
    }

    /** Windows from per-window speech probabilities (one per {@link VoiceActivity#WINDOW} samples). */
    static List<AudioWindow> atSilences(float[] probabilities, int length, Settings settings) {
        List<int[]> runs = speechRuns(probabilities, length, settings);
        List<AudioWindow> windows = new ArrayList<>();
        int start = -1;
        int end = -1;
        for (int[] run : runs) {
            if (start >= 0 && run[1] - start <= MAX_WINDOW) {
                end = run[1]; // this run fits: the window grows over the silence before it
                continue;
            }
            if (start >= 0) {
                windows.add(new AudioWindow(start, end));
            }
            start = run[0];
            end = run[1];
            // a run longer than a window is cut at its quietest frame in the window's second half
            while (end - start > MAX_WINDOW) {
                int cut = quietest(probabilities, start + MAX_WINDOW / 2, start + MAX_WINDOW);
                windows.add(new AudioWindow(start, cut));
                start = cut;
            }
        }
        if (start >= 0) {
            windows.add(new AudioWindow(start, end));
        }
        return List.copyOf(windows);
    }

    /** Speech runs [start, end) in samples: hysteresis, short runs dropped, padded, overlapping ones merged. */
    private static List<int[]> speechRuns(float[] probabilities, int length, Settings settings) {
        double low = settings.threshold() - 0.15;
        int minFrames = Math.ceilDiv(millisToSamples(settings.minSpeechMillis()), VoiceActivity.WINDOW);
        int pad = millisToSamples(settings.speechPadMillis());
        List<int[]> runs = new ArrayList<>();
        int runStart = -1;
        for (int frame = 0; frame <= probabilities.length; frame++) {
            float probability = frame < probabilities.length ? probabilities[frame] : 0f;
            if (runStart < 0 && probability >= settings.threshold() && frame < probabilities.length) {
                runStart = frame;
            } else if (runStart >= 0 && probability < low) {
                if (frame - runStart >= minFrames) {
                    int start = Math.max(0, runStart * VoiceActivity.WINDOW - pad);
                    int end = Math.min(length, frame * VoiceActivity.WINDOW + pad);
                    if (!runs.isEmpty() && runs.getLast()[1] >= start) {
                        runs.getLast()[1] = end;
                    } else {
                        runs.add(new int[] {start, end});
                    }
                }
                runStart = -1;
            }
        }
        return runs;
    }

    /** The start sample of the frame with the lowest speech probability in [from, to). */
    private static int quietest(float[] probabilities, int from, int to) {
        int best = to / VoiceActivity.WINDOW;
        float lowest = Float.MAX_VALUE;
        for (int frame = Math.ceilDiv(from, VoiceActivity.WINDOW); frame * VoiceActivity.WINDOW < to
                && frame < probabilities.length; frame++) {
            if (probabilities[frame] < lowest) {
                lowest = probabilities[frame];
                best = frame;
            }
        }
        return Math.min(best * VoiceActivity.WINDOW, to);
    }

    private static int millisToSamples(int millis) {
        return millis * (AudioDecoder.SAMPLE_RATE / 1000);
    }
}
