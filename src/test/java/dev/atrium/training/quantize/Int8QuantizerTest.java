package dev.atrium.training.quantize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quantizer on small graphs written here: ONNX Runtime's outputs of the quantized model agree with the float
 * model's within the error int8 weights and uint8 activations allow, and the float weights are gone.
 */
class Int8QuantizerTest {
    private static final OrtEnvironment ORT = OrtEnvironment.getEnvironment();
    private static final Int8Quantizer.Options OPTIONS = Int8Quantizer.Options.defaults(1L << 30);

    @Test
    void quantize_matMulOnThreeDimensionalInput_agreesWithFloatWithinInt8Error() throws OrtException {
        int k = 64;
        int n = 48;
        float[] weight = columnsOfVaryingScale(k, n, new Random(1));
        ModelProto model = model(List.of(node("MatMul", List.of("x", "w"), List.of("y"))),
                List.of(floatTensor("w", weight, k, n)), List.of(input("x", 2, 5, k)), 13);
        float[] x = uniform(2 * 5 * k, new Random(2), 3f);

        Int8Quantizer.Quantized quantized = Int8Quantizer.quantize(model, OPTIONS);

        assertThat(opTypes(quantized.model())).containsExactly("DynamicQuantizeLinear", "MatMulInteger", "Cast",
                "Mul", "Mul");
        assertThat(initializerNames(quantized.model())).doesNotContain("w");
        assertThat(quantized.summary().matMuls()).isEqualTo(1);
        assertThat(quantized.summary().perChannel()).isEqualTo(1);
        float[] expected = run(model, Map.of("x", tensor(x, 2, 5, k)));
        float[] actual = run(quantized.model(), Map.of("x", tensor(x, 2, 5, k)));
        assertWithinInt8Error(expected, actual, x, weight, k, 63);
        assertThat(quantized.toByteArray().length).isLessThan(model.toByteArray().length / 3);
    }

