package dev.atrium.training.tabular;

/** The kinds of tabular model this package trains, which AutoML compares. */
public enum ModelFamily {
    GRADIENT_BOOSTED_TREES, LINEAR
}
