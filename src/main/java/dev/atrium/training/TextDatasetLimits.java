package dev.atrium.training;

/**
 * Bounds on a text classification dataset, so that reading one costs work and memory in proportion to them.
 *
 * @param maxExamples the most examples (data lines or records) a dataset may hold
 * @param maxLineBytes the longest line of a JSONL file, or record of a CSV file, in UTF-8 bytes
 * @param maxLabels the most distinct labels
 * @param minExamplesPerLabel the fewest examples each label needs (at least 2, so that a stratified split can put
 *     one in each part)
 * @param maxLabelLength the longest label, in characters
 */
record TextDatasetLimits(int maxExamples, int maxLineBytes, int maxLabels, int minExamplesPerLabel, int maxLabelLength) {
    /** 100,000 examples, 64 KiB lines, 1,000 labels of at most 128 characters, each with 5 examples or more. */
    static final TextDatasetLimits DEFAULTS = new TextDatasetLimits(100_000, 64 * 1024, 1_000, 5, 128);

    TextDatasetLimits {
        if (maxExamples < 1) {
            throw new IllegalArgumentException("maxExamples must be positive, not " + maxExamples);
        }
        if (maxLineBytes < 16) {
            throw new IllegalArgumentException("maxLineBytes must be at least 16, not " + maxLineBytes);
        }
        if (maxLabels < 2) {
            throw new IllegalArgumentException("maxLabels must be at least 2, not " + maxLabels);
        }
        if (minExamplesPerLabel < 2) {
            throw new IllegalArgumentException("minExamplesPerLabel must be at least 2, not " + minExamplesPerLabel);
        }
        if (maxLabelLength < 1) {
            throw new IllegalArgumentException("maxLabelLength must be positive, not " + maxLabelLength);
        }
    }

    TextDatasetLimits withMinExamplesPerLabel(int examples) {
        return new TextDatasetLimits(maxExamples, maxLineBytes, maxLabels, examples, maxLabelLength);
    }
}
