package dev.atrium.engine.onnx.audio;

import dev.atrium.AtriumException;

/**
 * Where a decoder writes its frames: averages the channels to mono, resamples to 16 kHz and refuses, as soon as
 * it is passed, the most audio a request may hold, so that a long file is never decoded past the limit.
 */
final class MonoSink {
    private static final int CHUNK = 4096;

    private final double maxSeconds;
    private final float[] chunk = new float[CHUNK];
    private int chunkLength;
    private int sampleRate;
    private int channels;
    private long maxFrames;
    private long frames;
    private Resampler resampler;
    private FloatList output;

    MonoSink(double maxSeconds) {
        this.maxSeconds = maxSeconds;
    }

    /** Fixes the stream's format; called once, before the first frame. */
    void start(int sampleRate, int channels) {
        this.sampleRate = sampleRate;
        this.channels = channels;
        this.maxFrames = (long) Math.floor(maxSeconds * sampleRate);
        this.output = new FloatList(AudioDecoder.SAMPLE_RATE);
        this.resampler = new Resampler(sampleRate, AudioDecoder.SAMPLE_RATE, output);
    }

    boolean started() {
        return resampler != null;
    }

    int sampleRate() {
        return sampleRate;
    }

    int channels() {
        return channels;
    }

    long frames() {
        return frames;
    }

    /** Adds {@code count} frames of interleaved samples in [-1, 1]. */
    void interleaved(float[] samples, int count) {
        for (int frame = 0; frame < count; frame++) {
            float sum = 0;
            int base = frame * channels;
            for (int channel = 0; channel < channels; channel++) {
                sum += samples[base + channel];
            }
            add(sum / channels);
        }
    }

    /** Adds one frame, already mono. */
    void add(float value) {
        if (++frames > maxFrames) {
            throw AtriumException.invalidParam("file", "the audio is longer than the " + formatSeconds(maxSeconds)
                    + " s this server accepts");
        }
        chunk[chunkLength++] = Math.clamp(value, -1f, 1f);
        if (chunkLength == CHUNK) {
            resampler.accept(chunk, chunkLength);
            chunkLength = 0;
        }
    }

    /** The 16 kHz mono samples. */
    float[] finish() {
        resampler.accept(chunk, chunkLength);
        chunkLength = 0;
        resampler.finish();
        float[] samples = output.toArray();
        for (int i = 0; i < samples.length; i++) {
            samples[i] = Math.clamp(samples[i], -1f, 1f);
        }
        return samples;
    }

    static String formatSeconds(double seconds) {
        return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
    }
}
