package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * Audio to transcribe, as the client sent it (WAV, FLAC or MP3 bytes), and what it asked for.
 *
 * @param language the spoken language as ISO-639-1, if the client said
 * @param prompt text to guide the style, if any
 * @param temperature 0 for the most likely text
 */
public record TranscriptionRequest(byte[] audio, Optional<String> language, Optional<String> prompt,
        double temperature) {
    public TranscriptionRequest {
        requireNonNull(audio, "audio is null");
        requireNonNull(language, "language is null");
        requireNonNull(prompt, "prompt is null");
    }
}
