package dev.atrium.engine.onnx.audio;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * Speech probabilities of 16 kHz audio from Silero VAD v5, one per 32 ms window of 512 samples.
 *
 * <p>The model is recurrent: each call carries its state ({@code state} → {@code stateN}) from window to window,
 * and each window is preceded by the last 64 samples of the one before, as Silero's own wrapper feeds it (without
 * that context v5 hears almost no speech). Calls keep their state to themselves, so one instance may serve many
 * threads at once.
 */
public final class VoiceActivity implements AutoCloseable {
    /** Samples per probability: 32 ms at 16 kHz. */
    public static final int WINDOW = 512;
    private static final int CONTEXT = 64;
    private static final int STATE = 2 * 128;

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final boolean owned;

    private VoiceActivity(OrtEnvironment environment, OrtSession session, boolean owned) {
        this.environment = environment;
        this.session = session;
        this.owned = owned;
        check(session);
    }

    /** Opens the model at {@code path} with one intra-op thread (it is small and sequential); closed by {@link #close}. */
    public static VoiceActivity open(OrtEnvironment environment, Path path) {
        try {
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            OrtSession session = environment.createSession(path.toString(), options);
            try {
                return new VoiceActivity(environment, session, true);
            } catch (RuntimeException e) {
                session.close();
                throw e;
            }
        } catch (OrtException e) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the voice activity model could not be loaded as an ONNX graph");
        }
    }

    /** Uses a session the caller opened and closes. */
    public static VoiceActivity of(OrtEnvironment environment, OrtSession session) {
        return new VoiceActivity(requireNonNull(environment, "environment is null"),
                requireNonNull(session, "session is null"), false);
    }

    /** The speech probability of each whole 512-sample window of {@code samples} (a last partial window is padded). */
    public float[] speechProbabilities(float[] samples) {
        int windows = Math.ceilDiv(samples.length, WINDOW);
        float[] probabilities = new float[windows];
        float[] state = new float[STATE];
        float[] input = new float[CONTEXT + WINDOW];
        long[] inputShape = {1, CONTEXT + WINDOW};
        long[] stateShape = {2, 1, 128};
        try (OnnxTensor rate = OnnxTensor.createTensor(environment, (long) AudioDecoder.SAMPLE_RATE)) {
            for (int window = 0; window < windows; window++) {
                int offset = window * WINDOW;
                // the context: the last 64 samples before this window (zeros at the start)
                for (int i = 0; i < CONTEXT; i++) {
                    int source = offset - CONTEXT + i;
                    input[i] = source >= 0 ? samples[source] : 0f;
                }
                int count = Math.min(WINDOW, samples.length - offset);
                System.arraycopy(samples, offset, input, CONTEXT, count);
                Arrays.fill(input, CONTEXT + count, input.length, 0f);
                try (OnnxTensor audio = OnnxTensor.createTensor(environment, FloatBuffer.wrap(input), inputShape);
                        OnnxTensor carried = OnnxTensor.createTensor(environment, FloatBuffer.wrap(state), stateShape);
                        OrtSession.Result result = session.run(Map.of("input", audio, "state", carried, "sr", rate))) {
                    probabilities[window] = ((OnnxTensor) result.get("output").orElseThrow()).getFloatBuffer().get(0);
                    ((OnnxTensor) result.get("stateN").orElseThrow()).getFloatBuffer().get(state);
                }
            }
        } catch (OrtException e) {
            throw AtriumException.internal("voice activity detection failed", e);
        }
        return probabilities;
    }

    @Override
    public void close() {
        if (owned) {
            try {
                session.close();
            } catch (OrtException e) {
                throw AtriumException.internal("closing the voice activity model failed", e);
            }
        }
    }

    /** Checks the graph is Silero VAD v5's: inputs input/state/sr, outputs output/stateN. */
    private static void check(OrtSession session) {
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            boolean matches = isTensor(inputs, "input", 2) && isTensor(inputs, "state", 3) && isTensor(inputs, "sr", 0)
                    && isTensor(outputs, "output", 2) && outputs.containsKey("stateN") && inputs.size() == 3;
            if (!matches) {
                throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the voice activity model is not Silero VAD v5:"
                        + " expected inputs input [batch, samples], state [2, batch, 128], sr and outputs output,"
                        + " stateN; found inputs " + inputs.keySet() + " and outputs " + outputs.keySet());
            }
        } catch (OrtException e) {
            throw AtriumException.internal("reading the voice activity model's inputs failed", e);
        }
    }

    private static boolean isTensor(Map<String, NodeInfo> nodes, String name, int rank) {
        return Optional.ofNullable(nodes.get(name)).map(NodeInfo::getInfo)
                .filter(info -> info instanceof TensorInfo tensor && tensor.getShape().length == rank).isPresent();
    }
}
