package dev.atrium.engine.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.DataType;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.Tensor;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** Converts between Atrium's {@link Tensor} and ONNX Runtime's tensors and type names. */
final class OnnxTensors {
    private OnnxTensors() {}

    /**
     * The v2 datatype of an ONNX tensor type, if the ONNX Runtime Java binding can move it in and out.
     * It has no way to make UINT16, UINT32 or UINT64 tensors.
     */
    static Optional<DataType> dataType(TensorInfo.OnnxTensorType type) {
        return Optional.ofNullable(switch (type) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> DataType.BOOL;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> DataType.UINT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> DataType.INT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> DataType.INT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> DataType.INT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> DataType.INT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> DataType.FP16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> DataType.FP32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> DataType.FP64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> DataType.BYTES;
            default -> null;
        });
    }

    static OnnxTensor toOnnx(OrtEnvironment environment, Tensor tensor) throws OrtException {
        long[] shape = tensor.shape();
        Object data = tensor.data();
        return switch (tensor.datatype()) {
            case BOOL -> {
                boolean[] values = (boolean[]) data;
                ByteBuffer buffer = ByteBuffer.allocateDirect(values.length);
                for (boolean value : values) {
                    buffer.put((byte) (value ? 1 : 0));
                }
                yield OnnxTensor.createTensor(environment, buffer.flip(), shape, OnnxJavaType.BOOL);
            }
            case UINT8 -> OnnxTensor.createTensor(environment, direct((byte[]) data), shape, OnnxJavaType.UINT8);
            case INT8 -> OnnxTensor.createTensor(environment, direct((byte[]) data), shape, OnnxJavaType.INT8);
            case INT16 -> OnnxTensor.createTensor(environment, ShortBuffer.wrap((short[]) data), shape, OnnxJavaType.INT16);
            case FP16 -> OnnxTensor.createTensor(environment, ShortBuffer.wrap((short[]) data), shape, OnnxJavaType.FLOAT16);
            case INT32 -> OnnxTensor.createTensor(environment, IntBuffer.wrap((int[]) data), shape);
            case INT64 -> OnnxTensor.createTensor(environment, LongBuffer.wrap((long[]) data), shape);
            case FP32 -> OnnxTensor.createTensor(environment, FloatBuffer.wrap((float[]) data), shape);
            case FP64 -> OnnxTensor.createTensor(environment, DoubleBuffer.wrap((double[]) data), shape);
            case BYTES -> {
                byte[][] values = (byte[][]) data;
                String[] strings = new String[values.length];
                for (int i = 0; i < values.length; i++) {
                    strings[i] = new String(values[i], StandardCharsets.UTF_8);
                }
                yield OnnxTensor.createTensor(environment, strings, shape);
            }
            case UINT16, UINT32, UINT64 -> throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "inputs",
                    "datatype " + tensor.datatype() + " is not supported by the ONNX engine");
        };
    }

    private static ByteBuffer direct(byte[] values) {
        return ByteBuffer.allocateDirect(values.length).order(ByteOrder.nativeOrder()).put(values).flip();
    }

    /**
     * Bytes of an output as ONNX Runtime holds it, known from its shape before anything is copied (strings
     * counted as one byte each, a lower bound refined once they are copied).
     */
    static long bytes(OnnxTensor tensor) {
        TensorInfo info = tensor.getInfo();
        return dataType(info.onnxType).map(type -> OutputLimit.bytes(type, info.getShape())).orElse(0L);
    }

    static Tensor fromOnnx(String name, OnnxTensor tensor) throws OrtException {
        TensorInfo info = tensor.getInfo();
        DataType type = dataType(info.onnxType).orElseThrow(() -> new IllegalStateException(
                "output " + name + " has unsupported type " + info.onnxType));
        long[] shape = info.getShape();
        int count = Math.toIntExact(Tensor.elementCount(shape));
        Object data = switch (type) {
            case BOOL -> {
                ByteBuffer buffer = tensor.getByteBuffer();
                boolean[] values = new boolean[count];
                for (int i = 0; i < count; i++) {
                    values[i] = buffer.get(i) != 0;
                }
                yield values;
            }
            case UINT8, INT8 -> {
                byte[] values = new byte[count];
                tensor.getByteBuffer().get(values);
                yield values;
            }
            case INT16, FP16 -> {
                short[] values = new short[count];
                tensor.getShortBuffer().get(values);
                yield values;
            }
            case INT32 -> {
                int[] values = new int[count];
                tensor.getIntBuffer().get(values);
                yield values;
            }
            case INT64 -> {
                long[] values = new long[count];
                tensor.getLongBuffer().get(values);
                yield values;
            }
            case FP32 -> {
                float[] values = new float[count];
                tensor.getFloatBuffer().get(values);
                yield values;
            }
            case FP64 -> {
                double[] values = new double[count];
                tensor.getDoubleBuffer().get(values);
                yield values;
            }
            case BYTES -> {
                byte[][] values = new byte[count][];
                flattenStrings(tensor.getValue(), values, new int[1]);
                yield values;
            }
            case UINT16, UINT32, UINT64 -> throw new IllegalStateException("unreachable: " + type);
        };
        return new Tensor(name, type, shape, data);
    }

    private static void flattenStrings(Object value, byte[][] into, int[] position) {
        if (value instanceof String string) {
            into[position[0]++] = string.getBytes(StandardCharsets.UTF_8);
            return;
        }
        for (int i = 0; i < Array.getLength(value); i++) {
            flattenStrings(Array.get(value, i), into, position);
        }
    }
}