    @Test
    void quantize_gemmWithTransposedWeightAlphaBetaAndBias_agreesWithFloatWithinInt8Error() throws OrtException {
        int k = 40;
        int n = 24;
        Random random = new Random(3);
        float[] weightNk = uniform(n * k, random, 0.5f);
        float[] bias = uniform(n, random, 1f);
        NodeProto gemm = node("Gemm", List.of("x", "b", "c"), List.of("y")).toBuilder()
                .addAttribute(floatAttribute("alpha", 0.5f))
                .addAttribute(floatAttribute("beta", 2f))
                .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT)
                        .setI(1))
                .build();
        ModelProto model = model(List.of(gemm), List.of(floatTensor("b", weightNk, n, k), floatTensor("c", bias, n)),
                List.of(input("x", 7, k)), 13);
        float[] x = uniform(7 * k, new Random(4), 2f);

        Int8Quantizer.Quantized quantized = Int8Quantizer.quantize(model, OPTIONS);

        assertThat(opTypes(quantized.model())).contains("MatMulInteger", "Add").doesNotContain("Gemm");
        assertThat(initializerNames(quantized.model())).doesNotContain("b", "c");
        assertThat(quantized.summary().gemms()).isEqualTo(1);
        float[] expected = run(model, Map.of("x", tensor(x, 7, k)));
        float[] actual = run(quantized.model(), Map.of("x", tensor(x, 7, k)));
        // the bound below is of A · W; alpha halves the product's error
        float[] weightKn = new float[k * n];
        for (int row = 0; row < n; row++) {
            for (int column = 0; column < k; column++) {
                weightKn[column * n + row] = weightNk[row * k + column] * 0.5f;
            }
        }
        assertWithinInt8Error(expected, actual, x, weightKn, k, 63);
    }

    @Test
    void quantize_largeEmbeddingTable_isInt8WithScalesPerRowGatheredLikeTheRows() throws OrtException {
        int rows = 4096;
        int width = 256;
        Random random = new Random(5);
        float[] table = new float[rows * width];
        for (int row = 0; row < rows; row++) {
            float magnitude = 0.01f + random.nextFloat();
            for (int column = 0; column < width; column++) {
                table[row * width + column] = (random.nextFloat() * 2 - 1) * magnitude;
            }
        }
        // a MatMul after it, as in an encoder: a table alone makes no int8 model
        ModelProto model = withSecondOutput(model(List.of(node("Gather", List.of("table", "ids"), List.of("y")),
                node("MatMul", List.of("y", "w"), List.of("z"))), List.of(floatTensor("table", table, rows, width),
                floatTensor("w", uniform(width * 4, random, 1f), width, 4)), List.of(typedInput("ids",
                        TensorProto.DataType.INT64_VALUE, 2, 3)), 13), "z");
        long[] ids = {0, 17, 4095, 9, 9, 2048};

        Int8Quantizer.Quantized quantized = Int8Quantizer.quantize(model, OPTIONS);

        assertThat(quantized.summary().gathers()).isEqualTo(1);
        assertThat(initializerNames(quantized.model())).doesNotContain("table");
        float[] expected = run(model, Map.of("ids", OnnxTensor.createTensor(ORT, LongBuffer.wrap(ids),
                new long[] {2, 3})));
        float[] actual = run(quantized.model(), Map.of("ids", OnnxTensor.createTensor(ORT, LongBuffer.wrap(ids),
                new long[] {2, 3})));
        for (int i = 0; i < ids.length; i++) {
            int row = (int) ids[i];
            float max = 0;
            for (int column = 0; column < width; column++) {
                max = Math.max(max, Math.abs(table[row * width + column]));
            }
            // half a step of the row's own scale: a table-wide scale would lose the small rows
            float step = max / 63;
            for (int column = 0; column < width; column++) {
                assertThat(actual[i * width + column]).isCloseTo(expected[i * width + column],
                        org.assertj.core.data.Offset.offset(step / 2 * 1.001f));
            }
        }
        assertThat(quantized.toByteArray().length).isLessThan(model.toByteArray().length / 3);
        // per row whatever the weights get
        assertThat(Int8Quantizer.quantize(model, Int8Quantizer.Options.perChannel(false, 1L << 30)).model()
                .getGraph().getInitializerList()).filteredOn(t -> t.getDataType() == TensorProto.DataType.FLOAT_VALUE)
                .extracting(TensorProto::getDimsList).contains(List.of((long) rows, 1L));
    }

    @Test
    void quantize_perChannel_onlyWhereItLowersTheError() {
        int k = 32;
        int n = 16;
        float[] even = uniform(k * n, new Random(6), 1f);
        for (int column = 0; column < n; column++) {
            even[column] = 1f; // every column's largest is 1: a scale per column is the tensor's scale
        }
        ModelProto model = model(List.of(node("MatMul", List.of("x", "even"), List.of("a")),
                node("MatMul", List.of("a", "varied"), List.of("y"))),
                List.of(floatTensor("even", even, k, n), floatTensor("varied", columnsOfVaryingScale(n, n,
                        new Random(7)), n, n)), List.of(input("x", 3, k)), 13);

        Int8Quantizer.Summary summary = Int8Quantizer.quantize(model, OPTIONS).summary();
        Int8Quantizer.Summary perTensor = Int8Quantizer.quantize(model, new Int8Quantizer.Options(false, true,
                1L << 30)).summary();

        assertThat(summary.perChannel()).isEqualTo(1);
        assertThat(summary.perTensor()).isEqualTo(1);
        assertThat(perTensor.perChannel()).isZero();
        assertThat(perTensor.perTensor()).isEqualTo(2);
    }

    @Test
    void quantize_matMulsReadingOneInput_quantizeItOnce() throws OrtException {
        int k = 16;
        Random random = new Random(9);
        ModelProto model = model(List.of(node("MatMul", List.of("x", "q"), List.of("a")),
                node("MatMul", List.of("x", "v"), List.of("b")), node("Add", List.of("a", "b"), List.of("y"))),
                List.of(floatTensor("q", uniform(k * k, random, 1f), k, k),
                        floatTensor("v", uniform(k * k, random, 1f), k, k)), List.of(input("x", 3, k)), 13);
        float[] x = uniform(3 * k, random, 1f);

        ModelProto quantized = Int8Quantizer.quantize(model, OPTIONS).model();

        assertThat(opTypes(quantized)).filteredOn("DynamicQuantizeLinear"::equals).hasSize(1);
        assertThat(opTypes(quantized)).filteredOn("MatMulInteger"::equals).hasSize(2);
        float[] expected = run(model, Map.of("x", tensor(x, 3, k)));
        float[] actual = run(quantized, Map.of("x", tensor(x, 3, k)));
        double error = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            error += Math.pow(actual[i] - expected[i], 2);
            norm += Math.pow(expected[i], 2);
        }
        assertThat(Math.sqrt(error / norm)).isLessThan(0.02);
    }

    @Test
    void quantize_sharedWeight_isQuantizedOnceAndKeptForAnotherUse() {
        int k = 8;
        float[] weight = uniform(k * k, new Random(8), 1f);
        ModelProto model = model(List.of(node("MatMul", List.of("x", "w"), List.of("a")),
                node("MatMul", List.of("a", "w"), List.of("b")), node("Add", List.of("b", "w"), List.of("y"))),
                List.of(floatTensor("w", weight, k, k)), List.of(input("x", k, k)), 13);

        ModelProto quantized = Int8Quantizer.quantize(model, OPTIONS).model();

        assertThat(quantized.getGraph().getInitializerList()).filteredOn(t -> t.getDataType()
                == TensorProto.DataType.INT8_VALUE && t.getDimsCount() == 2).hasSize(1);
        assertThat(initializerNames(quantized)).contains("w"); // the Add still reads it
    }

    @Test
    void quantize_embeddingTableWithoutAMatMul_isConflict() {
        ModelProto model = model(List.of(node("Gather", List.of("table", "ids"), List.of("y"))),
                List.of(floatTensor("table", new float[4096 * 256], 4096, 256)), List.of(typedInput("ids",
                        TensorProto.DataType.INT64_VALUE, 2)), 13);

        assertThatThrownBy(() -> Int8Quantizer.quantize(model, OPTIONS)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
    }

    @Test
    void quantize_nothingToQuantize_isConflict() {
        ModelProto model = model(List.of(node("MatMul", List.of("x", "x"), List.of("y"))), List.of(),
                List.of(input("x", 4, 4)), 13);

        assertThatThrownBy(() -> Int8Quantizer.quantize(model, OPTIONS)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
    }

    @Test
    void quantize_opsetBeforeEleven_isConflict() {
        ModelProto model = model(List.of(node("MatMul", List.of("x", "w"), List.of("y"))),
                List.of(floatTensor("w", new float[16], 4, 4)), List.of(input("x", 4, 4)), 10);

        assertThatThrownBy(() -> Int8Quantizer.quantize(model, OPTIONS)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
    }

    @Test
    void quantize_externalData_isConflict() {
        TensorProto external = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(4).addDims(4).setDataLocation(TensorProto.DataLocation.EXTERNAL).build();
        ModelProto model = model(List.of(node("MatMul", List.of("x", "w"), List.of("y"))), List.of(external),
                List.of(input("x", 4, 4)), 13);

        assertThatThrownBy(() -> Int8Quantizer.quantize(model, OPTIONS)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
    }

    @Test
    void quantize_fileNotOnnxOrTooLarge_isRefused(@TempDir Path directory) throws Exception {
        Path garbage = Files.write(directory.resolve("garbage.onnx"), new byte[] {(byte) 0xff, 0x01, 0x02});
        Path model = Files.write(directory.resolve("model.onnx"), model(List.of(node("MatMul", List.of("x", "w"),
                List.of("y"))), List.of(floatTensor("w", new float[16], 4, 4)), List.of(input("x", 4, 4)), 13)
                .toByteArray());

        assertThatThrownBy(() -> Int8Quantizer.quantize(garbage, OPTIONS)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT));
        assertThatThrownBy(() -> Int8Quantizer.quantize(model, new Int8Quantizer.Options(true, true, 16)))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code())
                        .isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE));
        assertThat(Int8Quantizer.quantize(model, OPTIONS).summary().matMuls()).isEqualTo(1);
    }

    // ---- the error int8 allows ----------------------------------------------------------------------------------

    /**
     * Each output y[m, n] = Σ_k a[m, k] · w[k, n] is off by at most Σ_k (|a| · δw + |w| · δa + δa · δw), where δw is
     * half a step of the weight's column scale (max |w[:, n]| / range) and δa half a step of the activations'
     * uint8 scale (their range / 255).
     */
    private static void assertWithinInt8Error(float[] expected, float[] actual, float[] a, float[] w, int k,
            int range) {
        int n = w.length / k;
        int m = a.length / k;
        float min = 0;
        float max = 0;
        for (float value : a) {
            min = Math.min(min, value);
            max = Math.max(max, value);
        }
        double activationStep = (max - min) / 255.0 / 2;
        assertThat(actual).hasSize(expected.length);
        double squaredError = 0;
        double squaredNorm = 0;
        for (int row = 0; row < m; row++) {
            for (int column = 0; column < n; column++) {
                double columnMax = 0;
                for (int i = 0; i < k; i++) {
                    columnMax = Math.max(columnMax, Math.abs(w[i * n + column]));
                }
                double weightStep = columnMax / range / 2;
                double bound = 0;
                for (int i = 0; i < k; i++) {
                    bound += Math.abs(a[row * k + i]) * weightStep + Math.abs(w[i * n + column]) * activationStep
                            + weightStep * activationStep;
                }
                int at = row * n + column;
                assertThat((double) Math.abs(actual[at] - expected[at])).as("y[%d, %d]", row, column)
                        .isLessThanOrEqualTo(bound * 1.001 + 1e-5);
                squaredError += Math.pow(actual[at] - expected[at], 2);
                squaredNorm += Math.pow(expected[at], 2);
            }
        }
        assertThat(Math.sqrt(squaredError / squaredNorm)).as("relative RMS error").isLessThan(0.02);
    }

    // ---- models -------------------------------------------------------------------------------------------------

    private static ModelProto model(List<NodeProto> nodes, List<TensorProto> initializers,
            List<ValueInfoProto> inputs, int opset) {
        GraphProto graph = GraphProto.newBuilder().setName("test").addAllNode(nodes).addAllInitializer(initializers)
                .addAllInput(inputs).addOutput(ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))))
                .build();
        return ModelProto.newBuilder().setIrVersion(7).setProducerName("Int8QuantizerTest").setGraph(graph)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build();
    }

    private static ModelProto withSecondOutput(ModelProto model, String name) {
        return model.toBuilder().setGraph(model.getGraph().toBuilder().addOutput(ValueInfoProto.newBuilder()
                .setName(name).setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT_VALUE))))).build();
    }

    private static NodeProto node(String opType, List<String> inputs, List<String> outputs) {
        return NodeProto.newBuilder().setOpType(opType).setName(opType + "_" + outputs.getFirst())
                .addAllInput(inputs).addAllOutput(outputs).build();
    }

    private static AttributeProto floatAttribute(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value)
                .build();
    }

    private static ValueInfoProto input(String name, long... shape) {
        return typedInput(name, TensorProto.DataType.FLOAT_VALUE, shape);
    }

    private static ValueInfoProto typedInput(String name, int elementType, long... shape) {
        TensorShapeProto.Builder dims = TensorShapeProto.newBuilder();
        Arrays.stream(shape).forEach(dim -> dims.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(dim)));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elementType).setShape(dims))).build();
    }

    private static TensorProto floatTensor(String name, float[] values, long... dims) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name)
                .setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(bytes.array()));
        Arrays.stream(dims).forEach(tensor::addDims);
        return tensor.build();
    }

    private static List<String> opTypes(ModelProto model) {
        return model.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList();
    }

    private static List<String> initializerNames(ModelProto model) {
        return model.getGraph().getInitializerList().stream().map(TensorProto::getName).toList();
    }

    /** A [k, n] matrix whose columns differ in magnitude a hundredfold, as trained weights' channels do. */
    private static float[] columnsOfVaryingScale(int k, int n, Random random) {
        float[] values = new float[k * n];
        for (int column = 0; column < n; column++) {
            float magnitude = (float) Math.pow(10, -2 + 2.0 * column / n);
            for (int row = 0; row < k; row++) {
                values[row * n + column] = (random.nextFloat() * 2 - 1) * magnitude;
            }
        }
        return values;
    }

    private static float[] uniform(int count, Random random, float magnitude) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (random.nextFloat() * 2 - 1) * magnitude;
        }
        return values;
    }

    private static OnnxTensor tensor(float[] values, long... shape) throws OrtException {
        return OnnxTensor.createTensor(ORT, FloatBuffer.wrap(values), shape);
    }

    private static float[] run(ModelProto model, Map<String, OnnxTensor> inputs) throws OrtException {
        try (OrtSession session = ORT.createSession(model.toByteArray(), new OrtSession.SessionOptions());
                OrtSession.Result result = session.run(inputs)) {
            OnnxTensor output = (OnnxTensor) result.get(0);
            FloatBuffer buffer = output.getFloatBuffer();
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return values;
        }
    }
}
