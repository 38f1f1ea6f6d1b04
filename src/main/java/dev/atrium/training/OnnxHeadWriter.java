package dev.atrium.training;

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

        ProtoMessage graph = new ProtoMessage();
        String input = INPUT;
        if (image != null) {
            input = IMAGE_INPUT;
            graph.message(1, node("Flatten", new String[] {IMAGE_INPUT}, INPUT, "flatten"));
        }
        graph
                .message(1, node("Gemm", new String[] {INPUT, "W", "b"}, "logits", "gemm"))
                .message(1, node("Softmax", new String[] {"logits"}, OUTPUT, "softmax")
                        .message(5, new ProtoMessage().string(1, "axis").varint(3, 1).varint(20, ATTRIBUTE_INT)))
                .string(2, "softmax_head")
                .message(5, tensor("W", head.weights(), dimension, classes))
                .message(5, tensor("b", head.bias(), classes))
                .message(11, image == null ? valueInfo(INPUT, dimension) : imageInfo(image))
                .message(12, valueInfo(OUTPUT, classes));
        return new ProtoMessage()
                .varint(1, IR_VERSION)
                .string(2, "atrium")
                .string(6, "softmax regression head over " + dimension + "-dimensional embeddings")
                .message(7, graph)
                .message(8, new ProtoMessage().string(1, "").varint(2, OPSET))
                .message(14, new ProtoMessage().string(1, LABELS_PROPERTY).string(2, String.join(",", head.labels())))
                .toBytes();
    }

    private static ProtoMessage node(String opType, String[] inputs, String output, String name) {
        ProtoMessage node = new ProtoMessage();
        for (String input : inputs) {
            node.string(1, input);
        }
        return node.string(2, output).string(3, name).string(4, opType);
    }

    private static ProtoMessage tensor(String name, float[] values, long... dims) {
        ProtoMessage tensor = new ProtoMessage();
        for (long dim : dims) {
            tensor.varint(1, dim);
        }
        return tensor.varint(2, FLOAT).string(8, name).bytes(9, ProtoMessage.littleEndian(values));
    }

    /** The FP32 image input of shape [batch, channels, height, width]. */
    private static ProtoMessage imageInfo(int[] image) {
        ProtoMessage shape = new ProtoMessage().message(1, new ProtoMessage().string(2, "batch"));
        for (int dimension : image) {
            shape.message(1, new ProtoMessage().varint(1, dimension));
        }
        ProtoMessage tensorType = new ProtoMessage().varint(1, FLOAT).message(2, shape);
        return new ProtoMessage().string(1, IMAGE_INPUT).message(2, new ProtoMessage().message(1, tensorType));
    }

    /** A FP32 tensor of shape [batch, width]. */
    private static ProtoMessage valueInfo(String name, int width) {
        ProtoMessage shape = new ProtoMessage()
                .message(1, new ProtoMessage().string(2, "batch"))
                .message(1, new ProtoMessage().varint(1, width));
        ProtoMessage tensorType = new ProtoMessage().varint(1, FLOAT).message(2, shape);
        return new ProtoMessage().string(1, name).message(2, new ProtoMessage().message(1, tensorType));
    }
}
