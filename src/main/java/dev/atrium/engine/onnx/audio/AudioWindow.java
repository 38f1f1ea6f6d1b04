package dev.atrium.engine.onnx.audio;

/**
 * A stretch of the decoded 16 kHz audio that is recognised in one model call, with its place in the original.
 *
 * @param startSample the first sample, inclusive
 * @param endSample the last sample, exclusive
 */
public record AudioWindow(int startSample, int endSample) {
    public AudioWindow {
        if (startSample < 0 || endSample <= startSample) {
            throw new IllegalArgumentException("a window needs 0 <= start < end: " + startSample + ", " + endSample);
        }
    }

    public int length() {
        return endSample - startSample;
    }

    public double startSeconds() {
        return startSample / (double) AudioDecoder.SAMPLE_RATE;
    }

    public double endSeconds() {
        return endSample / (double) AudioDecoder.SAMPLE_RATE;
    }
}
