package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The text of a recording: the whole of it, and its segments in order with monotonic times.
 *
 * @param text the segments' texts joined by single spaces
 * @param durationSeconds the recording's duration
 * @param segments the windows that produced text, in order
 */
public record Transcript(String text, double durationSeconds, List<TranscriptSegment> segments) {
    public Transcript {
        requireNonNull(text, "text is null");
        segments = List.copyOf(segments);
        if (!(durationSeconds >= 0)) {
            throw new IllegalArgumentException("durationSeconds must be >= 0: " + durationSeconds);
        }
    }
}
