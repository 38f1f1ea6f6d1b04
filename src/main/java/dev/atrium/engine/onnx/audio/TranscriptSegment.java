package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

/**
 * One window's text with its place in the original audio (OpenAI's {@code verbose_json} segment).
 *
 * @param id the segment's index, from 0
 * @param startSeconds where its window starts
 * @param endSeconds where its window ends
 * @param text its text, stripped
 */
public record TranscriptSegment(int id, double startSeconds, double endSeconds, String text) {
    public TranscriptSegment {
        requireNonNull(text, "text is null");
        if (id < 0 || !(startSeconds >= 0) || !(endSeconds >= startSeconds)) {
            throw new IllegalArgumentException("a segment needs id >= 0 and 0 <= start <= end: " + id + ", "
                    + startSeconds + ", " + endSeconds);
        }
    }
}
