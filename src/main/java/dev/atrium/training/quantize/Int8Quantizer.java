package dev.atrium.training.quantize;

import static java.util.Objects.requireNonNull;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Quantizes a float ONNX model's weights to int8 for dynamic quantization, as ONNX Runtime's
 * {@code quantize_dynamic} does: each MatMul (and Gemm) whose weight is a 2-D float initializer becomes
 * {@code DynamicQuantizeLinear(A)} (uint8 activations, their scale and zero point found at run time),
 * {@code MatMulInteger(A_q, W_q, a_zero_point, w_zero_point)}, a {@code Cast} to float and a {@code Mul} by
 * {@code a_scale × w_scale}; ONNX Runtime fuses them into one kernel. MatMuls that read the same activations
 * (attention's query, key and value projections) share one {@code DynamicQuantizeLinear} of them. Weights are
 * symmetric int8 (zero point 0), per output channel (a scale per column of the weight) where that lowers their
 * error, else per tensor. Large
 * embedding tables (a Gather on a 2-D float initializer) are stored int8 with a scale per row, and the rows a Gather
 * picks are cast back to float and scaled by their own scales, gathered with the same indices: the table is never
 * dequantized whole.
 *
 * <p>Design: the model is parsed and rewritten with ONNX's own protobuf classes, so that every field the rewrite
 * does not touch (metadata, value infos, other domains' opsets, subgraphs) is kept as it was. Initializers no node
 * uses any more are dropped. Weights are quantized with a 7-bit range ({@code ±63}) when {@link Options#reduceRange}
 * is set: x86 CPUs without VNNI multiply uint8 by int8 in pairs summed into 16 bits, which saturates with full-range
 * weights. The model, its weights and the result are held in memory: callers bound the input's size (the upload
 * limit); a model with external data (weights in other files) is refused.
 *
 * <p>Stateless; safe to call from several threads.
 */
public final class Int8Quantizer {
    /** DynamicQuantizeLinear is from opset 11 (MatMulInteger from 10). */
    static final int OLDEST_OPSET = 11;
    /** A protobuf message, an ONNX file included, is at most 2 GiB. */
    private static final long MAX_BYTES = Integer.MAX_VALUE;
    /** Embedding tables smaller than this (position and token type embeddings) stay float: they weigh little. */
    static final long MIN_GATHER_ELEMENTS = 1 << 20;
    /** Per-channel scales are taken when they lower the weight's squared error at least this much. */
    private static final double PER_CHANNEL_GAIN = 0.9;

    private Int8Quantizer() {
    }

    /**
     * @param perChannel whether weights may take a scale per output channel (taken only where it lowers their error)
     * @param reduceRange whether weights use 7 bits ({@code ±63}), for CPUs whose uint8 × int8 products saturate;
     *     worth it with per-channel scales only (on e5-small-v2, cosine to float 0.9978 against 0.9963 at full range,
     *     but 0.959 against 0.989 with one scale per weight, whose small channels then lose too much)
     * @param maxBytes the largest model taken, in bytes
     */
    public record Options(boolean perChannel, boolean reduceRange, long maxBytes) {
        public Options {
            if (maxBytes < 1) {
                throw new IllegalArgumentException("maxBytes must be positive");
            }
        }

        public static Options defaults(long maxBytes) {
            return perChannel(true, maxBytes);
        }

        /** Per-channel scales (or not), with the range that suits them. */
        public static Options perChannel(boolean perChannel, long maxBytes) {
            return new Options(perChannel, perChannel, maxBytes);
        }
    }

    /**
     * What a quantization did.
     *
     * @param matMuls MatMul nodes quantized
     * @param gemms Gemm nodes quantized
     * @param gathers embedding tables stored int8
     * @param perChannel weights given a scale per channel (or per row, for tables)
     * @param perTensor weights given one scale
     * @param floatWeightBytes bytes of float weights replaced
     * @param int8WeightBytes bytes of the int8 weights and their scales that replaced them
     */
    public record Summary(int matMuls, int gemms, int gathers, int perChannel, int perTensor, long floatWeightBytes,
            long int8WeightBytes) {
        /** Whether any MatMul or Gemm was quantized (an embedding table alone makes no int8 model). */
        public boolean quantizedAny() {
            return matMuls + gemms > 0;
        }
    }

    /** A quantized model and what was done to it. */
    public record Quantized(ModelProto model, Summary summary) {
        public Quantized {
            requireNonNull(model, "model is null");
            requireNonNull(summary, "summary is null");
        }

        public void writeTo(OutputStream out) {
            try {
                model.writeTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public byte[] toByteArray() {
            return model.toByteArray();
        }
    }

    /**
     * Quantizes the model in a file.
     *
     * @throws AtriumException {@code PAYLOAD_TOO_LARGE} for a file over the limit, {@code INVALID_ARTIFACT} for one
     *     that is not an ONNX model, {@code CONFLICT} for one with nothing to quantize, external data or an opset
     *     older than 11
     */
    public static Quantized quantize(Path file, Options options) {
        requireNonNull(options, "options is null");
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (size > Math.min(options.maxBytes(), MAX_BYTES)) {
            throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the model is " + size + " bytes; at most "
                    + Math.min(options.maxBytes(), MAX_BYTES) + " are quantized");
        }
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return quantize(ModelProto.parseFrom(coded), options);
        } catch (InvalidProtocolBufferException e) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the model is not a readable ONNX file");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Quantizes a parsed model (see {@link #quantize(Path, Options)}). */
    public static Quantized quantize(ModelProto model, Options options) {
        requireNonNull(model, "model is null");
        requireNonNull(options, "options is null");
        if (!model.hasGraph()) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the ONNX file has no graph");
        }
        long opset = model.getOpsetImportList().stream()
                .filter(set -> set.getDomain().isEmpty() || set.getDomain().equals("ai.onnx"))
                .mapToLong(OperatorSetIdProto::getVersion).max().orElse(0);
        if (opset < OLDEST_OPSET) {
            throw new AtriumException(ErrorCode.CONFLICT, "the model imports ONNX opset " + opset + "; quantizing"
                    + " needs " + OLDEST_OPSET + " or later (DynamicQuantizeLinear), and raising it would change what"
                    + " its other nodes mean");
        }
        GraphProto graph = model.getGraph();
        Rewrite rewrite = new Rewrite(graph, options);
        GraphProto quantized = rewrite.run();
        Summary summary = rewrite.summary();
        if (!summary.quantizedAny()) {
            throw new AtriumException(ErrorCode.CONFLICT, "the model has no MatMul or Gemm with a float weight"
                    + " initializer to quantize (is it quantized already?)");
        }
        ModelProto.Builder builder = model.toBuilder().setGraph(quantized);
        builder.addMetadataProps(StringStringEntryProto.newBuilder().setKey("atrium.quantization")
                .setValue("int8-dynamic" + (options.perChannel() ? ", per-channel" : "")
                        + (options.reduceRange() ? ", reduced range" : "")));
        return new Quantized(builder.build(), summary);
    }

    /** One pass over a graph: its nodes rewritten in order, new initializers appended, unused ones dropped. */
    private static final class Rewrite {
        private final GraphProto graph;
        private final Options options;
        private final Map<String, TensorProto> initializers = new HashMap<>();
        private final Map<String, Integer> uses = new HashMap<>();
        private final Set<String> names = new HashSet<>();
        private final List<NodeProto> nodes = new ArrayList<>();
        private final List<TensorProto> added = new ArrayList<>();
        private final Map<String, QuantizedWeight> quantizedWeights = new HashMap<>();
        private final Map<String, QuantizedTable> quantizedTables = new HashMap<>();
        private final Map<String, QuantizedActivation> quantizedActivations = new HashMap<>();
        private int matMuls;
        private int gemms;
        private int gathers;
        private int perChannel;
        private int perTensor;
        private long floatBytes;
        private long int8Bytes;

        Rewrite(GraphProto graph, Options options) {
            this.graph = graph;
            this.options = options;
            for (TensorProto tensor : graph.getInitializerList()) {
                if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL
                        || tensor.getExternalDataCount() > 0) {
                    throw new AtriumException(ErrorCode.CONFLICT, "the model keeps its weights in external files"
                            + " (initializer '" + tensor.getName() + "'); upload it as one self-contained file");
                }
                initializers.put(tensor.getName(), tensor);
                names.add(tensor.getName());
            }
            countUses(graph);
            graph.getOutputList().forEach(output -> uses.merge(output.getName(), 1, Integer::sum));
        }

        /** Counts each name's uses as a node input, in subgraphs too, and collects every name in use. */
        private void countUses(GraphProto graph) {
            graph.getInputList().forEach(input -> names.add(input.getName()));
            graph.getInitializerList().forEach(tensor -> names.add(tensor.getName()));
            for (NodeProto node : graph.getNodeList()) {
                node.getInputList().forEach(input -> uses.merge(input, 1, Integer::sum));
                names.addAll(node.getOutputList());
                names.add(node.getName());
                for (AttributeProto attribute : node.getAttributeList()) {
                    if (attribute.hasG()) {
                        countUses(attribute.getG());
                    }
                    attribute.getGraphsList().forEach(this::countUses);
                }
            }
        }

        GraphProto run() {
            for (NodeProto node : graph.getNodeList()) {
                boolean done = switch (node.getOpType()) {
                    case "MatMul" -> node.getDomain().isEmpty() && matMul(node);
                    case "Gemm" -> node.getDomain().isEmpty() && gemm(node);
                    case "Gather" -> node.getDomain().isEmpty() && gather(node);
                    default -> false;
                };
                if (!done) {
                    nodes.add(node);
                }
            }
            GraphProto.Builder builder = graph.toBuilder().clearNode().addAllNode(nodes).clearInitializer();
            for (TensorProto tensor : graph.getInitializerList()) {
                if (uses.getOrDefault(tensor.getName(), 0) > 0) {
                    builder.addInitializer(tensor);
                }
            }
            builder.addAllInitializer(added);
            // older models list their initializers as graph inputs too; a dropped one goes from there as well
            List<ValueInfoProto> inputs = graph.getInputList().stream()
                    .filter(input -> !initializers.containsKey(input.getName())
                            || uses.getOrDefault(input.getName(), 0) > 0)
                    .toList();
            return builder.clearInput().addAllInput(inputs).build();
        }

        Summary summary() {
            return new Summary(matMuls, gemms, gathers, perChannel, perTensor, floatBytes, int8Bytes);
        }

        /** Y = A · W for a float initializer W of shape [K, N]. */
        private boolean matMul(NodeProto node) {
            if (node.getInputCount() != 2 || node.getOutputCount() != 1) {
                return false;
            }
            TensorProto weight = floatMatrix(node.getInput(1));
            if (weight == null || initializers.containsKey(node.getInput(0))) {
                return false;
            }
            QuantizedWeight quantized = weight(weight, false, 1f);
            emitMatMulInteger(node, node.getInput(0), quantized, node.getOutput(0));
            release(node.getInput(1));
            matMuls++;
            return true;
        }

        /** Y = alpha · A · B' + beta · C, for a float initializer B (transposed when transB), A not transposed. */
        private boolean gemm(NodeProto node) {
            if (node.getInputCount() < 2 || node.getOutputCount() != 1) {
                return false;
            }
            float alpha = floatAttribute(node, "alpha", 1f);
            float beta = floatAttribute(node, "beta", 1f);
            boolean transposeB = intAttribute(node, "transB", 0) != 0;
            if (intAttribute(node, "transA", 0) != 0) {
                return false;
            }
            TensorProto weight = floatMatrix(node.getInput(1));
            if (weight == null || initializers.containsKey(node.getInput(0))) {
                return false;
            }
            String bias = node.getInputCount() > 2 && !node.getInput(2).isEmpty() ? node.getInput(2) : null;
            TensorProto biasTensor = bias == null ? null : initializers.get(bias);
            if (bias != null && beta != 1f && (biasTensor == null || !isFloat(biasTensor))) {
                return false; // beta · C needs C known to be scaled here
            }
            QuantizedWeight quantized = weight(weight, transposeB, alpha);
            if (bias == null || beta == 0f) {
                emitMatMulInteger(node, node.getInput(0), quantized, node.getOutput(0));
            } else {
                String product = fresh(node.getOutput(0) + "_product");
                emitMatMulInteger(node, node.getInput(0), quantized, product);
                String addend = bias;
                if (beta != 1f) {
                    float[] values = floats(biasTensor);
                    for (int i = 0; i < values.length; i++) {
                        values[i] *= beta;
                    }
                    addend = fresh(bias + "_scaled");
                    added.add(floatTensor(addend, biasTensor.getDimsList(), values));
                    release(bias);
                }
                nodes.add(node(node, "Add", List.of(product, addend), List.of(node.getOutput(0))));
            }
            release(node.getInput(1));
            gemms++;
            return true;
        }

        /**
         * Y = table[indices] for a large float table of shape [rows, width] (axis 0): the table as int8 with a scale
         * per row ([rows, 1], so the gathered scales broadcast over the width), gathered, cast and scaled. Always per
         * row, whatever {@link Options#perChannel}: the scales cost 4 bytes a row, and on e5-small-v2 they kept a
         * little more of the cosine (0.99783 against 0.99767 with one scale for the table).
         */
        private boolean gather(NodeProto node) {
            if (node.getInputCount() != 2 || node.getOutputCount() != 1 || intAttribute(node, "axis", 0) != 0) {
                return false;
            }
            TensorProto table = floatMatrix(node.getInput(0));
            if (table == null || (long) table.getDims(0) * table.getDims(1) < MIN_GATHER_ELEMENTS) {
                return false;
            }
            int rows = (int) table.getDims(0);
            int width = (int) table.getDims(1);
            String base = node.getInput(0);
            QuantizedTable quantized = quantizedTables.computeIfAbsent(base, key -> {
                float[] values = floats(table);
                byte[] data = new byte[values.length];
                float[] scales = new float[rows];
                int range = range();
                for (int row = 0; row < rows; row++) {
                    scales[row] = scale(values, row * width, 1, width, range);
                    quantizeInto(values, row * width, 1, width, scales[row], range, data);
                }
                String quantizedName = fresh(base + "_quantized");
                String scaleName = fresh(base + "_scale");
                added.add(int8Tensor(quantizedName, List.of((long) rows, (long) width), data));
                added.add(floatTensor(scaleName, List.of((long) rows, 1L), scales));
                floatBytes += 4L * values.length;
                int8Bytes += data.length + 4L * scales.length;
                perChannel++;
                return new QuantizedTable(quantizedName, scaleName);
            });
            String output = node.getOutput(0);
            String rowsName = fresh(output + "_int8");
            String cast = fresh(output + "_cast");
            nodes.add(node(node, "Gather", List.of(quantized.data(), node.getInput(1)), List.of(rowsName)));
            nodes.add(castToFloat(node, rowsName, cast));
            String scale = fresh(output + "_row_scale");
            nodes.add(node(node, "Gather", List.of(quantized.scale(), node.getInput(1)), List.of(scale)));
            nodes.add(node(node, "Mul", List.of(cast, scale), List.of(output)));
            release(node.getInput(0));
            gathers++;
            return true;
        }

        private void emitMatMulInteger(NodeProto node, String input, QuantizedWeight weight, String output) {
            // one DynamicQuantizeLinear per activation, however many MatMuls read it (attention's Q, K and V)
            QuantizedActivation activation = quantizedActivations.get(input);
            if (activation == null) {
                activation = new QuantizedActivation(fresh(input + "_quantized"), fresh(input + "_scale"),
                        fresh(input + "_zero_point"));
                quantizedActivations.put(input, activation);
                nodes.add(node(node, "DynamicQuantizeLinear", List.of(input),
                        List.of(activation.data(), activation.scale(), activation.zeroPoint())));
            }
            String integer = fresh(output + "_int32");
            String cast = fresh(output + "_cast");
            String scale = fresh(output + "_output_scale");
            nodes.add(node(node, "MatMulInteger", List.of(activation.data(), weight.data(), activation.zeroPoint(),
                    weight.zeroPoint()), List.of(integer)));
            nodes.add(castToFloat(node, integer, cast));
            nodes.add(node(node, "Mul", List.of(activation.scale(), weight.scale()), List.of(scale)));
            nodes.add(node(node, "Mul", List.of(cast, scale), List.of(output)));
        }

        /**
         * The int8 form of a weight of shape [K, N] (or [N, K], transposed), made once per initializer, its scales
         * times {@code alpha}.
         */
        private QuantizedWeight weight(TensorProto tensor, boolean transposed, float alpha) {
            String key = tensor.getName() + (transposed ? "#t" : "#") + alpha;
            return quantizedWeights.computeIfAbsent(key, unused -> {
                float[] values = floats(tensor);
                int rows = (int) tensor.getDims(0);
                int columns = (int) tensor.getDims(1);
                int k = transposed ? columns : rows;
                int n = transposed ? rows : columns;
                float[] matrix = values;
                if (transposed) {
                    matrix = new float[values.length];
                    for (int row = 0; row < rows; row++) {
                        for (int column = 0; column < columns; column++) {
                            matrix[column * rows + row] = values[row * columns + column];
                        }
                    }
                }
                int range = range();
                float[] channelScales = new float[n];
                for (int column = 0; column < n; column++) {
                    channelScales[column] = scale(matrix, column, n, k, range);
                }
                float tensorScale = scale(matrix, 0, 1, matrix.length, range);
                boolean channels = options.perChannel() && squaredError(matrix, n, channelScales, range)
                        <= PER_CHANNEL_GAIN * squaredError(matrix, n, new float[] {tensorScale}, range);
                byte[] data = new byte[matrix.length];
                float[] scales = channels ? channelScales : new float[] {tensorScale};
                for (int column = 0; column < n; column++) {
                    quantizeInto(matrix, column, n, k, scales[channels ? column : 0], range, data);
                }
                for (int i = 0; i < scales.length; i++) {
                    scales[i] *= alpha;
                }
                String base = tensor.getName();
                String dataName = fresh(base + "_quantized");
                String scaleName = fresh(base + "_scale");
                String zeroName = fresh(base + "_zero_point");
                List<Long> vectorShape = channels ? List.of((long) n) : List.of();
                added.add(int8Tensor(dataName, List.of((long) k, (long) n), data));
                added.add(floatTensor(scaleName, vectorShape, scales));
                added.add(int8Tensor(zeroName, vectorShape, new byte[scales.length]));
                floatBytes += 4L * values.length;
                int8Bytes += data.length + 5L * scales.length;
                if (channels) {
                    perChannel++;
                } else {
                    perTensor++;
                }
                return new QuantizedWeight(dataName, scaleName, zeroName);
            });
        }

        private int range() {
            return options.reduceRange() ? 63 : 127;
        }

        /** A name used nowhere in the model. */
        private String fresh(String wanted) {
            String name = wanted;
            for (int i = 1; !names.add(name); i++) {
                name = wanted + "_" + i;
            }
            return name;
        }

        /** One use of an initializer is gone. */
        private void release(String name) {
            uses.merge(name, -1, Integer::sum);
        }

        /** The named initializer when it is a 2-D float tensor with data of its own, else null. */
        private TensorProto floatMatrix(String name) {
            TensorProto tensor = initializers.get(name);
            if (tensor == null || !isFloat(tensor) || tensor.getDimsCount() != 2 || tensor.getDims(0) < 1
                    || tensor.getDims(1) < 1) {
                return null;
            }
            long elements = tensor.getDims(0) * tensor.getDims(1);
            long present = tensor.hasRawData() ? tensor.getRawData().size() / 4 : tensor.getFloatDataCount();
            return present == elements ? tensor : null;
        }
    }

    private record QuantizedWeight(String data, String scale, String zeroPoint) {}

    private record QuantizedTable(String data, String scale) {}

    private record QuantizedActivation(String data, String scale, String zeroPoint) {}

    // ---- arithmetic ---------------------------------------------------------------------------------------------

    /** The symmetric scale of {@code count} values from {@code offset}, {@code stride} apart. */
    static float scale(float[] values, int offset, int stride, int count, int range) {
        float max = 0f;
        for (int i = 0, at = offset; i < count; i++, at += stride) {
            max = Math.max(max, Math.abs(values[at]));
        }
        return max == 0f || !Float.isFinite(max) ? 1f : max / range;
    }

    private static void quantizeInto(float[] values, int offset, int stride, int count, float scale, int range,
            byte[] into) {
        for (int i = 0, at = offset; i < count; i++, at += stride) {
            into[at] = quantize(values[at], scale, range);
        }
    }

    static byte quantize(float value, float scale, int range) {
        return (byte) Math.max(-range, Math.min(range, Math.round(value / scale)));
    }

    /** The squared error of a [K, N] matrix quantized with one scale, or one per column. */
    private static double squaredError(float[] matrix, int columns, float[] scales, int range) {
        double error = 0;
        for (int i = 0; i < matrix.length; i++) {
            float scale = scales.length == 1 ? scales[0] : scales[i % columns];
            double difference = matrix[i] - quantize(matrix[i], scale, range) * scale;
            error += difference * difference;
        }
        return error;
    }

    // ---- tensors and nodes --------------------------------------------------------------------------------------

    private static boolean isFloat(TensorProto tensor) {
        return tensor.getDataType() == TensorProto.DataType.FLOAT_VALUE;
    }

    /** A float tensor's values, from its raw little-endian bytes or its float_data. */
    static float[] floats(TensorProto tensor) {
        if (tensor.hasRawData()) {
            ByteString raw = tensor.getRawData();
            FloatBuffer buffer = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return values;
        }
        float[] values = new float[tensor.getFloatDataCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = tensor.getFloatData(i);
        }
        return values;
    }

    private static TensorProto floatTensor(String name, List<Long> shape, float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(shape).setRawData(ByteString.copyFrom(bytes.array())).build();
    }

    private static TensorProto int8Tensor(String name, List<Long> shape, byte[] values) {
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT8_VALUE)
                .addAllDims(shape).setRawData(ByteString.copyFrom(values)).build();
    }

    private static NodeProto node(NodeProto original, String opType, List<String> inputs, List<String> outputs) {
        String name = original.getName().isEmpty() ? outputs.getFirst() : original.getName();
        return NodeProto.newBuilder().setOpType(opType).setName(name + "_" + opType + "_" + outputs.getFirst())
                .addAllInput(inputs).addAllOutput(outputs).build();
    }

    private static NodeProto castToFloat(NodeProto original, String input, String output) {
        return node(original, "Cast", List.of(input), List.of(output)).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                        .setI(TensorProto.DataType.FLOAT_VALUE))
                .build();
    }

    private static float floatAttribute(NodeProto node, String name, float fallback) {
        return node.getAttributeList().stream().filter(attribute -> attribute.getName().equals(name))
                .map(AttributeProto::getF).findFirst().orElse(fallback);
    }

    private static long intAttribute(NodeProto node, String name, long fallback) {
        return node.getAttributeList().stream().filter(attribute -> attribute.getName().equals(name))
                .map(AttributeProto::getI).findFirst().orElse(fallback);
    }
}
