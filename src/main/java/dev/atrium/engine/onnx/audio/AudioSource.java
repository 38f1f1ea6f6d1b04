package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

/**
 * What an uploaded audio file was before decoding: its format, sample encoding, rate and channel count.
 *
 * @param format the container found from the bytes
 * @param encoding the sample encoding, e.g. {@code "PCM 16-bit"}, {@code "IEEE float 32-bit"}, {@code "MPEG-1 Layer III"}
 * @param sampleRate frames per second in the file
 * @param channels channels in the file, averaged to one
 */
public record AudioSource(SourceFormat format, String encoding, int sampleRate, int channels) {
    public AudioSource {
        requireNonNull(format, "format is null");
        requireNonNull(encoding, "encoding is null");
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive: " + sampleRate);
        }
        if (channels <= 0) {
            throw new IllegalArgumentException("channels must be positive: " + channels);
        }
    }
}
