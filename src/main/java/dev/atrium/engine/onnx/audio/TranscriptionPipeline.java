package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Speech recognition of a whole recording: decoded audio, cut into windows, each transcribed by Whisper in order,
 * the texts joined into a {@link Transcript}.
 *
 * <p>Where fixed windows overlap, the words the next text repeats from the end of the one before are dropped.
 * Cancellation is checked before each window: an interrupt of the calling thread or {@code cancelled} returning
 * true stops the work with a {@link CancellationException} (the interrupt flag stays set). One pipeline may serve
 * many threads at once; each call runs its windows one after another on the calling thread.
 */
public final class TranscriptionPipeline {
    /** The most words of overlap looked for between two fixed windows' texts (1 s of speech is 2 to 4 words). */
    private static final int MAX_OVERLAP_WORDS = 8;

    private final WhisperModel whisper;
    private final AudioSegmenter segmenter;

    public TranscriptionPipeline(WhisperModel whisper, AudioSegmenter segmenter) {
        this.whisper = requireNonNull(whisper, "whisper is null");
        this.segmenter = requireNonNull(segmenter, "segmenter is null");
    }

    public Transcript transcribe(DecodedAudio audio, WhisperOptions options, TranscriptionProgress progress,
            BooleanSupplier cancelled) {
        requireNonNull(audio, "audio is null");
        requireNonNull(options, "options is null");
        requireNonNull(progress, "progress is null");
        requireNonNull(cancelled, "cancelled is null");
        checkCancelled(cancelled);
        float[] samples = audio.samples();
        List<AudioWindow> windows = windows(audio);
        progress.windowsDone(0, windows.size());
        List<String> texts = new ArrayList<>(windows.size());
        for (int i = 0; i < windows.size(); i++) {
            checkCancelled(cancelled);
            AudioWindow window = windows.get(i);
            texts.add(whisper.transcribe(samples, window.startSample(), window.endSample(), options));
            progress.windowsDone(i + 1, windows.size());
        }
        return assemble(audio, windows, texts);
    }

    /** The windows the audio is transcribed in, in order: each may be run apart (in parallel) and joined by {@link #assemble}. */
    public List<AudioWindow> windows(DecodedAudio audio) {
        return segmenter.windows(audio.samples());
    }

    /** The whisper model the windows run on. */
    public WhisperModel whisper() {
        return whisper;
    }

    /**
     * The transcript of windows and their texts, in order: segments with their times, words repeated across
     * overlapping windows dropped.
     */
    public Transcript assemble(DecodedAudio audio, List<AudioWindow> windows, List<String> texts) {
        if (windows.size() != texts.size()) {
            throw new IllegalArgumentException("one text per window");
        }
        List<TranscriptSegment> segments = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        String previous = "";
        double duration = audio.durationSeconds();
        for (int i = 0; i < windows.size(); i++) {
            AudioWindow window = windows.get(i);
            String windowText = texts.get(i);
            if (segmenter.overlaps() && i > 0) {
                windowText = dropRepeatedWords(previous, windowText);
            }
            previous = windowText;
            if (!windowText.isEmpty()) {
                double start = Math.min(window.startSeconds(), duration);
                double end = Math.min(window.endSeconds(), duration);
                if (!segments.isEmpty()) {
                    start = Math.max(start, segments.getLast().endSeconds()); // overlapping windows stay monotonic
                    end = Math.max(end, start);
                }
                segments.add(new TranscriptSegment(segments.size(), start, end, windowText));
                text.append(text.isEmpty() ? "" : " ").append(windowText);
            }
        }
        return new Transcript(text.toString(), duration, segments);
    }

    /** {@code next} without its first words when they repeat the last words of {@code previous} (case and punctuation aside). */
    static String dropRepeatedWords(String previous, String next) {
        String[] before = previous.isBlank() ? new String[0] : previous.strip().split("\\s+");
        String[] after = next.isBlank() ? new String[0] : next.strip().split("\\s+");
        for (int count = Math.min(MAX_OVERLAP_WORDS, Math.min(before.length, after.length)); count > 0; count--) {
            boolean same = true;
            for (int j = 0; j < count && same; j++) {
                same = normalize(before[before.length - count + j]).equals(normalize(after[j]));
            }
            if (same) {
                return String.join(" ", Arrays.asList(after).subList(count, after.length));
            }
        }
        return next.strip();
    }

    private static String normalize(String word) {
        return word.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}']", "");
    }

    private static void checkCancelled(BooleanSupplier cancelled) {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("transcription interrupted");
        }
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("transcription cancelled");
        }
    }
}
