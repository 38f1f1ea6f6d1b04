package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResamplerTest {
    private static final int OUT = AudioDecoder.SAMPLE_RATE;

    @ParameterizedTest
    @ValueSource(ints = {8_000, 11_025, 22_050, 44_100, 48_000, 96_000, 44_056})
    void resample_pureTone_keepsFrequencyAndAmplitude(int rate) {
        double frequency = 1_000;
        double amplitude = 0.5;
        float[] resampled = resample(tone(rate, frequency, amplitude, 2.0), rate);

        assertThat(resampled.length).isEqualTo((int) Math.ceil(2.0 * rate * OUT / rate));
        // away from the edges, where the filter sees zeros beyond the signal
        int from = OUT / 10;
        int to = resampled.length - OUT / 10;
        assertThat(frequency(resampled, from, to)).isCloseTo(frequency, within(0.1));
        assertThat(rms(resampled, from, to)).isCloseTo(amplitude / Math.sqrt(2), within(0.005));
        // and it is that tone: what remains once the ideal tone is removed is small
        double phase = phaseAt(resampled, from, to, frequency);
        double residual = 0;
        for (int i = from; i < to; i++) {
            double ideal = amplitude * Math.sin(2 * Math.PI * frequency * i / OUT + phase);
            residual += (resampled[i] - ideal) * (resampled[i] - ideal);
        }
        assertThat(Math.sqrt(residual / (to - from))).isLessThan(0.005);
    }

    @ParameterizedTest
    @ValueSource(ints = {22_050, 44_100, 48_000})
    void resample_toneAboveTheNewNyquist_isFilteredOutNotAliased(int rate) {
        // 10 kHz is above 16 kHz's 8 kHz Nyquist: dropping samples or interpolating linearly folds it to 6 kHz
        float[] resampled = resample(tone(rate, 10_000, 0.5, 1.0), rate);

        double rms = rms(resampled, OUT / 10, resampled.length - OUT / 10);
        assertThat(20 * Math.log10(rms / (0.5 / Math.sqrt(2)))).as("attenuation in dB").isLessThan(-60);
    }

    @ParameterizedTest
    @ValueSource(ints = {22_050, 44_100})
    void resample_toneInThePassband_nearTheEdge_keepsItsAmplitude(int rate) {
        // the passband ends near 7.4 kHz (0.92 of 8 kHz): 6.5 kHz loses less than 0.25 dB
        float[] resampled = resample(tone(rate, 6_500, 0.5, 1.0), rate);

        assertThat(rms(resampled, OUT / 10, resampled.length - OUT / 10)).isCloseTo(0.5 / Math.sqrt(2), within(0.01));
    }

    @ParameterizedTest
    @ValueSource(ints = {22_050, 44_100, 16_000})
    void decode_wavOfATone_goesThroughTheSameResampler(int rate) {
        float[] samples = tone(rate, 440, 0.25, 1.5);
        DecodedAudio audio = new AudioDecoder(Duration.ofMinutes(1)).decode(SpeechFixtures.wav16(samples, rate));

        assertThat(audio.source().sampleRate()).isEqualTo(rate);
        assertThat(audio.durationSeconds()).isCloseTo(1.5, within(1.0 / rate));
        assertThat(audio.samples()).hasSize((int) Math.ceil(1.5 * OUT));
        int from = OUT / 10;
        int to = audio.samples().length - OUT / 10;
        assertThat(frequency(audio.samples(), from, to)).isCloseTo(440, within(0.1));
        assertThat(rms(audio.samples(), from, to)).isCloseTo(0.25 / Math.sqrt(2), within(0.003));
    }

    /** Fed in uneven chunks, the output is the same as fed at once. */
    @ParameterizedTest
    @ValueSource(ints = {44_100, 8_000})
    void resample_inChunks_matchesOneCall(int rate) {
        float[] input = tone(rate, 300, 0.8, 0.7);
        float[] whole = resample(input, rate);
        FloatList output = new FloatList(16);
        Resampler resampler = new Resampler(rate, OUT, output);
        int offset = 0;
        for (int size = 1; offset < input.length; size = size * 3 % 1_777 + 1) {
            int count = Math.min(size, input.length - offset);
            float[] chunk = new float[count];
            System.arraycopy(input, offset, chunk, 0, count);
            resampler.accept(chunk, count);
            offset += count;
        }
        resampler.finish();

        assertThat(output.toArray()).containsExactly(whole);
    }

    static float[] tone(int rate, double frequency, double amplitude, double seconds) {
        float[] samples = new float[(int) Math.round(seconds * rate)];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (float) (amplitude * Math.sin(2 * Math.PI * frequency * i / rate));
        }
        return samples;
    }

    private static float[] resample(float[] input, int rate) {
        FloatList output = new FloatList(16);
        Resampler resampler = new Resampler(rate, OUT, output);
        resampler.accept(input, input.length);
        resampler.finish();
        return output.toArray();
    }

    static double rms(float[] samples, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += samples[i] * samples[i];
        }
        return Math.sqrt(sum / (to - from));
    }

    /** A pure tone's frequency from its rising zero crossings (interpolated between samples) over [from, to). */
    static double frequency(float[] samples, int from, int to) {
        double first = -1;
        double last = -1;
        int crossings = 0;
        for (int i = from + 1; i < to; i++) {
            if (samples[i - 1] < 0 && samples[i] >= 0) {
                double at = i - 1 + samples[i - 1] / (double) (samples[i - 1] - samples[i]);
                if (first < 0) {
                    first = at;
                }
                last = at;
                crossings++;
            }
        }
        return (crossings - 1) / ((last - first) / OUT);
    }

    private static double phaseAt(float[] samples, int from, int to, double frequency) {
        double re = 0;
        double im = 0;
        for (int i = from; i < to; i++) {
            double angle = 2 * Math.PI * frequency * i / OUT;
            re += samples[i] * Math.cos(angle);
            im += samples[i] * Math.sin(angle);
        }
        // x = A sin(wt + p) = A (sin wt cos p + cos wt sin p): im ~ cos p, re ~ sin p
        return Math.atan2(re, im);
    }
}
