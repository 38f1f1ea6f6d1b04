package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.training.ProtoMessage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a small ONNX model (an {@code onnx.ModelProto}) by hand: tensor inputs and outputs, nodes with
 * attributes, float initializers, and the opset imports of {@code ai.onnx} and {@code ai.onnx.ml}. Enough for the
 * tree ensembles and linear models of this package, without a protobuf library.
 *
 * <p>The field numbers are those of onnx/onnx.proto (IR version 8). Repeated numbers are written packed, which
 * every protobuf parser reads. Not thread-safe.
 */
final class OnnxGraphWriter {
    static final String ML_DOMAIN = "ai.onnx.ml";
    static final int IR_VERSION = 8;
    static final int ONNX_OPSET = 17;
    static final int ML_OPSET = 3;

    /** TensorProto.DataType values. */
    static final int FLOAT = 1;
    static final int INT64 = 7;

    /** A dimension of unknown size (the batch), written as the symbol {@code N}. */
    static final long BATCH = -1;

    private final String name;
    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final List<byte[]> inputs = new ArrayList<>();
    private final List<byte[]> outputs = new ArrayList<>();

    OnnxGraphWriter(String name) {
        this.name = requireNonNull(name, "name is null");
    }

    void input(String tensor, int elementType, long... dims) {
        inputs.add(valueInfo(tensor, elementType, dims));
    }

    void output(String tensor, int elementType, long... dims) {
        outputs.add(valueInfo(tensor, elementType, dims));
    }

    /** Adds a node of the default ({@code ai.onnx}) or the given domain; attributes are added to the returned node. */
    Node node(String opType, String domain, List<String> nodeInputs, List<String> nodeOutputs) {
        Node node = new Node(opType, domain, nodeInputs, nodeOutputs);
        nodes.add(null);
        node.slot = nodes.size() - 1;
        return node;
    }

    void initializer(String tensor, float[] values, long... dims) {
        ProtoMessage proto = new ProtoMessage();
        for (long dim : dims) {
            proto.varint(1, dim);
        }
        proto.varint(2, FLOAT);
        proto.string(8, tensor);
        proto.bytes(9, ProtoMessage.littleEndian(values));
        initializers.add(proto.toBytes());
    }

    void initializer(String tensor, long[] values, long... dims) {
        ProtoMessage proto = new ProtoMessage();
        for (long dim : dims) {
            proto.varint(1, dim);
        }
        proto.varint(2, INT64);
        proto.string(8, tensor);
        ByteBuffer raw = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(values);
        proto.bytes(9, raw.array());
        initializers.add(proto.toBytes());
    }

    /** The serialized model. */
    byte[] toModel(String producer) {
        ProtoMessage graph = new ProtoMessage();
        for (byte[] node : nodes) {
            if (node == null) {
                throw new IllegalStateException("a node was not finished");
            }
            graph.bytes(1, node);
        }
        graph.string(2, name);
        initializers.forEach(initializer -> graph.bytes(5, initializer));
        inputs.forEach(input -> graph.bytes(11, input));
        outputs.forEach(output -> graph.bytes(12, output));

        ProtoMessage model = new ProtoMessage();
        model.varint(1, IR_VERSION);
        model.string(2, producer);
        model.bytes(7, graph.toBytes());
        model.bytes(8, opset("", ONNX_OPSET));
        model.bytes(8, opset(ML_DOMAIN, ML_OPSET));
        return model.toBytes();
    }

    private static byte[] opset(String domain, int version) {
        ProtoMessage proto = new ProtoMessage();
        proto.string(1, domain);
        proto.varint(2, version);
        return proto.toBytes();
    }

    private static byte[] valueInfo(String tensor, int elementType, long[] dims) {
        ProtoMessage shape = new ProtoMessage();
        for (long dim : dims) {
            ProtoMessage dimension = new ProtoMessage();
            if (dim == BATCH) {
                dimension.string(2, "N");
            } else {
                dimension.varint(1, dim);
            }
            shape.bytes(1, dimension.toBytes());
        }
        ProtoMessage tensorType = new ProtoMessage();
        tensorType.varint(1, elementType);
        tensorType.bytes(2, shape.toBytes());
        ProtoMessage type = new ProtoMessage();
        type.bytes(1, tensorType.toBytes());
        ProtoMessage info = new ProtoMessage();
        info.string(1, tensor);
        info.bytes(2, type.toBytes());
        return info.toBytes();
    }

    /** A node being written; {@link #done} puts it in the graph. */
    final class Node {
        private final ProtoMessage proto = new ProtoMessage();
        private int slot;

        private Node(String opType, String domain, List<String> nodeInputs, List<String> nodeOutputs) {
            nodeInputs.forEach(input -> proto.string(1, input));
            nodeOutputs.forEach(output -> proto.string(2, output));
            proto.string(3, opType + "_" + nodes.size());
            proto.string(4, opType);
            if (!domain.isEmpty()) {
                proto.string(7, domain);
            }
        }

        Node ints(String attribute, long[] values) {
            ProtoMessage proto = attribute(attribute, 7);
            proto.packedVarints(8, values);
            return add(proto);
        }

        Node floats(String attribute, float[] values) {
            ProtoMessage proto = attribute(attribute, 6);
            proto.packedFloats(7, values);
            return add(proto);
        }

        Node strings(String attribute, List<String> values) {
            ProtoMessage proto = attribute(attribute, 8);
            values.forEach(value -> proto.string(9, value));
            return add(proto);
        }

        Node integer(String attribute, long value) {
            ProtoMessage proto = attribute(attribute, 2);
            proto.varint(3, value);
            return add(proto);
        }

        Node string(String attribute, String value) {
            ProtoMessage proto = attribute(attribute, 3);
            proto.string(4, value);
            return add(proto);
        }

        private static ProtoMessage attribute(String name, int type) {
            ProtoMessage proto = new ProtoMessage();
            proto.string(1, name);
            proto.varint(20, type);
            return proto;
        }

        private Node add(ProtoMessage attribute) {
            proto.bytes(5, attribute.toBytes());
            return this;
        }

        void done() {
            nodes.set(slot, proto.toBytes());
        }
    }
}
