package dev.atrium.v2;

import dev.atrium.AtriumException;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Tensor;
import dev.atrium.server.Json;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;

/**
 * Open Inference Protocol JSON tensors: {@code {"name","shape","datatype","data"}} with {@code data} flat or
 * nested (row-major), parsed into {@link Tensor}s and written back flat. Every check names the tensor.
 */
final class V2TensorCodec {
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    private static final long MAX_ELEMENTS = 1L << 28;
    /** The fields of an infer request's input tensor, as the protocol defines them. */
    static final List<String> TENSOR_FIELDS = List.of("name", "shape", "datatype", "parameters", "data");

    private V2TensorCodec() {}

    static Tensor parse(JsonNode node, int index) {
        return parse(node, index, java.nio.ByteBuffer.allocate(0));
    }

    /**
     * A request's input tensor; one whose {@code parameters} give a {@code binary_data_size} takes that many bytes
     * from the binary part of the request (the extension's), where {@code binary} stands, and moves it on.
     */
    static Tensor parse(JsonNode node, int index, java.nio.ByteBuffer binary) {
        if (node == null || !node.isObject()) {
            throw invalid("inputs[" + index + "] must be an object with name, shape, datatype and data");
        }
        JsonNode nameNode = node.get("name");
        if (nameNode == null || !nameNode.isString() || nameNode.stringValue().isEmpty()) {
            throw invalid("inputs[" + index + "] needs a 'name' string");
        }
        String name = nameNode.stringValue();
        Json.unknownField(node, TENSOR_FIELDS).ifPresent(field -> {
            throw invalid("input tensor '" + name + "' has unknown field '" + field + "'; the fields are "
                    + String.join(", ", TENSOR_FIELDS));
        });
        DataType type = parseDatatype(node.get("datatype"), name);
        long[] shape = parseShape(node.get("shape"), name);
        long count = Tensor.elementCount(shape);
        if (count > MAX_ELEMENTS) {
            throw invalid("input tensor '" + name + "' has more than " + MAX_ELEMENTS + " elements");
        }
        JsonNode data = node.get("data");
        JsonNode parameters = node.get("parameters");
        JsonNode binarySize = parameters == null || !parameters.isObject() ? null : parameters.get("binary_data_size");
        if (binarySize != null && !binarySize.isNull()) {
            if (data != null && !data.isNull()) {
                throw invalid("input tensor '" + name + "' has both 'data' and binary_data_size; send one");
            }
            if (!binarySize.isIntegralNumber() || !binarySize.canConvertToLong() || binarySize.longValue() < 0
                    || binarySize.longValue() > binary.remaining()) {
                throw invalid("input tensor '" + name + "' has binary_data_size " + binarySize + ", but "
                        + binary.remaining() + " bytes of binary data are left in the request");
            }
            int size = (int) binarySize.longValue();
            java.nio.ByteBuffer own = binary.slice(binary.position(), size);
            binary.position(binary.position() + size);
            return new Tensor(name, type, shape, V2BinaryData.read(own, type, count, name));
        }
        if (data == null || data.isNull()) {
            throw invalid("input tensor '" + name + "' has no 'data'");
        }
        // sized by the data received, never by the shape declared: a shape is a claim, the data is what came
        List<JsonNode> elements = new ArrayList<>();
        flatten(data, shape, 0, elements, name);
        if (elements.size() != count) {
            throw invalid("input tensor '" + name + "' has " + elements.size() + " elements in 'data', but its"
                    + " shape " + java.util.Arrays.toString(shape) + " needs " + count);
        }
        return new Tensor(name, type, shape, convert(elements, type, name));
    }

    private static DataType parseDatatype(JsonNode node, String name) {
        if (node == null || !node.isString()) {
            throw invalid("input tensor '" + name + "' needs a 'datatype' string");
        }
        return DataType.fromWireName(node.stringValue()).orElseThrow(() -> invalid("input tensor '" + name
                + "' has unknown datatype '" + node.stringValue() + "'"));
    }

    private static long[] parseShape(JsonNode node, String name) {
        if (node == null || !node.isArray()) {
            throw invalid("input tensor '" + name + "' needs a 'shape' array of non-negative integers");
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dimension = node.get(i);
            if (!dimension.isIntegralNumber() || !dimension.canConvertToLong() || dimension.longValue() < 0) {
                throw invalid("input tensor '" + name + "' has an invalid shape: dimensions are non-negative integers");
            }
            shape[i] = dimension.longValue();
        }
        try {
            Tensor.elementCount(shape);
        } catch (ArithmeticException e) {
            throw invalid("input tensor '" + name + "' has a shape too large to hold");
        }
        return shape;
    }

