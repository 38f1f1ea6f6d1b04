package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * What was said: the whole text, and its segments in order with their times in the audio.
 *
 * @param durationSeconds the audio's duration
 */
public record Transcript(String text, String language, double durationSeconds, List<Segment> segments,
        long computeNanos) {
    public Transcript {
        requireNonNull(text, "text is null");
        requireNonNull(language, "language is null");
        segments = List.copyOf(segments);
    }

    /** A stretch of speech: its start and end in seconds from the start of the audio, and its text. */
    public record Segment(int id, double start, double end, String text) {
        public Segment {
            requireNonNull(text, "text is null");
            if (start < 0 || end < start) {
                throw new IllegalArgumentException("a segment ends after it starts");
            }
        }
    }
}
