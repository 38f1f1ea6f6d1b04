package dev.atrium.engine.onnx.tabular;

import dev.atrium.training.ProtoMessage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes small ONNX models for the tabular tests: nodes with attributes, initializers, the {@code ai.onnx.ml}
 * domain and sequence-of-map outputs, encoding the protobuf messages by hand (field numbers from onnx.proto), so
 * that the tests make linear models and tree ensembles of known weights without Python.
 */
final class TabularModelWriter {
    static final String ML = "ai.onnx.ml";

    /** ONNX TensorProto.DataType numbers. */
    enum ElementType {
        FLOAT(1), INT32(6), INT64(7), STRING(8), BOOL(9), DOUBLE(11);

        final int code;

        ElementType(int code) {
            this.code = code;
        }
    }

    /** One node attribute, already encoded as an AttributeProto. */
    record Attribute(byte[] bytes) {}

    private final ProtoMessage graph = new ProtoMessage();
    private final List<ProtoMessage> inputs = new ArrayList<>();
    private final List<ProtoMessage> outputs = new ArrayList<>();
    private int nodes;

    /** @param shape dimensions; -1 for a dynamic one */
    TabularModelWriter input(String name, ElementType type, long... shape) {
        inputs.add(valueInfo(name, tensorType(type, shape)));
        return this;
    }

    TabularModelWriter output(String name, ElementType type, long... shape) {
        outputs.add(valueInfo(name, tensorType(type, shape)));
        return this;
    }

    /** An output of type seq(map(key, value)), as a ZipMap makes it. */
    TabularModelWriter sequenceOfMapsOutput(String name, ElementType key, ElementType value) {
        ProtoMessage map = new ProtoMessage().varint(1, key.code).message(2, tensorType(value));
        ProtoMessage sequence = new ProtoMessage().message(1, new ProtoMessage().message(5, map));
        outputs.add(valueInfo(name, new ProtoMessage().message(4, sequence)));
        return this;
    }

    /** A FLOAT or DOUBLE initializer of these values. */
    TabularModelWriter initializer(String name, ElementType type, long[] dims, double... values) {
        int size = type == ElementType.DOUBLE ? Double.BYTES : Float.BYTES;
        ByteBuffer raw = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (double value : values) {
            if (type == ElementType.DOUBLE) {
                raw.putDouble(value);
            } else {
                raw.putFloat((float) value);
            }
        }
        ProtoMessage tensor = new ProtoMessage();
        for (long dim : dims) {
            tensor.varint(1, dim);
        }
        tensor.varint(2, type.code).string(8, name).bytes(9, raw.array());
        graph.message(5, tensor);
        return this;
    }

    TabularModelWriter node(String opType, List<String> nodeInputs, List<String> nodeOutputs, Attribute... attributes) {
        return node("", opType, nodeInputs, nodeOutputs, attributes);
    }

    TabularModelWriter node(String domain, String opType, List<String> nodeInputs, List<String> nodeOutputs,
            Attribute... attributes) {
        ProtoMessage node = new ProtoMessage();
        nodeInputs.forEach(input -> node.string(1, input));
        nodeOutputs.forEach(output -> node.string(2, output));
        node.string(3, "node" + nodes++).string(4, opType);
        for (Attribute attribute : attributes) {
            node.bytes(5, attribute.bytes());
        }
        if (!domain.isEmpty()) {
            node.string(7, domain);
        }
        graph.message(1, node);
        return this;
    }

    // AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, strings 9, type 20

    static Attribute attribute(String name, long value) {
        return new Attribute(new ProtoMessage().string(1, name).varint(3, value).varint(20, 2).toBytes());
    }

    static Attribute attribute(String name, float value) {
        return new Attribute(new ProtoMessage().string(1, name).fixed32(2, value).varint(20, 1).toBytes());
    }

    static Attribute attribute(String name, String value) {
        return new Attribute(new ProtoMessage().string(1, name).string(4, value).varint(20, 3).toBytes());
    }

    static Attribute floats(String name, double... values) {
        ProtoMessage attribute = new ProtoMessage().string(1, name);
        for (double value : values) {
            attribute.fixed32(7, (float) value);
        }
        return new Attribute(attribute.varint(20, 6).toBytes());
    }

    static Attribute ints(String name, long... values) {
        ProtoMessage attribute = new ProtoMessage().string(1, name);
        for (long value : values) {
            attribute.varint(8, value);
        }
        return new Attribute(attribute.varint(20, 7).toBytes());
    }

    static Attribute strings(String name, String... values) {
        ProtoMessage attribute = new ProtoMessage().string(1, name);
        for (String value : values) {
            attribute.string(9, value);
        }
        return new Attribute(attribute.varint(20, 8).toBytes());
    }

    byte[] toBytes() {
        ProtoMessage model = new ProtoMessage();
        model.varint(1, 8) // ir_version
                .string(2, "atrium-tabular-tests");
        ProtoMessage finished = new ProtoMessage().raw(graph.toBytes()).string(2, "tabular");
        inputs.forEach(input -> finished.message(11, input));
        outputs.forEach(output -> finished.message(12, output));
        model.message(7, finished)
                .message(8, new ProtoMessage().string(1, "").varint(2, 13))
                .message(8, new ProtoMessage().string(1, ML).varint(2, 3));
        return model.toBytes();
    }

    private static ProtoMessage valueInfo(String name, ProtoMessage type) {
        return new ProtoMessage().string(1, name).message(2, type);
    }

    private static ProtoMessage tensorType(ElementType type, long... shape) {
        ProtoMessage dims = new ProtoMessage();
        for (long dimension : shape) {
            dims.message(1, dimension < 0 ? new ProtoMessage().string(2, "N")
                    : new ProtoMessage().varint(1, dimension));
        }
        ProtoMessage tensor = new ProtoMessage().varint(1, type.code);
        if (shape.length > 0) {
            tensor.message(2, dims);
        }
        return new ProtoMessage().message(1, tensor);
    }
}
