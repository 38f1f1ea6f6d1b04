package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.DataType;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.Tensor;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ClassificationOutput;
import dev.atrium.engine.onnx.image.ImageDecoder;
import dev.atrium.engine.onnx.image.ImagePreprocessing;
import dev.atrium.engine.onnx.image.ScoredLabel;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Image classifiers in the ONNX engine: encoded images (JPEG, PNG, GIF, BMP, WebP) are decoded with their EXIF
 * orientation, refused before decoding when they declare more than {@link #MAX_PIXELS}, resized and normalized as
 * the version's {@code preprocessing} config says (defaults from the model's input and metadata), and run as one
 * {@code [n, ...]} tensor that batches with other requests'; the scores become top labels as {@code output},
 * {@code output_kind} and {@code labels} say.
 */
final class ImageClassification {
    /** The most pixels one image may declare: 40 megapixels (a 20000 x 20000 "bomb" is refused unread). */
    static final long MAX_PIXELS = 40_000_000L;
    /**
     * The most values one request's input tensor may hold: 64 Mi floats (256 MiB). A small image becomes as many
     * values as the model's input has (150 528 at 224 x 224), so this bounds a request of many tiny images by what
     * they become, not by the bytes sent; checked before anything is decoded or allocated.
     */
    static final long MAX_TENSOR_VALUES = 1L << 26;
    private static final ImageDecoder DECODER = new ImageDecoder(MAX_PIXELS);

    /** What a loaded image classifier keeps beside its session. */
    record State(ImagePreprocessing preprocessing, ClassificationOutput output) {}

    private ImageClassification() {}

    static ModelMetadata inspect(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
            ArtifactFiles files, JsonNode config) throws OrtException {
        if (files.tokenizer().isPresent()) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "an image classifier has no tokenizer part");
        }
        State state = state(session, inputs, outputs, config);
        TensorSpec input = inputs.stream().filter(spec -> spec.name().equals(state.preprocessing().input()))
                .findFirst().orElseThrow();
        if (!input.hasDynamicBatchDimension() && input.shape().getFirst() != 1) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the image input '" + input.name() + "' has a fixed"
                    + " batch of " + input.shape().getFirst() + "; export it with a dynamic batch dimension (or 1)");
        }
        return ModelMetadata.classifier(inputs, outputs, state.output().labels());
    }

    static State state(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs, JsonNode config)
            throws OrtException {
        java.util.Map<String, String> metadata = OnnxInspector.customMetadata(session);
        return new State(ImagePreprocessing.fromConfig(config, inputs, metadata),
                ClassificationOutput.fromConfig(config, outputs, metadata));
    }

    /** Decodes and preprocesses a request's images into one tensor of the model's input, in order. */
    static Tensor tensor(State state, List<byte[]> images, String param) {
        ImagePreprocessing preprocessing = state.preprocessing();
        int values = preprocessing.valuesPerImage();
        long most = MAX_TENSOR_VALUES / values;
        if (images.size() > most) {
            throw AtriumException.invalidParam(param, images.size() + " images are too many for one request: this"
                    + " model takes each as " + values + " values, so at most " + most + " images a request");
        }
        float[] data = new float[values * images.size()];
        for (int i = 0; i < images.size(); i++) {
            String name = images.size() == 1 ? param : param + "[" + i + "]";
            preprocessing.fill(DECODER.decode(images.get(i), name), data, i * values);
        }
        return new Tensor(preprocessing.input(), DataType.FP32, preprocessing.shape(images.size()), data);
    }

    /**
     * A v2 {@code BYTES} element as an image file: JSON carries bytes as text, so an element that is a data URL
     * or base64 text is decoded from it; any other element is taken as the file itself.
     */
    static byte[] unwrap(byte[] element) {
        String text = new String(element, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (!text.startsWith("data:") && !BASE64.matcher(text).matches()) {
            return element;
        }
        return ClassificationInput.Image.decode(text, "inputs");
    }

    private static final java.util.regex.Pattern BASE64 = java.util.regex.Pattern.compile("[A-Za-z0-9+/=\\s]+");

    /** The images of a classification request; texts are refused. */
    static List<byte[]> images(List<ClassificationInput> inputs, String model) {
        List<byte[]> images = new ArrayList<>(inputs.size());
        for (ClassificationInput input : inputs) {
            if (!(input instanceof ClassificationInput.Image image)) {
                throw AtriumException.invalidParam("input", "model '" + model + "' classifies images, not texts");
            }
            images.add(image.bytes());
        }
        return images;
    }

    /** The top labels of each row of scores. */
    static List<List<ClassificationResult.LabelScore>> top(ClassificationOutput output, float[] scores, int rows,
            int topK) {
        int classes = output.labels().size();
        List<List<ClassificationResult.LabelScore>> labels = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            List<ScoredLabel> top = output.topK(scores, i * classes, topK);
            labels.add(top.stream().map(label -> new ClassificationResult.LabelScore(label.label(), label.score()))
                    .toList());
        }
        return labels;
    }
}
