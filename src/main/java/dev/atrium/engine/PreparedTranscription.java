package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * A transcription request with its audio decoded, and its duration, which it is metered by.
 *
 * @param work the engine's own form of the audio, opaque to the serving layer
 * @param audioMillis the audio's duration, in milliseconds
 */
public record PreparedTranscription(Deployment deployment, TranscriptionRequest request, Object work,
        long audioMillis) {
    public PreparedTranscription {
        requireNonNull(deployment, "deployment is null");
        requireNonNull(request, "request is null");
        requireNonNull(work, "work is null");
        if (audioMillis < 0) {
            throw new IllegalArgumentException("audioMillis cannot be negative");
        }
    }
}
