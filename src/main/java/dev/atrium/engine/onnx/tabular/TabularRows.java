package dev.atrium.engine.onnx.tabular;

import java.util.List;

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

    /** Rows of several requests read for one schema, one after another: what a batch of them runs as. */
    public static TabularRows concat(List<TabularRows> parts) {
        FeatureSchema schema = parts.getFirst().schema;
        int rows = 0;
        for (TabularRows part : parts) {
            if (!part.schema.equals(schema)) {
                throw new IllegalArgumentException("rows read for another schema");
            }
            rows = Math.addExact(rows, part.rowCount);
        }
        double[] cells = new double[Math.multiplyExact(rows, schema.features().size())];
        int at = 0;
        for (TabularRows part : parts) {
            System.arraycopy(part.cells, 0, cells, at, part.cells.length);
            at += part.cells.length;
        }
        return new TabularRows(schema, rows, cells);
    }

    /** A cell as reduced: the number, the category's index, or 1 / 0. */
    public double cell(int row, int feature) {
        return cells[row * schema.features().size() + feature];
    }
}