    /** Collects the leaves row-major; a nested array must match the shape level by level. */
    private static void flatten(JsonNode node, long[] shape, int depth, List<JsonNode> into, String name) {
        if (!node.isArray()) {
            if (depth == 0 && shape.length == 0) {
                into.add(node);
                return;
            }
            throw invalid("input tensor '" + name + "' must have 'data' as an array");
        }
        boolean nested = node.size() > 0 && node.get(0).isArray();
        if (!nested) {
            if (depth > 0 && (depth >= shape.length || node.size() != shape[depth])) {
                throw invalid("input tensor '" + name + "' has nested 'data' that does not match its shape "
                        + java.util.Arrays.toString(shape));
            }
            for (JsonNode element : node) {
                if (element.isArray() || element.isObject()) {
                    throw invalid("input tensor '" + name + "' mixes arrays and values in 'data'");
                }
                into.add(element);
            }
            return;
        }
        if (depth >= shape.length || node.size() != shape[depth]) {
            throw invalid("input tensor '" + name + "' has nested 'data' that does not match its shape "
                    + java.util.Arrays.toString(shape));
        }
        for (JsonNode element : node) {
            if (!element.isArray()) {
                throw invalid("input tensor '" + name + "' mixes arrays and values in 'data'");
            }
            flatten(element, shape, depth + 1, into, name);
        }
    }

    private static Object convert(List<JsonNode> elements, DataType type, String name) {
        int n = elements.size();
        switch (type) {
            case BOOL -> {
                boolean[] values = new boolean[n];
                for (int i = 0; i < n; i++) {
                    JsonNode element = elements.get(i);
                    if (!element.isBoolean()) {
                        throw wrongElement(name, type, "true or false");
                    }
                    values[i] = element.booleanValue();
                }
                return values;
            }
            case UINT8, INT8 -> {
                byte[] values = new byte[n];
                for (int i = 0; i < n; i++) {
                    values[i] = (byte) integer(elements.get(i), type, name);
                }
                return values;
            }
            case UINT16, INT16 -> {
                short[] values = new short[n];
                for (int i = 0; i < n; i++) {
                    values[i] = (short) integer(elements.get(i), type, name);
                }
                return values;
            }
            case UINT32, INT32 -> {
                int[] values = new int[n];
                for (int i = 0; i < n; i++) {
                    values[i] = (int) integer(elements.get(i), type, name);
                }
                return values;
            }
            case UINT64, INT64 -> {
                long[] values = new long[n];
                for (int i = 0; i < n; i++) {
                    values[i] = integer(elements.get(i), type, name);
                }
                return values;
            }
            case FP16 -> {
                short[] values = new short[n];
                for (int i = 0; i < n; i++) {
                    values[i] = Float.floatToFloat16((float) number(elements.get(i), type, name));
                    if (Float.isInfinite(Float.float16ToFloat(values[i]))) {
                        throw outOfRange(name, type);
                    }
                }
                return values;
            }
            case FP32 -> {
                float[] values = new float[n];
                for (int i = 0; i < n; i++) {
                    values[i] = (float) number(elements.get(i), type, name);
                    if (Float.isInfinite(values[i])) {
                        throw outOfRange(name, type);
                    }
                }
                return values;
            }
            case FP64 -> {
                double[] values = new double[n];
                for (int i = 0; i < n; i++) {
                    values[i] = number(elements.get(i), type, name);
                }
                return values;
            }
            case BYTES -> {
                byte[][] values = new byte[n][];
                for (int i = 0; i < n; i++) {
                    JsonNode element = elements.get(i);
                    if (!element.isString()) {
                        throw wrongElement(name, type, "strings");
                    }
                    values[i] = element.stringValue().getBytes(StandardCharsets.UTF_8);
                }
                return values;
            }
        }
        throw new IllegalStateException("unreachable: " + type);
    }

