package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

/**
 * Decoded audio ready for speech recognition: 16 kHz mono samples in [-1, 1] and what the file was.
 *
 * <p>The array is shared, not copied, so that a long recording exists once in memory: callers must not change it.
 *
 * @param samples 16 kHz mono samples in [-1, 1]
 * @param durationSeconds the source's duration: its frames over its sample rate
 * @param source the file's format, encoding, sample rate and channels
 */
public record DecodedAudio(float[] samples, double durationSeconds, AudioSource source) {
    public DecodedAudio {
        requireNonNull(samples, "samples is null");
        requireNonNull(source, "source is null");
        if (!(durationSeconds >= 0)) {
            throw new IllegalArgumentException("durationSeconds must be >= 0: " + durationSeconds);
        }
    }

    /** Seconds of the 16 kHz samples (the source's duration, rounded to a sample). */
    public double sampleSeconds() {
        return samples.length / (double) AudioDecoder.SAMPLE_RATE;
    }
}
