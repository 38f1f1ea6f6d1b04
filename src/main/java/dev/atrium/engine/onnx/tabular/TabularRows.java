package dev.atrium.engine.onnx.tabular;

import static java.util.Objects.requireNonNull;

/**
 * Request rows in a schema's feature order, each cell already checked and reduced to one number: a numeric
 * value, a category's index, or 1 / 0 for a boolean (missing cells hold their feature's default). Immutable once
 * made by {@link MlflowInput}.
 */
public final class TabularRows {
    private final FeatureSchema schema;
    private final int rowCount;
    /** Row-major, {@code rowCount × features}. */
    private final double[] cells;

    TabularRows(FeatureSchema schema, int rowCount, double[] cells) {
        this.schema = requireNonNull(schema, "schema is null");
        this.rowCount = rowCount;
        this.cells = requireNonNull(cells, "cells is null");
        if (cells.length != (long) rowCount * schema.features().size()) {
            throw new IllegalArgumentException("cells do not fill " + rowCount + " rows");
        }
    }

    public FeatureSchema schema() {
        return schema;
    }

    public int rowCount() {
        return rowCount;
    }

    /** A cell as reduced: the number, the category's index, or 1 / 0. */
    public double cell(int row, int feature) {
        return cells[row * schema.features().size() + feature];
    }
}
