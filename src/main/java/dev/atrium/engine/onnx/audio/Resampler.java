package dev.atrium.engine.onnx.audio;

/**
 * A streaming band-limited resampler: windowed-sinc interpolation (Kaiser window, 32 zero crossings) read from an
 * oversampled table, the method of J. O. Smith's {@code resample}. Downsampling lowers the cutoff to the output's
 * Nyquist frequency (less a small transition band), so nothing above it aliases.
 *
 * <p>Design: output sample {@code k} sits at input position {@code k * inRate / outRate}, computed in exact integer
 * arithmetic so that long inputs do not drift. Input arrives in chunks; only the samples the filter still needs
 * are kept, so memory is the filter's width plus the output. Not thread-safe: one instance per stream.
 */
final class Resampler {
    private static final int ZERO_CROSSINGS = 32;
    private static final int TABLE_STEPS = 512;
    private static final double KAISER_BETA = 9.0;
    /** The passband ends at this fraction of the lower Nyquist frequency. */
    private static final double ROLLOFF = 0.92;
    private static final float[] TABLE = table();

    private final long inRate;
    private final long outRate;
    /** Cutoff relative to the input's sample rate, times two: the sinc's zero crossings per input sample. */
    private final double scale;
    /** Input samples the filter reaches on each side of an output position. */
    private final int halfWidth;
    private final FloatList output;
    private float[] history = new float[4096];
    /** Input index of {@code history[0]}. */
    private long historyStart;
    private int historyLength;
    private long inputCount;
    private long outputCount;

    Resampler(int inRate, int outRate, FloatList output) {
        if (inRate <= 0 || outRate <= 0) {
            throw new IllegalArgumentException("sample rates must be positive");
        }
        this.inRate = inRate;
        this.outRate = outRate;
        this.scale = Math.min(1.0, (double) outRate / inRate) * ROLLOFF;
        this.halfWidth = (int) Math.ceil(ZERO_CROSSINGS / scale) + 1;
        this.output = output;
    }

    /** Adds input samples, writing every output sample whose filter span they complete. */
    void accept(float[] samples, int count) {
        if (inRate == outRate) {
            output.add(samples, count);
            inputCount += count;
            outputCount += count;
            return;
        }
        ensureHistory(count);
        System.arraycopy(samples, 0, history, historyLength, count);
        historyLength += count;
        inputCount += count;
        drain(false);
    }

    /** Writes the remaining output, as if zeros followed the input. */
    void finish() {
        if (inRate != outRate) {
            drain(true);
        }
    }

    private void drain(boolean end) {
        long total = end ? Math.ceilDiv(inputCount * outRate, inRate) : Long.MAX_VALUE;
        while (outputCount < total) {
            long numerator = outputCount * inRate;
            long center = numerator / outRate;
            if (!end && center + halfWidth >= inputCount) {
                break;
            }
            double fraction = (double) (numerator % outRate) / outRate;
            output.add(interpolate(center, fraction));
            outputCount++;
        }
        // keep what the next output's left wing reaches
        long keepFrom = Math.max(0, outputCount * inRate / outRate - halfWidth);
        int drop = (int) Math.min(historyLength, Math.max(0, keepFrom - historyStart));
        if (drop > 0) {
            System.arraycopy(history, drop, history, 0, historyLength - drop);
            historyLength -= drop;
            historyStart += drop;
        }
    }

    /** The filtered value at input position {@code center + fraction}. */
    private float interpolate(long center, double fraction) {
        double sum = 0;
        long first = Math.max(historyStart, center - halfWidth + 1);
        long last = Math.min(historyStart + historyLength - 1, center + halfWidth);
        for (long n = first; n <= last; n++) {
            double distance = Math.abs((center - n) + fraction) * scale;
            if (distance >= ZERO_CROSSINGS) {
                continue;
            }
            double position = distance * TABLE_STEPS;
            int index = (int) position;
            double weight = TABLE[index] + (position - index) * (TABLE[index + 1] - TABLE[index]);
            sum += weight * history[(int) (n - historyStart)];
        }
        return (float) (sum * scale);
    }

    private void ensureHistory(int extra) {
        if (historyLength + extra > history.length) {
            float[] grown = new float[Math.max(history.length * 2, historyLength + extra)];
            System.arraycopy(history, 0, grown, 0, historyLength);
            history = grown;
        }
    }

    /** sinc(x) times a Kaiser window, sampled at {@code TABLE_STEPS} points per zero crossing, plus a trailing 0. */
    private static float[] table() {
        float[] table = new float[ZERO_CROSSINGS * TABLE_STEPS + 2];
        double denominator = besselI0(KAISER_BETA);
        for (int i = 0; i <= ZERO_CROSSINGS * TABLE_STEPS; i++) {
            double x = (double) i / TABLE_STEPS;
            double sinc = i == 0 ? 1.0 : Math.sin(Math.PI * x) / (Math.PI * x);
            double ratio = x / ZERO_CROSSINGS;
            double window = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - ratio * ratio))) / denominator;
            table[i] = (float) (sinc * window);
        }
        return table;
    }

    private static double besselI0(double x) {
        double sum = 1;
        double term = 1;
        for (int k = 1; k < 50; k++) {
            term *= (x / (2 * k)) * (x / (2 * k));
            sum += term;
            if (term < 1e-12 * sum) {
                break;
            }
        }
        return sum;
    }
}
