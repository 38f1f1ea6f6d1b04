package dev.atrium.testing;

import dev.atrium.training.ProtoMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes small ONNX models for tests, encoding the ONNX protobuf messages by hand (field numbers from
 * onnx.proto), so that tests can make models of any signature without Python.
 */
public final class OnnxModelWriter {
    /** ONNX TensorProto.DataType numbers. */
    public enum ElementType {
        FLOAT(1), UINT8(2), INT8(3), UINT16(4), INT16(5), INT32(6), INT64(7), STRING(8), BOOL(9), FLOAT16(10),
        DOUBLE(11), UINT32(12), UINT64(13);

        final int code;

        ElementType(int code) {
            this.code = code;
        }
    }

    private record ValueInfo(String name, ElementType type, long[] shape) {}

    private record Node(String opType, List<String> inputs, List<String> outputs) {}

    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<Initializer> initializers = new ArrayList<>();
    private final java.util.Map<String, String> metadata = new java.util.LinkedHashMap<>();
    private int opset = 13;

    private record Initializer(String name, long[] dims, ElementType type, byte[] raw) {}

    /** A constant float tensor the graph's nodes may read by name (a weight). */
    public OnnxModelWriter initializer(String name, float[] values, long... dims) {
        initializers.add(new Initializer(name, dims, ElementType.FLOAT, ProtoMessage.littleEndian(values)));
        return this;
    }

    /** A constant INT64 tensor (axes, shapes, indices). */
    public OnnxModelWriter initializer(String name, long[] values, long... dims) {
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(values.length * Long.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(values);
        initializers.add(new Initializer(name, dims, ElementType.INT64, raw.array()));
        return this;
    }

    /** The version of the default opset the model imports; 13 unless set. */
    public OnnxModelWriter opset(int version) {
        this.opset = version;
        return this;
    }

    /** A metadata property of the model (ONNX {@code metadata_props}). */
    public OnnxModelWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** @param shape dimensions; -1 for a dynamic one */
    public OnnxModelWriter input(String name, ElementType type, long... shape) {
        inputs.add(new ValueInfo(name, type, shape));
        return this;
    }

    public OnnxModelWriter output(String name, ElementType type, long... shape) {
        outputs.add(new ValueInfo(name, type, shape));
        return this;
    }

    public OnnxModelWriter node(String opType, List<String> nodeInputs, List<String> nodeOutputs) {
        nodes.add(new Node(opType, nodeInputs, nodeOutputs));
        return this;
    }

    /** A model that passes each input {@code x_T} to an output {@code y_T} through Identity. */
    public static OnnxModelWriter identities(List<ElementType> types, long... shape) {
        OnnxModelWriter writer = new OnnxModelWriter();
        for (ElementType type : types) {
            String suffix = type.name().toLowerCase(java.util.Locale.ROOT);
            writer.input("x_" + suffix, type, shape)
                    .output("y_" + suffix, type, shape)
                    .node("Identity", List.of("x_" + suffix), List.of("y_" + suffix));
        }
        return writer;
    }

    public byte[] toBytes() {
        ProtoMessage graph = new ProtoMessage();
        int index = 0;
        for (Node node : nodes) {
            ProtoMessage proto = new ProtoMessage();
            node.inputs().forEach(input -> proto.string(1, input));
            node.outputs().forEach(output -> proto.string(2, output));
            proto.string(3, "node" + index++);
            proto.string(4, node.opType());
            graph.message(1, proto);
        }
        graph.string(2, "test-graph");
        for (Initializer initializer : initializers) {
            ProtoMessage tensor = new ProtoMessage();
            for (long dim : initializer.dims()) {
                tensor.varint(1, dim);
            }
            tensor.varint(2, initializer.type().code);
            tensor.string(8, initializer.name());
            tensor.bytes(9, initializer.raw());
            graph.message(5, tensor);
        }
        inputs.forEach(input -> graph.message(11, valueInfo(input)));
        outputs.forEach(output -> graph.message(12, valueInfo(output)));

        ProtoMessage model = new ProtoMessage()
                .varint(1, 7) // ir_version
                .string(2, "atrium-tests")
                .message(7, graph)
                .message(8, new ProtoMessage().string(1, "").varint(2, opset));
        metadata.forEach((key, value) -> model.message(14, new ProtoMessage().string(1, key).string(2, value)));
        return model.toBytes();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, toBytes());
        return file;
    }

    private static ProtoMessage valueInfo(ValueInfo info) {
        ProtoMessage shape = new ProtoMessage();
        for (long dimension : info.shape()) {
            shape.message(1, dimension < 0 ? new ProtoMessage().string(2, "d" + Math.abs(dimension))
                    : new ProtoMessage().varint(1, dimension));
        }
        ProtoMessage tensor = new ProtoMessage().varint(1, info.type().code).message(2, shape);
        return new ProtoMessage().string(1, info.name()).message(2, new ProtoMessage().message(1, tensor));
    }
}
