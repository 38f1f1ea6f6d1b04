package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

/**
 * Rows as a model takes them: a row-major [rows, width] float matrix, one-hot categoricals and missing cells
 * filled, and one target a row (the value, or the class index). The arrays are shared, not copied: nobody
 * writes them after construction.
 */
public final class EncodedRows {
    private final int rowCount;
    private final int width;
    private final float[] features;
    private final float[] targets;

    EncodedRows(int rowCount, int width, float[] features, float[] targets) {
        this.rowCount = rowCount;
        this.width = width;
        this.features = requireNonNull(features, "features is null");
        this.targets = requireNonNull(targets, "targets is null");
        if (rowCount < 0 || width < 1 || features.length != (long) rowCount * width || targets.length != rowCount) {
            throw new IllegalArgumentException("arrays do not fit " + rowCount + " rows of width " + width);
        }
    }

    public int rowCount() {
        return rowCount;
    }

    public int width() {
        return width;
    }

    public float feature(int row, int column) {
        return features[row * width + column];
    }

    public float target(int row) {
        return targets[row];
    }

    /** The matrix itself, row-major; not to be modified. */
    float[] features() {
        return features;
    }

    /** The targets themselves; not to be modified. */
    float[] targets() {
        return targets;
    }
}
