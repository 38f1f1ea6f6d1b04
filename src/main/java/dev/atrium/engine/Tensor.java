package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.lang.reflect.Array;
import java.util.Arrays;

/**
 * A named tensor: element type, shape and elements in row-major order, held in the Java array that
 * {@link DataType#arrayType()} names.
 */
public record Tensor(String name, DataType datatype, long[] shape, Object data) {
    public Tensor {
        requireNonNull(name, "name is null");
        requireNonNull(datatype, "datatype is null");
        shape = shape.clone();
        requireNonNull(data, "data is null");
        if (!datatype.arrayType().isInstance(data)) {
            throw new IllegalArgumentException("data of " + datatype + " tensor is " + data.getClass().getSimpleName());
        }
        long count = elementCount(shape);
        if (Array.getLength(data) != count) {
            throw new IllegalArgumentException("tensor " + name + " has " + Array.getLength(data)
                    + " elements for shape " + Arrays.toString(shape));
        }
    }

    public int size() {
        return Array.getLength(data);
    }

    /** The product of the dimensions; -1 if one is negative. */
    public static long elementCount(long[] shape) {
        long count = 1;
        for (long dimension : shape) {
            if (dimension < 0) {
                return -1;
            }
            count = Math.multiplyExact(count, dimension);
        }
        return count;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Tensor that
                && name.equals(that.name)
                && datatype == that.datatype
                && Arrays.equals(shape, that.shape)
                && Arrays.deepEquals(new Object[] {data}, new Object[] {that.data});
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "Tensor[" + name + ", " + datatype + ", " + Arrays.toString(shape) + "]";
    }
}
