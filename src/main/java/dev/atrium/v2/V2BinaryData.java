package dev.atrium.v2;

import dev.atrium.AtriumException;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The Open Inference Protocol's binary tensor data extension (Triton's and KServe's): tensor data as raw bytes after
 * the JSON object of a request or response, little-endian, row-major, with no padding; {@code BOOL} one byte per
 * element, {@code BYTES} each element a 4-byte length and its bytes. A tensor's {@code binary_data_size} parameter says
 * how many of the bytes are its own, in the order of the tensors. Sizes are checked against the bytes received: a
 * shape or size that claims more than came is refused before anything is allocated.
 */
final class V2BinaryData {
    private V2BinaryData() {}

    /** How many bytes one element of a fixed-size type takes; 0 for BYTES. */
    static int elementBytes(DataType type) {
        return switch (type) {
            case BOOL, UINT8, INT8 -> 1;
            case UINT16, INT16, FP16 -> 2;
            case UINT32, INT32, FP32 -> 4;
            case UINT64, INT64, FP64 -> 8;
            case BYTES -> 0;
        };
    }

    /** A tensor's data read from its share of the binary part. */
    static Object read(ByteBuffer bytes, DataType type, long count, String name) {
        ByteBuffer data = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) count;
        if (type != DataType.BYTES && (long) elementBytes(type) * count != data.remaining()) {
            throw invalid("input tensor '" + name + "' has " + data.remaining() + " bytes of binary data, but its shape"
                    + " needs " + (long) elementBytes(type) * count);
        }
        return switch (type) {
            case BOOL -> {
                boolean[] values = new boolean[n];
                for (int i = 0; i < n; i++) {
                    byte b = data.get(i);
                    if (b != 0 && b != 1) {
                        throw invalid("input tensor '" + name + "' has a BOOL byte that is neither 0 nor 1");
                    }
                    values[i] = b == 1;
                }
                yield values;
            }
            case UINT8, INT8 -> {
                byte[] values = new byte[n];
                data.get(values);
                yield values;
            }
            case UINT16, INT16, FP16 -> {
                short[] values = new short[n];
                data.asShortBuffer().get(values);
                yield values;
            }
            case UINT32, INT32 -> {
                int[] values = new int[n];
                data.asIntBuffer().get(values);
                yield values;
            }
            case FP32 -> {
                float[] values = new float[n];
                data.asFloatBuffer().get(values);
                yield values;
            }
            case UINT64, INT64 -> {
                long[] values = new long[n];
                data.asLongBuffer().get(values);
                yield values;
            }
            case FP64 -> {
                double[] values = new double[n];
                data.asDoubleBuffer().get(values);
                yield values;
            }
            case BYTES -> {
                List<byte[]> values = new ArrayList<>();
                while (data.hasRemaining()) {
                    if (data.remaining() < 4) {
                        throw invalid("input tensor '" + name + "' has a BYTES element cut off in its length");
                    }
                    long length = Integer.toUnsignedLong(data.getInt());
                    if (length > data.remaining()) {
                        throw invalid("input tensor '" + name + "' has a BYTES element of " + length + " bytes, more"
                                + " than its binary data holds");
                    }
                    byte[] element = new byte[(int) length];
                    data.get(element);
                    values.add(element);
                    if (values.size() > count) {
                        break;
                    }
                }
                if (values.size() != count) {
                    throw invalid("input tensor '" + name + "' has " + values.size() + " BYTES elements in its binary"
                            + " data, but its shape needs " + count);
                }
                yield values.toArray(byte[][]::new);
            }
        };
    }

    /** A tensor's data as the binary part carries it. */
    static byte[] write(Tensor tensor) {
        Object data = tensor.data();
        if (tensor.datatype() == DataType.BYTES) {
            byte[][] elements = (byte[][]) data;
            long size = 0;
            for (byte[] element : elements) {
                size += 4L + element.length;
            }
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
            for (byte[] element : elements) {
                out.putInt(element.length).put(element);
            }
            return out.array();
        }
        int count = java.lang.reflect.Array.getLength(data);
        ByteBuffer out = ByteBuffer.allocate(Math.multiplyExact(count, elementBytes(tensor.datatype())))
                .order(ByteOrder.LITTLE_ENDIAN);
        switch (data) {
            case boolean[] values -> {
                for (boolean value : values) {
                    out.put((byte) (value ? 1 : 0));
                }
            }
            case byte[] values -> out.put(values);
            case short[] values -> out.asShortBuffer().put(values);
            case int[] values -> out.asIntBuffer().put(values);
            case float[] values -> out.asFloatBuffer().put(values);
            case long[] values -> out.asLongBuffer().put(values);
            case double[] values -> out.asDoubleBuffer().put(values);
            default -> throw new IllegalStateException("no binary form for " + data.getClass());
        }
        return out.array();
    }

    private static AtriumException invalid(String message) {
        return AtriumException.invalidParam("inputs", message);
    }
}
