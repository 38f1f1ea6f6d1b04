package dev.atrium.engine.onnx.image;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.AtriumException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Classifies batches of decoded images with an ONNX image classifier: all the images of a call go through one
 * session run (or one per fixed batch size, when the model's batch dimension is fixed).
 *
 * <p>Thread-safe and stateless: ONNX Runtime sessions may run concurrently. The caller owns the session.
 */
public final class ImageClassifier {
    private final OrtEnvironment environment;
    private final OrtSession session;
    private final ImagePreprocessing preprocessing;
    private final ClassificationOutput output;
    /** Images per run: the model's fixed batch size, or 0 for all of a call's. */
    private final int fixedBatch;

    /**
     * @throws IllegalArgumentException when the session lacks the preprocessing's input or the output's output (the
     *     configs were made for another model)
     */
    public ImageClassifier(OrtEnvironment environment, OrtSession session, ImagePreprocessing preprocessing,
            ClassificationOutput output) {
        this.environment = requireNonNull(environment, "environment is null");
        this.session = requireNonNull(session, "session is null");
        this.preprocessing = requireNonNull(preprocessing, "preprocessing is null");
        this.output = requireNonNull(output, "output is null");
        try {
            NodeInfo input = session.getInputInfo().get(preprocessing.input());
            if (input == null || !(input.getInfo() instanceof TensorInfo tensor) || tensor.getShape().length != 4) {
                throw new IllegalArgumentException("the session has no image input '" + preprocessing.input() + "'");
            }
            if (!session.getOutputNames().contains(output.output())) {
                throw new IllegalArgumentException("the session has no output '" + output.output() + "'");
            }
            long batch = tensor.getShape()[0];
            this.fixedBatch = batch > 0 ? Math.toIntExact(batch) : 0;
        } catch (OrtException e) {
            throw new IllegalArgumentException("the session's inputs cannot be read", e);
        }
    }

    public ImagePreprocessing preprocessing() {
        return preprocessing;
    }

    public ClassificationOutput output() {
        return output;
    }

    /** The {@code topK} most probable classes of each image, in the images' order. */
    public List<List<ScoredLabel>> classify(List<DecodedImage> images, int topK) {
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be positive, not " + topK);
        }
        float[][] probabilities = probabilities(images);
        List<List<ScoredLabel>> results = new ArrayList<>(probabilities.length);
        for (float[] row : probabilities) {
            results.add(output.topK(row, topK));
        }
        return List.copyOf(results);
    }

    /** Each image's class probabilities ({@code labels().size()} of them, softmax applied to logits). */
    public float[][] probabilities(List<DecodedImage> images) {
        requireNonNull(images, "images is null");
        float[][] probabilities = new float[images.size()][];
        int chunk = fixedBatch > 0 ? fixedBatch : Math.max(images.size(), 1);
        for (int start = 0; start < images.size(); start += chunk) {
            List<DecodedImage> part = images.subList(start, Math.min(images.size(), start + chunk));
            float[][] rows = run(part, fixedBatch > 0 ? fixedBatch : part.size());
            System.arraycopy(rows, 0, probabilities, start, part.size());
        }
        return probabilities;
    }

    /** One session run over {@code images}, padded with zero images to {@code batch}. */
    private float[][] run(List<DecodedImage> images, int batch) {
        int values = preprocessing.valuesPerImage();
        float[] data = new float[Math.multiplyExact(batch, values)];
        for (int i = 0; i < images.size(); i++) {
            preprocessing.fill(images.get(i), data, i * values);
        }
        int classes = output.labels().size();
        try (OnnxTensor tensor = OnnxTensor.createTensor(environment, FloatBuffer.wrap(data), preprocessing.shape(batch));
                OrtSession.Result result = session.run(Map.of(preprocessing.input(), tensor), Set.of(output.output()))) {
            OnnxValue value = result.get(output.output())
                    .orElseThrow(() -> new IllegalStateException("no output " + output.output()));
            if (!(value instanceof OnnxTensor scores) || !Arrays.equals(scores.getInfo().getShape(),
                    new long[] {batch, classes})) {
                throw AtriumException.internal("output '" + output.output() + "' of the image model is not [" + batch
                        + ", " + classes + "] for " + classes + " labels", null);
            }
            float[] all = new float[batch * classes];
            scores.getFloatBuffer().get(all);
            float[][] rows = new float[images.size()][];
            for (int i = 0; i < images.size(); i++) {
                rows[i] = output.probabilities(all, i * classes);
            }
            return rows;
        } catch (OrtException e) {
            throw AtriumException.internal("running the image model failed", e);
        }
    }
}
