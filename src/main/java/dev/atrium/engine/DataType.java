package dev.atrium.engine;

import java.util.Arrays;
import java.util.Optional;

/**
 * Tensor element types, named as the Open Inference Protocol names them. Each maps to the Java array that
 * holds its elements in a {@link Tensor}: unsigned types use the signed array of the same width, FP16 holds
 * IEEE half-precision bits in a {@code short[]}, BYTES holds one {@code byte[]} per element.
 */
public enum DataType {
    BOOL(boolean[].class),
    UINT8(byte[].class),
    UINT16(short[].class),
    UINT32(int[].class),
    UINT64(long[].class),
    INT8(byte[].class),
    INT16(short[].class),
    INT32(int[].class),
    INT64(long[].class),
    FP16(short[].class),
    FP32(float[].class),
    FP64(double[].class),
    BYTES(byte[][].class);

    private final Class<?> arrayType;

    DataType(Class<?> arrayType) {
        this.arrayType = arrayType;
    }

    /** The Java array type that holds this type's elements. */
    public Class<?> arrayType() {
        return arrayType;
    }

    public static Optional<DataType> fromWireName(String name) {
        return Arrays.stream(values()).filter(type -> type.name().equals(name)).findFirst();
    }
}