    /** An integer in the type's range; unsigned 64-bit values keep their bits in a long. */
    private static long integer(JsonNode element, DataType type, String name) {
        if (!element.isIntegralNumber()) {
            throw wrongElement(name, type, "integers");
        }
        BigInteger value = element.bigIntegerValue();
        BigInteger min;
        BigInteger max;
        switch (type) {
            case UINT8 -> { min = BigInteger.ZERO; max = BigInteger.valueOf(255); }
            case UINT16 -> { min = BigInteger.ZERO; max = BigInteger.valueOf(65535); }
            case UINT32 -> { min = BigInteger.ZERO; max = BigInteger.valueOf(4294967295L); }
            case UINT64 -> { min = BigInteger.ZERO; max = UINT64_MAX; }
            case INT8 -> { min = BigInteger.valueOf(Byte.MIN_VALUE); max = BigInteger.valueOf(Byte.MAX_VALUE); }
            case INT16 -> { min = BigInteger.valueOf(Short.MIN_VALUE); max = BigInteger.valueOf(Short.MAX_VALUE); }
            case INT32 -> { min = BigInteger.valueOf(Integer.MIN_VALUE); max = BigInteger.valueOf(Integer.MAX_VALUE); }
            case INT64 -> { min = BigInteger.valueOf(Long.MIN_VALUE); max = BigInteger.valueOf(Long.MAX_VALUE); }
            default -> throw new IllegalStateException("not an integer type: " + type);
        }
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw invalid("input tensor '" + name + "' has " + value + ", outside the range of " + type
                    + " (" + min + " to " + max + ")");
        }
        return value.longValue();
    }

    private static double number(JsonNode element, DataType type, String name) {
        if (!element.isNumber()) {
            throw wrongElement(name, type, "numbers");
        }
        // an integer of hundreds of digits, or 1e400, is a number that no double holds: refused, not made
        // infinite (which the protocol's JSON cannot write back)
        double value = element.doubleValueOpt().orElse(Double.POSITIVE_INFINITY);
        if (!Double.isFinite(value)) {
            throw outOfRange(name, type);
        }
        return value;
    }

    private static AtriumException outOfRange(String name, DataType type) {
        return invalid("input tensor '" + name + "' has a number outside the range of " + type);
    }

    private static AtriumException wrongElement(String name, DataType type, String expected) {
        return invalid("input tensor '" + name + "' is " + type + ", so its 'data' must hold " + expected);
    }

    private static AtriumException invalid(String message) {
        return AtriumException.invalidParam("inputs", message);
    }

    /**
     * Writes a tensor whose data goes in the binary part of the answer: {@code {"name","datatype","shape",
     * "parameters": {"binary_data_size"}}}.
     */
    static void writeBinary(JsonGenerator json, Tensor tensor, int size) {
        json.writeStartObject();
        json.writeStringProperty("name", tensor.name());
        json.writeStringProperty("datatype", tensor.datatype().name());
        json.writeName("shape");
        json.writeArray(tensor.shape(), 0, tensor.shape().length);
        json.writeObjectPropertyStart("parameters");
        json.writeNumberProperty("binary_data_size", size);
        json.writeEndObject();
        json.writeEndObject();
    }

    /** Writes a tensor as {@code {"name","datatype","shape","data"}} with flat data. */
    static void write(JsonGenerator json, Tensor tensor) {
        json.writeStartObject();
        json.writeStringProperty("name", tensor.name());
        json.writeStringProperty("datatype", tensor.datatype().name());
        json.writeName("shape");
        json.writeArray(tensor.shape(), 0, tensor.shape().length);
        json.writeName("data");
        Object data = tensor.data();
        switch (tensor.datatype()) {
            case BOOL -> {
                json.writeStartArray();
                for (boolean value : (boolean[]) data) {
                    json.writeBoolean(value);
                }
                json.writeEndArray();
            }
            case UINT8 -> {
                json.writeStartArray();
                for (byte value : (byte[]) data) {
                    json.writeNumber(Byte.toUnsignedInt(value));
                }
                json.writeEndArray();
            }
            case INT8 -> {
                json.writeStartArray();
                for (byte value : (byte[]) data) {
                    json.writeNumber(value);
                }
                json.writeEndArray();
            }
            case UINT16 -> {
                json.writeStartArray();
                for (short value : (short[]) data) {
                    json.writeNumber(Short.toUnsignedInt(value));
                }
                json.writeEndArray();
            }
            case INT16 -> {
                json.writeStartArray();
                for (short value : (short[]) data) {
                    json.writeNumber(value);
                }
                json.writeEndArray();
            }
            case UINT32 -> {
                json.writeStartArray();
                for (int value : (int[]) data) {
                    json.writeNumber(Integer.toUnsignedLong(value));
                }
                json.writeEndArray();
            }
            case INT32 -> {
                int[] values = (int[]) data;
                json.writeArray(values, 0, values.length);
            }
            case UINT64 -> {
                json.writeStartArray();
                for (long value : (long[]) data) {
                    if (value >= 0) {
                        json.writeNumber(value);
                    } else {
                        json.writeNumber(new BigInteger(Long.toUnsignedString(value)));
                    }
                }
                json.writeEndArray();
            }
            case INT64 -> {
                long[] values = (long[]) data;
                json.writeArray(values, 0, values.length);
            }
            case FP16 -> {
                json.writeStartArray();
                for (short value : (short[]) data) {
                    json.writeNumber(Float.float16ToFloat(value));
                }
                json.writeEndArray();
            }
            case FP32 -> {
                json.writeStartArray();
                for (float value : (float[]) data) {
                    json.writeNumber(value);
                }
                json.writeEndArray();
            }
            case FP64 -> {
                double[] values = (double[]) data;
                json.writeArray(values, 0, values.length);
            }
            case BYTES -> {
                json.writeStartArray();
                for (byte[] value : (byte[][]) data) {
                    json.writeString(new String(value, StandardCharsets.UTF_8));
                }
                json.writeEndArray();
            }
        }
        json.writeEndObject();
    }
}
