package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

/**
 * A dataset split for training: how its columns become model input, and the encoded training and validation rows.
 */
public record TabularSplit(TabularEncoding encoding, EncodedRows train, EncodedRows validation) {
    public TabularSplit {
        requireNonNull(encoding, "encoding is null");
        requireNonNull(train, "train is null");
        requireNonNull(validation, "validation is null");
        if (train.width() != encoding.width() || validation.width() != encoding.width()) {
            throw new IllegalArgumentException("rows of width " + train.width() + " and " + validation.width()
                    + " do not fit an encoding of width " + encoding.width());
        }
    }
}
