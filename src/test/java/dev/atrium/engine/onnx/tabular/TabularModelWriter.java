package dev.atrium.engine.onnx.tabular;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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

    private final Message graph = new Message();
    private final List<Message> inputs = new ArrayList<>();
    private final List<Message> outputs = new ArrayList<>();
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
        Message map = new Message().varint(1, key.code).message(2, tensorType(value));
        Message sequence = new Message().message(1, new Message().message(5, map));
        outputs.add(valueInfo(name, new Message().message(4, sequence)));
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
        Message tensor = new Message();
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
        Message node = new Message();
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
        return new Attribute(new Message().string(1, name).varint(3, value).varint(20, 2).toBytes());
    }

    static Attribute attribute(String name, float value) {
        return new Attribute(new Message().string(1, name).fixed32(2, value).varint(20, 1).toBytes());
    }

    static Attribute attribute(String name, String value) {
        return new Attribute(new Message().string(1, name).string(4, value).varint(20, 3).toBytes());
    }

    static Attribute floats(String name, double... values) {
        Message attribute = new Message().string(1, name);
        for (double value : values) {
            attribute.fixed32(7, (float) value);
        }
        return new Attribute(attribute.varint(20, 6).toBytes());
    }

    static Attribute ints(String name, long... values) {
        Message attribute = new Message().string(1, name);
        for (long value : values) {
            attribute.varint(8, value);
        }
        return new Attribute(attribute.varint(20, 7).toBytes());
    }

    static Attribute strings(String name, String... values) {
        Message attribute = new Message().string(1, name);
        for (String value : values) {
            attribute.string(9, value);
        }
        return new Attribute(attribute.varint(20, 8).toBytes());
    }

    byte[] toBytes() {
        Message model = new Message();
        model.varint(1, 8) // ir_version
                .string(2, "atrium-tabular-tests");
        Message finished = new Message().raw(graph.toBytes()).string(2, "tabular");
        inputs.forEach(input -> finished.message(11, input));
        outputs.forEach(output -> finished.message(12, output));
        model.message(7, finished)
                .message(8, new Message().string(1, "").varint(2, 13))
                .message(8, new Message().string(1, ML).varint(2, 3));
        return model.toBytes();
    }

    private static Message valueInfo(String name, Message type) {
        return new Message().string(1, name).message(2, type);
    }

    private static Message tensorType(ElementType type, long... shape) {
        Message dims = new Message();
        for (long dimension : shape) {
            dims.message(1, dimension < 0 ? new Message().string(2, "N") : new Message().varint(1, dimension));
        }
        Message tensor = new Message().varint(1, type.code);
        if (shape.length > 0) {
            tensor.message(2, dims);
        }
        return new Message().message(1, tensor);
    }

    /** A protobuf message being written. */
    private static final class Message {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Message varint(int field, long value) {
            writeVarint((long) field << 3);
            writeVarint(value);
            return this;
        }

        Message fixed32(int field, float value) {
            writeVarint(((long) field << 3) | 5);
            int bits = Float.floatToIntBits(value);
            for (int i = 0; i < 4; i++) {
                out.write((bits >>> (8 * i)) & 0xFF);
            }
            return this;
        }

        Message string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Message message(int field, Message message) {
            return bytes(field, message.toBytes());
        }

        Message bytes(int field, byte[] bytes) {
            writeVarint(((long) field << 3) | 2);
            writeVarint(bytes.length);
            out.writeBytes(bytes);
            return this;
        }

        /** Fields already encoded, appended as they are. */
        Message raw(byte[] fields) {
            out.writeBytes(fields);
            return this;
        }

        private void writeVarint(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
