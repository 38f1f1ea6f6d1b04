package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A model input or output: name, element type and shape, where -1 marks a dynamic dimension.
 */
public record TensorSpec(String name, DataType datatype, List<Long> shape) {
    public TensorSpec {
        requireNonNull(name, "name is null");
        requireNonNull(datatype, "datatype is null");
        shape = List.copyOf(shape);
    }

    /** Whether the first dimension is dynamic, so that requests can be batched along it. */
    public boolean hasDynamicBatchDimension() {
        return !shape.isEmpty() && shape.getFirst() == -1;
    }
}
