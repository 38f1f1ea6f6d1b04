package dev.atrium.engine.onnx.audio;

/**
 * How the Whisper graph's beam search decodes one window.
 *
 * <p>The graph's {@code com.microsoft:BeamSearch} has no sampling, so OpenAI's {@code temperature} has nothing to
 * map to (decoding is always deterministic), and it takes no decoder prompt, so {@code prompt} cannot be passed.
 *
 * @param numBeams beams searched (1 is greedy), 1 to 8
 * @param maxLength the most tokens one window's text may take, including Whisper's 4 start tokens, 8 to 448
 * @param lengthPenalty the beam-score length exponent (1 is neutral)
 * @param repetitionPenalty divides the scores of tokens already produced (1 is none), 1 to 2
 */
public record WhisperOptions(int numBeams, int maxLength, float lengthPenalty, float repetitionPenalty) {
    /** Greedy decoding, up to Whisper's 448-token context: about as accurate as 4 beams on clean speech, and faster. */
    public static final WhisperOptions DEFAULT = new WhisperOptions(1, 448, 1f, 1f);

    public WhisperOptions {
        if (numBeams < 1 || numBeams > 8) {
            throw new IllegalArgumentException("numBeams must be in [1, 8]: " + numBeams);
        }
        if (maxLength < 8 || maxLength > 448) {
            throw new IllegalArgumentException("maxLength must be in [8, 448]: " + maxLength);
        }
        if (!(lengthPenalty > 0 && lengthPenalty <= 4)) {
            throw new IllegalArgumentException("lengthPenalty must be in (0, 4]: " + lengthPenalty);
        }
        if (!(repetitionPenalty >= 1 && repetitionPenalty <= 2)) {
            throw new IllegalArgumentException("repetitionPenalty must be in [1, 2]: " + repetitionPenalty);
        }
    }
}
