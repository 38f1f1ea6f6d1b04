package dev.atrium.engine.onnx.audio;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.extensions.OrtxPackage;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whisper as one end-to-end ONNX graph (log-mel, encoder, {@code BeamSearch} decoder and {@code BpeDecoder} inside):
 * 16 kHz samples of at most 30 s in, text out.
 *
 * <p>The graph needs the ONNX Runtime Extensions custom ops, registered here on every session. {@link #open} checks
 * the graph's inputs and outputs, so an upload that is not such a graph fails at once with
 * {@link ErrorCode#INVALID_ARTIFACT}. The graph's batch dimension is fixed at 1 ({@code audio_pcm [1, samples]}):
 * one window per call; windows of one or many requests run in parallel on separate calls (ONNX Runtime sessions
 * are thread-safe), which is how a caller uses more cores.
 */
public final class WhisperModel implements AutoCloseable {
    /** The inputs the graph must have, with their element types, in the order they are described. */
    private static final Map<String, OnnxJavaType> INPUTS = inputs();
    /** Shorter windows are padded with silence to this (Whisper pads every window to 30 s anyway). */
    private static final int MIN_WINDOW = AudioDecoder.SAMPLE_RATE;

    private final OrtEnvironment environment;
    private final OrtSession session;

    private WhisperModel(OrtEnvironment environment, OrtSession session) {
        this.environment = environment;
        this.session = session;
    }

    /**
     * Opens and checks the graph at {@code path}.
     *
     * @param intraOpThreads ONNX Runtime threads for one call
     * @throws AtriumException {@link ErrorCode#INVALID_ARTIFACT} when the file is not an ONNX graph with Whisper's
     *     end-to-end inputs and outputs
     */
    public static WhisperModel open(OrtEnvironment environment, Path path, int intraOpThreads) {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1: " + intraOpThreads);
        }
        OrtSession session;
        try {
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.registerCustomOpLibrary(OrtxPackage.getLibraryPath());
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(path.toString(), options);
        } catch (OrtException e) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the transcription model is not an ONNX graph that"
                    + " ONNX Runtime (with its Extensions custom ops) can load");
        }
        try {
            check(session);
            return new WhisperModel(environment, session);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    /** Session options that load the graph's Extensions custom ops, for a session the caller opens. */
    public static OrtSession.SessionOptions sessionOptions(int intraOpThreads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.registerCustomOpLibrary(OrtxPackage.getLibraryPath());
        options.setIntraOpNumThreads(intraOpThreads);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    /**
     * Checks a session the caller opened with {@link #sessionOptions} and serves it; the caller closes the session.
     *
     * @throws AtriumException {@link ErrorCode#INVALID_ARTIFACT} when it is not Whisper's end-to-end graph
     */
    public static WhisperModel of(OrtEnvironment environment, OrtSession session) {
        check(session);
        return new WhisperModel(environment, session);
    }

    /** Opens the graph to check it, then closes it: what an upload of a transcription model runs. */
    public static void validate(OrtEnvironment environment, Path path) {
        open(environment, path, 1).close();
    }

    /**
     * The text of {@code samples[from, to)}: 16 kHz mono, at most {@link AudioSegmenter#MAX_WINDOW} samples.
     * Whisper's leading space and any surrounding whitespace are removed.
     */
    public String transcribe(float[] samples, int from, int to, WhisperOptions options) {
        if (from < 0 || to > samples.length || to <= from) {
            throw new IllegalArgumentException("window [" + from + ", " + to + ") is not inside " + samples.length + " samples");
        }
        if (to - from > AudioSegmenter.MAX_WINDOW) {
            throw new IllegalArgumentException("a window holds at most 30 s: " + (to - from) + " samples");
        }
        FloatBuffer audio = FloatBuffer.wrap(samples, from, to - from).slice();
        if (to - from < MIN_WINDOW) {
            // a window of a few samples is shorter than the graph's STFT frame
            float[] padded = new float[MIN_WINDOW];
            System.arraycopy(samples, from, padded, 0, to - from);
            audio = FloatBuffer.wrap(padded);
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("audio_pcm", OnnxTensor.createTensor(environment, audio, new long[] {1, audio.remaining()}));
            inputs.put("max_length", OnnxTensor.createTensor(environment, new int[] {options.maxLength()}));
            inputs.put("min_length", OnnxTensor.createTensor(environment, new int[] {0}));
            inputs.put("num_beams", OnnxTensor.createTensor(environment, new int[] {options.numBeams()}));
            inputs.put("num_return_sequences", OnnxTensor.createTensor(environment, new int[] {1}));
            inputs.put("length_penalty", OnnxTensor.createTensor(environment, new float[] {options.lengthPenalty()}));
            inputs.put("repetition_penalty", OnnxTensor.createTensor(environment, new float[] {options.repetitionPenalty()}));
            try (OrtSession.Result result = session.run(inputs)) {
                String[][] text = (String[][]) result.get(0).getValue();
                return text.length == 0 || text[0].length == 0 ? "" : text[0][0].strip();
            }
        } catch (OrtException e) {
            throw AtriumException.internal("speech recognition failed", e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw AtriumException.internal("closing the transcription model failed", e);
        }
    }

    private static void check(OrtSession session) {
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            List<String> problems = new ArrayList<>();
            for (Map.Entry<String, OnnxJavaType> expected : INPUTS.entrySet()) {
                NodeInfo node = inputs.get(expected.getKey());
                if (node == null) {
                    problems.add("no input '" + expected.getKey() + "'");
                } else if (!(node.getInfo() instanceof TensorInfo tensor) || tensor.type != expected.getValue()) {
                    problems.add("input '" + expected.getKey() + "' is not a " + expected.getValue() + " tensor");
                }
            }
            if (inputs.get("audio_pcm") != null && inputs.get("audio_pcm").getInfo() instanceof TensorInfo audio
                    && audio.getShape().length != 2) {
                problems.add("input 'audio_pcm' is not [batch, samples]");
            }
            for (String name : inputs.keySet()) {
                if (!INPUTS.containsKey(name)) {
                    problems.add("unexpected input '" + name + "'");
                }
            }
            if (outputs.size() != 1 || !(outputs.values().iterator().next().getInfo() instanceof TensorInfo text)
                    || text.type != OnnxJavaType.STRING) {
                problems.add("the output is not one string tensor (found " + outputs.keySet() + ")");
            }
            if (!problems.isEmpty()) {
                throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the transcription model is not an end-to-end"
                        + " Whisper graph (audio_pcm, max_length, min_length, num_beams, num_return_sequences,"
                        + " length_penalty, repetition_penalty in; text out): " + String.join("; ", problems));
            }
        } catch (OrtException e) {
            throw AtriumException.internal("reading the transcription model's inputs failed", e);
        }
    }

    private static Map<String, OnnxJavaType> inputs() {
        Map<String, OnnxJavaType> inputs = new LinkedHashMap<>();
        inputs.put("audio_pcm", OnnxJavaType.FLOAT);
        inputs.put("max_length", OnnxJavaType.INT32);
        inputs.put("min_length", OnnxJavaType.INT32);
        inputs.put("num_beams", OnnxJavaType.INT32);
        inputs.put("num_return_sequences", OnnxJavaType.INT32);
        inputs.put("length_penalty", OnnxJavaType.FLOAT);
        inputs.put("repetition_penalty", OnnxJavaType.FLOAT);
        return Collections.unmodifiableMap(inputs);
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // the session is dropped either way
        }
    }
}
