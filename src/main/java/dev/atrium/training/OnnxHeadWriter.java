package dev.atrium.training;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes a {@link SoftmaxHead} as an ONNX model, {@code Softmax(Gemm(embedding, W, b), axis=1)}, encoding the
 * protobuf messages of onnx.proto by hand (field numbers from onnx.proto; opset 13, IR version 8), so that training
 * needs no protobuf library. The batch dimension is symbolic ({@code batch}).
 */
final class OnnxHeadWriter {
    static final String INPUT = "embedding";
    /** The input of a head over images. */
    static final String IMAGE_INPUT = "input";
    static final String OUTPUT = "probabilities";
    /** The metadata property that lists the labels, comma-separated, in output order. */
    static final String LABELS_PROPERTY = "labels";

    private static final int FLOAT = 1; // TensorProto.DataType.FLOAT
    private static final int ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT
    private static final int IR_VERSION = 8;
    private static final int OPSET = 13;

    private OnnxHeadWriter() {}

    static byte[] write(SoftmaxHead head) {
        return write(head, null);
    }

    /**
     * The head over images: its input {@code input} FP32 [batch, channels, height, width] flattened into the rows it
     * was trained on (channel, then row, then column), as an image classifier takes its preprocessed images.
     */
    static byte[] writeOverImages(SoftmaxHead head, int channels, int height, int width) {
        if ((long) channels * height * width != head.dimension()) {
            throw new IllegalArgumentException("an image of " + channels + "x" + height + "x" + width
                    + " is not the head's " + head.dimension() + " values");
        }
        return write(head, new int[] {channels, height, width});
    }

    private static byte[] write(SoftmaxHead head, int[] image) {
        int dimension = head.dimension();
        int classes = head.labels().size();

        Message graph = new Message();
        String input = INPUT;
        if (image != null) {
            input = IMAGE_INPUT;
            graph.message(1, node("Flatten", new String[] {IMAGE_INPUT}, INPUT, "flatten"));
        }
        graph
                .message(1, node("Gemm", new String[] {INPUT, "W", "b"}, "logits", "gemm"))
                .message(1, node("Softmax", new String[] {"logits"}, OUTPUT, "softmax")
                        .message(5, new Message().string(1, "axis").varint(3, 1).varint(20, ATTRIBUTE_INT)))
                .string(2, "softmax_head")
                .message(5, tensor("W", head.weights(), dimension, classes))
                .message(5, tensor("b", head.bias(), classes))
                .message(11, image == null ? valueInfo(INPUT, dimension) : imageInfo(image))
                .message(12, valueInfo(OUTPUT, classes));
        return new Message()
                .varint(1, IR_VERSION)
                .string(2, "atrium")
                .string(6, "softmax regression head over " + dimension + "-dimensional embeddings")
                .message(7, graph)
                .message(8, new Message().string(1, "").varint(2, OPSET))
                .message(14, new Message().string(1, LABELS_PROPERTY).string(2, String.join(",", head.labels())))
                .bytes();
    }

    private static Message node(String opType, String[] inputs, String output, String name) {
        Message node = new Message();
        for (String input : inputs) {
            node.string(1, input);
        }
        return node.string(2, output).string(3, name).string(4, opType);
    }

    private static Message tensor(String name, float[] values, long... dims) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        Message tensor = new Message();
        for (long dim : dims) {
            tensor.varint(1, dim);
        }
        return tensor.varint(2, FLOAT).string(8, name).bytes(9, raw.array());
    }

    /** The FP32 image input of shape [batch, channels, height, width]. */
    private static Message imageInfo(int[] image) {
        Message shape = new Message().message(1, new Message().string(2, "batch"));
        for (int dimension : image) {
            shape.message(1, new Message().varint(1, dimension));
        }
        Message tensorType = new Message().varint(1, FLOAT).message(2, shape);
        return new Message().string(1, IMAGE_INPUT).message(2, new Message().message(1, tensorType));
    }

    /** A FP32 tensor of shape [batch, width]. */
    private static Message valueInfo(String name, int width) {
        Message shape = new Message()
                .message(1, new Message().string(2, "batch"))
                .message(1, new Message().varint(1, width));
        Message tensorType = new Message().varint(1, FLOAT).message(2, shape);
        return new Message().string(1, name).message(2, new Message().message(1, tensorType));
    }

    /** A protobuf message being written: varint and length-delimited fields, in the order added. */
    private static final class Message {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Message varint(int field, long value) {
            writeVarint((long) field << 3);
            writeVarint(value);
            return this;
        }

        Message string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Message message(int field, Message message) {
            return bytes(field, message.bytes());
        }

        Message bytes(int field, byte[] bytes) {
            writeVarint(((long) field << 3) | 2);
            writeVarint(bytes.length);
            out.writeBytes(bytes);
            return this;
        }

        private void writeVarint(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
