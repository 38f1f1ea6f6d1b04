package dev.atrium.engine.onnx.tabular;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.MapInfo;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.SequenceInfo;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.onnx.tabular.FeatureSchema.CategoricalEncoding;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Feature;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Predicts batches of tabular rows with an ONNX model: encodes the rows into the model's input, runs it once and
 * reads the prediction from its outputs.
 *
 * <p>Inputs: one FLOAT or DOUBLE input of shape [N, F], F the schema's encoded width (features in order; a one-hot
 * feature takes one column per category, in order), or one input per feature named as the feature, as
 * sklearn-onnx writes them, each [N, width] of FLOAT, DOUBLE or INT64 (a BOOL for a boolean feature, a STRING
 * [N, 1] that takes a categorical feature's category as text). Outputs: tensors only. A regression reads
 * {@code outputs.prediction} ([N] or [N, 1]); by default the only output, or one named {@code variable}. A
 * classification reads {@code outputs.label} ([N] or [N, 1] of INT64, INT32 or STRING) and
 * {@code outputs.probabilities} ([N, C] of FLOAT or DOUBLE); by default outputs named {@code label} and
 * {@code probabilities}, else the one rank-2 float output as the probabilities. Without a label output the label
 * is the class of highest probability. An integer label output holds the label itself where the schema's labels
 * are integers, an index into them otherwise.
 *
 * <p>Thread-safe: a runner holds no per-call state and ONNX Runtime sessions run concurrently. It does not own
 * the session.
 */
public final class TabularRunner {
    private static final Set<OnnxTensorType> FLOATS = Set.of(OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
            OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
    private static final Set<OnnxTensorType> LABEL_TYPES = Set.of(OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
            OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);

    /** One model input and the features, in order, that fill its columns. */
    private record InputBinding(String name, OnnxTensorType type, int[] features, int width) {}

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final FeatureSchema schema;
    private final OutputLimit outputLimit;
    private final List<InputBinding> inputs;
    private final String predictionOutput;
    private final String labelOutput;
    private final String probabilitiesOutput;
    private final Set<String> requestedOutputs;

    private TabularRunner(OrtEnvironment environment, OrtSession session, FeatureSchema schema, OutputLimit outputLimit,
            List<InputBinding> inputs, String predictionOutput, String labelOutput, String probabilitiesOutput) {
        this.environment = environment;
        this.session = session;
        this.schema = schema;
        this.outputLimit = outputLimit;
        this.inputs = List.copyOf(inputs);
        this.predictionOutput = predictionOutput;
        this.labelOutput = labelOutput;
        this.probabilitiesOutput = probabilitiesOutput;
        Set<String> requested = new LinkedHashSet<>();
        for (String output : Arrays.asList(predictionOutput, labelOutput, probabilitiesOutput)) {
            if (output != null) {
                requested.add(output);
            }
        }
        this.requestedOutputs = Set.copyOf(requested);
    }

    /**
     * Checks a schema against a model's graph and makes a runner for them: at upload (to refuse what does not fit)
     * and at load.
     *
     * @throws AtriumException {@code INVALID_ARTIFACT} naming the config field or model input or output at fault
     */
    public static TabularRunner bind(OrtEnvironment environment, OrtSession session, FeatureSchema schema,
            OutputLimit outputLimit) {
        requireNonNull(environment, "environment is null");
        requireNonNull(session, "session is null");
        requireNonNull(schema, "schema is null");
        requireNonNull(outputLimit, "outputLimit is null");
        try {
            Map<String, TensorInfo> outputs = tensorOutputs(session.getOutputInfo());
            List<InputBinding> inputs = bindInputs(session.getInputInfo(), schema);
            return switch (schema.task()) {
                case REGRESSION -> new TabularRunner(environment, session, schema, outputLimit, inputs,
                        regressionOutput(outputs, schema), null, null);
                case CLASSIFICATION -> {
                    Optional<String> label = schema.outputs().label();
                    Optional<String> probabilities = schema.outputs().probabilities();
                    if (label.isEmpty() && probabilities.isEmpty()) {
                        label = Optional.of("label").filter(outputs::containsKey);
                        probabilities = Optional.of("probabilities").filter(outputs::containsKey);
                        if (label.isEmpty() && probabilities.isEmpty()) {
                            List<String> rankTwoFloats = outputs.entrySet().stream()
                                    .filter(output -> FLOATS.contains(output.getValue().onnxType)
                                            && output.getValue().getShape().length == 2)
                                    .map(Map.Entry::getKey).toList();
                            if (rankTwoFloats.size() != 1) {
                                throw invalid("outputs", "name the classifier's outputs in outputs.label and"
                                        + " outputs.probabilities; the model's outputs are " + outputs.keySet());
                            }
                            probabilities = Optional.of(rankTwoFloats.getFirst());
                        }
                    }
                    label.ifPresent(name -> checkLabelOutput(outputs, name));
                    probabilities.ifPresent(name -> checkProbabilitiesOutput(outputs, name, schema));
                    yield new TabularRunner(environment, session, schema, outputLimit, inputs, null,
                            label.orElse(null), probabilities.orElse(null));
                }
            };
        } catch (OrtException e) {
            throw AtriumException.internal("reading the model's inputs and outputs failed", e);
        }
    }

    public FeatureSchema schema() {
        return schema;
    }

    // ---- binding ------------------------------------------------------------------------------------------------

    private static Map<String, TensorInfo> tensorOutputs(Map<String, NodeInfo> outputs) {
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (NodeInfo output : outputs.values()) {
            switch (output.getInfo()) {
                case TensorInfo tensor -> tensors.put(output.getName(), tensor);
                case SequenceInfo sequence when sequence.isSequenceOfMaps() -> throw invalidArtifact(
                        "output '" + output.getName() + "' is a sequence of maps, as a ZipMap makes it; only tensor"
                                + " outputs are supported: export the model without ZipMap (sklearn-onnx:"
                                + " options={'zipmap': False})");
                case MapInfo map -> throw invalidArtifact("output '" + output.getName() + "' is a map, as a ZipMap"
                        + " makes it; only tensor outputs are supported: export the model without ZipMap");
                default -> throw invalidArtifact("output '" + output.getName() + "' is not a tensor; only tensor"
                        + " outputs are supported");
            }
        }
        return tensors;
    }

    private static List<InputBinding> bindInputs(Map<String, NodeInfo> nodes, FeatureSchema schema) {
        List<Feature> features = schema.features();
        // names decide: a lone input named as a lone feature is that feature's, of whatever type fits it
        boolean perFeature = nodes.size() == features.size()
                && nodes.keySet().stream().allMatch(name -> schema.indexOf(name) >= 0);
        if (!perFeature && nodes.size() == 1) {
            NodeInfo node = nodes.values().iterator().next();
            TensorInfo info = tensorInput(node);
            if (!FLOATS.contains(info.onnxType)) {
                throw invalidArtifact("input '" + node.getName() + "' is " + typeName(info.onnxType) + "; a tabular"
                        + " model's input must be FLOAT or DOUBLE");
            }
            checkColumns(node.getName(), info, schema.encodedWidth(), "the features encode to "
                    + schema.encodedWidth() + " columns (a one-hot feature takes one per category)");
            return List.of(new InputBinding(node.getName(), info.onnxType, IntStream.range(0, features.size()).toArray(),
                    schema.encodedWidth()));
        }
        if (!perFeature) {
            throw invalidArtifact("the model has " + nodes.size() + " inputs " + nodes.keySet() + "; a tabular model"
                    + " needs one FLOAT or DOUBLE input of shape [N, " + schema.encodedWidth() + "], or one input"
                    + " per feature named as the features " + features.stream().map(Feature::name).toList());
        }
        List<InputBinding> bindings = new ArrayList<>();
        for (NodeInfo node : nodes.values()) {
            int index = schema.indexOf(node.getName());
            Feature feature = features.get(index);
            TensorInfo info = tensorInput(node);
            boolean fits = switch (info.onnxType) {
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> true;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> feature.type() != FeatureType.NUMERIC;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> feature.type() == FeatureType.BOOLEAN;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> feature.type() == FeatureType.CATEGORICAL;
                default -> false;
            };
            if (!fits) {
                throw invalidArtifact("input '" + node.getName() + "' is " + typeName(info.onnxType) + ", which does"
                        + " not fit " + feature.type().wireName() + " feature '" + feature.name() + "'");
            }
            boolean text = info.onnxType == OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING;
            int width = text ? 1 : feature.encodedWidth();
            checkColumns(node.getName(), info, width, text ? "it takes the category as text"
                    : "feature '" + feature.name() + "' encodes to " + width + (width == 1 ? " column" : " columns"));
            bindings.add(new InputBinding(node.getName(), info.onnxType, new int[] {index}, width));
        }
        return bindings;
    }

    private static TensorInfo tensorInput(NodeInfo node) {
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw invalidArtifact("input '" + node.getName() + "' is not a tensor");
        }
        return info;
    }

    private static void checkColumns(String name, TensorInfo info, int width, String why) {
        long[] shape = info.getShape();
        if (shape.length != 2 || shape[0] >= 0 || (shape[1] >= 0 && shape[1] != width)) {
            throw invalidArtifact("input '" + name + "' has shape " + shapeText(shape) + "; it must be [N, " + width
                    + "] with N dynamic: " + why);
        }
    }

    private static String regressionOutput(Map<String, TensorInfo> outputs, FeatureSchema schema) {
        String name = schema.outputs().prediction()
                .orElseGet(() -> outputs.size() == 1 ? outputs.keySet().iterator().next()
                        : outputs.containsKey("variable") ? "variable" : null);
        if (name == null) {
            throw invalid("outputs.prediction", "name the regression's output in outputs.prediction; the model's"
                    + " outputs are " + outputs.keySet());
        }
        TensorInfo info = output(outputs, name, "outputs.prediction");
        long[] shape = info.getShape();
        if (!FLOATS.contains(info.onnxType) || !oneColumn(shape)) {
            throw invalid("outputs.prediction", "output '" + name + "' is " + typeName(info.onnxType) + " "
                    + shapeText(shape) + "; a regression's output must be FLOAT or DOUBLE of shape [N] or [N, 1]");
        }
        return name;
    }

    private static void checkLabelOutput(Map<String, TensorInfo> outputs, String name) {
        TensorInfo info = output(outputs, name, "outputs.label");
        if (!LABEL_TYPES.contains(info.onnxType) || !oneColumn(info.getShape())) {
            throw invalid("outputs.label", "output '" + name + "' is " + typeName(info.onnxType) + " "
                    + shapeText(info.getShape()) + "; a label output must be INT64, INT32 or STRING of shape [N] or"
                    + " [N, 1]");
        }
    }

    private static void checkProbabilitiesOutput(Map<String, TensorInfo> outputs, String name, FeatureSchema schema) {
        TensorInfo info = output(outputs, name, "outputs.probabilities");
        long[] shape = info.getShape();
        if (!FLOATS.contains(info.onnxType) || shape.length != 2) {
            throw invalid("outputs.probabilities", "output '" + name + "' is " + typeName(info.onnxType) + " "
                    + shapeText(shape) + "; a probabilities output must be FLOAT or DOUBLE of shape [N, classes]");
        }
        if (shape[1] >= 0 && !schema.labels().isEmpty() && shape[1] != schema.labels().size()) {
            throw invalid("labels", "the config names " + schema.labels().size() + " labels, but output '" + name
                    + "' has " + shape[1] + " classes");
        }
    }

    private static TensorInfo output(Map<String, TensorInfo> outputs, String name, String field) {
        TensorInfo info = outputs.get(name);
        if (info == null) {
            throw invalid(field, "the model has no output '" + name + "'; its outputs are " + outputs.keySet());
        }
        return info;
    }

    private static boolean oneColumn(long[] shape) {
        return shape.length == 1 || (shape.length == 2 && (shape[1] == 1 || shape[1] < 0));
    }

    // ---- predicting ---------------------------------------------------------------------------------------------

    /**
     * Predicts every row in one run of the model.
     *
     * @throws AtriumException {@code OUTPUT_TOO_LARGE} past the output limit; {@code INTERNAL} when the model
     *     fails or gives outputs that do not fit its declared shapes
     */
    public TabularPredictions predict(TabularRows rows) {
        requireNonNull(rows, "rows is null");
        if (rows.schema() != schema && !rows.schema().equals(schema)) {
            throw new IllegalArgumentException("the rows were read for another schema");
        }
        int count = rows.rowCount();
        if (count == 0) {
            return schema.task() == Task.REGRESSION ? TabularPredictions.regression(new double[0])
                    : TabularPredictions.classification(List.of(), schema.labels(), probabilitiesOutput == null ? null
                            : new double[0]);
        }
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (InputBinding input : inputs) {
                tensors.put(input.name(), encode(input, rows));
            }
            try (OrtSession.Result result = session.run(tensors, requestedOutputs)) {
                return schema.task() == Task.REGRESSION ? regression(result, count) : classification(result, count);
            }
        } catch (OrtException e) {
            throw AtriumException.internal("the tabular model failed to run", e);
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor encode(InputBinding input, TabularRows rows) throws OrtException {
        int count = rows.rowCount();
        long[] shape = {count, input.width()};
        List<Feature> features = schema.features();
        if (input.type() == OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING) {
            Feature feature = features.get(input.features()[0]);
            String[] text = new String[count];
            for (int row = 0; row < count; row++) {
                text[row] = feature.categories().get((int) rows.cell(row, input.features()[0]));
            }
            return OnnxTensor.createTensor(environment, text, shape);
        }
        int elementBytes = switch (input.type()) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> Float.BYTES;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> 1;
            default -> Long.BYTES;
        };
        // direct and zeroed: ONNX Runtime reads it in place, and one-hot columns need only their ones written
        ByteBuffer bytes = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(count, input.width()), elementBytes))
                .order(ByteOrder.nativeOrder());
        Cells cells = switch (input.type()) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> {
                FloatBuffer view = bytes.asFloatBuffer();
                yield (index, value) -> view.put(index, (float) value);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> {
                DoubleBuffer view = bytes.asDoubleBuffer();
                yield view::put;
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> {
                LongBuffer view = bytes.asLongBuffer();
                yield (index, value) -> view.put(index, (long) value);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> (index, value) -> bytes.put(index, (byte) (value != 0 ? 1 : 0));
            default -> throw new IllegalStateException("unbound input type " + input.type());
        };
        for (int row = 0; row < count; row++) {
            int offset = row * input.width();
            for (int index : input.features()) {
                Feature feature = features.get(index);
                double value = rows.cell(row, index);
                if (feature.type() == FeatureType.CATEGORICAL && feature.encoding() == CategoricalEncoding.ONE_HOT) {
                    cells.put(offset + (int) value, 1);
                } else {
                    cells.put(offset, value);
                }
                offset += feature.encodedWidth();
            }
        }
        return switch (input.type()) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> OnnxTensor.createTensor(environment, bytes.asFloatBuffer(), shape);
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> OnnxTensor.createTensor(environment, bytes.asDoubleBuffer(), shape);
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> OnnxTensor.createTensor(environment, bytes.asLongBuffer(), shape);
            default -> OnnxTensor.createTensor(environment, bytes, shape, OnnxJavaType.BOOL);
        };
    }

    /** Writes one encoded value of an input tensor. */
    @FunctionalInterface
    private interface Cells {
        void put(int index, double value);
    }

    private TabularPredictions regression(OrtSession.Result result, int count) {
        OnnxTensor output = outputTensor(result, predictionOutput, count);
        long[] shape = output.getInfo().getShape();
        if (shape.length == 2 && shape[1] != 1) {
            throw modelFault("output '" + predictionOutput + "' has shape " + shapeText(shape) + ", not [N, 1]");
        }
        outputLimit.check((long) count * Double.BYTES, "the predictions");
        return TabularPredictions.regression(doubles(output, count));
    }

    private TabularPredictions classification(OrtSession.Result result, int count) {
        List<String> classLabels = schema.labels();
        double[] probabilities = null;
        if (probabilitiesOutput != null) {
            OnnxTensor output = outputTensor(result, probabilitiesOutput, count);
            long classes = output.getInfo().getShape()[1];
            if (classLabels.isEmpty()) {
                classLabels = IntStream.range(0, Math.toIntExact(classes)).mapToObj(Integer::toString).toList();
            } else if (classes != classLabels.size()) {
                throw modelFault("output '" + probabilitiesOutput + "' has " + classes + " classes, but the config names "
                        + classLabels.size() + " labels");
            }
            outputLimit.check(Math.multiplyHigh(count, classes) != 0 ? Long.MAX_VALUE
                    : count * classes * Double.BYTES, "the probabilities");
            probabilities = doubles(output, Math.toIntExact(count * classes));
        }
        List<String> labels;
        if (labelOutput != null) {
            labels = labels(outputTensor(result, labelOutput, count), count, classLabels);
        } else {
            labels = new ArrayList<>(count);
            int classes = classLabels.size();
            for (int row = 0; row < count; row++) {
                int best = 0;
                for (int label = 1; label < classes; label++) {
                    if (probabilities[row * classes + label] > probabilities[row * classes + best]) {
                        best = label;
                    }
                }
                labels.add(classLabels.get(best));
            }
        }
        return TabularPredictions.classification(labels, classLabels, probabilities);
    }

    private List<String> labels(OnnxTensor output, int count, List<String> classLabels) {
        TensorInfo info = output.getInfo();
        if (info.getNumElements() != count) {
            throw modelFault("output '" + labelOutput + "' has shape " + shapeText(info.getShape()) + ", not one label"
                    + " per row");
        }
        List<String> labels = new ArrayList<>(count);
        if (info.onnxType == OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING) {
            flattenStrings(value(output), labels);
            return labels;
        }
        long[] values = new long[count];
        if (info.onnxType == OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
            IntBuffer buffer = output.getIntBuffer();
            for (int i = 0; i < count; i++) {
                values[i] = buffer.get(i);
            }
        } else {
            output.getLongBuffer().get(values);
        }
        boolean indices = !schema.labels().isEmpty() && !schema.integerLabels();
        for (long value : values) {
            if (!indices) {
                labels.add(Long.toString(value));
            } else if (value >= 0 && value < classLabels.size()) {
                labels.add(classLabels.get((int) value));
            } else {
                throw modelFault("output '" + labelOutput + "' holds class index " + value + ", but the config names "
                        + classLabels.size() + " labels");
            }
        }
        return labels;
    }

    private static Object value(OnnxTensor tensor) {
        try {
            return tensor.getValue();
        } catch (OrtException e) {
            throw AtriumException.internal("reading the model's labels failed", e);
        }
    }

    private static void flattenStrings(Object value, List<String> into) {
        if (value instanceof String text) {
            into.add(text);
            return;
        }
        for (int i = 0; i < Array.getLength(value); i++) {
            flattenStrings(Array.get(value, i), into);
        }
    }

    private OnnxTensor outputTensor(OrtSession.Result result, String name, int count) {
        OnnxValue value = result.get(name).orElseThrow(() -> modelFault("the model gave no output '" + name + "'"));
        if (!(value instanceof OnnxTensor tensor)) {
            throw modelFault("output '" + name + "' is not a tensor");
        }
        long[] shape = tensor.getInfo().getShape();
        if (shape.length == 0 || shape[0] != count) {
            throw modelFault("output '" + name + "' has shape " + shapeText(shape) + " for " + count + " rows");
        }
        return tensor;
    }

    private static double[] doubles(OnnxTensor tensor, int count) {
        double[] values = new double[count];
        if (tensor.getInfo().onnxType == OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            FloatBuffer buffer = tensor.getFloatBuffer();
            for (int i = 0; i < count; i++) {
                values[i] = buffer.get(i);
            }
        } else {
            tensor.getDoubleBuffer().get(values);
        }
        return values;
    }

    // ---- errors -------------------------------------------------------------------------------------------------

    private static String typeName(OnnxTensorType type) {
        return type.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "").toUpperCase(Locale.ROOT);
    }

    private static String shapeText(long[] shape) {
        return Arrays.toString(Arrays.stream(shape).mapToObj(dimension -> dimension < 0 ? "N" : Long.toString(dimension))
                .toArray());
    }

    private static AtriumException invalid(String field, String message) {
        return AtriumException.withParam(ErrorCode.INVALID_ARTIFACT, field, message);
    }

    private static AtriumException invalidArtifact(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }

    private static AtriumException modelFault(String message) {
        return AtriumException.internal("the tabular model's output does not fit its declared signature: " + message,
                new IllegalStateException(message));
    }
}
