package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A training table as read from CSV: its feature columns (type, categories, missing cells), its target, and one
 * number per cell. Split it into training and validation rows with {@link #split}. Immutable.
 */
public final class TabularDataset {
    /**
     * One column as read.
     *
     * @param categories a categorical column's categories (a classification target's labels) in one-hot order:
     *     numeric order where every one is a number, text order otherwise; empty for other types
     * @param missingCount empty cells
     */
    public record Column(String name, FeatureType type, List<String> categories, int missingCount) {
        public Column {
            requireNonNull(name, "name is null");
            requireNonNull(type, "type is null");
            categories = List.copyOf(requireNonNull(categories, "categories is null"));
            if (missingCount < 0) {
                throw new IllegalArgumentException("missingCount is negative");
            }
        }
    }

    private final Task task;
    private final List<Column> features;
    private final Column target;
    /** Per feature, one value a row: the number, the category's index or 1 / 0; NaN where missing. */
    private final List<double[]> values;
    /** One value a row: the number, or the class index. */
    private final double[] targets;
    private final int rowCount;

    TabularDataset(Task task, List<Column> features, Column target, List<double[]> values, double[] targets,
            int rowCount) {
        this.task = requireNonNull(task, "task is null");
        this.features = List.copyOf(features);
        this.target = requireNonNull(target, "target is null");
        this.values = List.copyOf(values);
        this.targets = requireNonNull(targets, "targets is null");
        this.rowCount = rowCount;
        if (this.values.size() != this.features.size() || targets.length != rowCount) {
            throw new IllegalArgumentException("values do not fit " + features.size() + " features of " + rowCount + " rows");
        }
    }

    public Task task() {
        return task;
    }

    /** Feature columns in file order. */
    public List<Column> features() {
        return features;
    }

    public Column target() {
        return target;
    }

    /** A classification's class labels, in the order of the model's probabilities; empty for a regression. */
    public List<String> labels() {
        return target.categories();
    }

    public int rowCount() {
        return rowCount;
    }

    /**
     * Splits the rows at random, the same way for the same seed: {@code validationFraction} of them (of each class,
     * for a classification) for validation, the rest for training. Missing cells take the training rows' mean
     * (numeric) or most frequent value (categorical, boolean), which the model's config also gives the server.
     *
     * @param validationFraction in (0, 1)
     * @throws AtriumException {@code INVALID_REQUEST} when either part would be empty
     */
    public TabularSplit split(double validationFraction, long seed) {
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw AtriumException.invalidParam("validation_fraction", "the validation fraction must be between 0 and 1,"
                    + " not " + validationFraction);
        }
        boolean[] validation = new boolean[rowCount];
        SplittableRandom random = new SplittableRandom(seed);
        if (task == Task.CLASSIFICATION) {
            // stratified: each class keeps its share in both parts
            for (int label = 0; label < labels().size(); label++) {
                List<Integer> rows = new ArrayList<>();
                for (int row = 0; row < rowCount; row++) {
                    if (targets[row] == label) {
                        rows.add(row);
                    }
                }
                pick(rows, validationFraction, random, validation);
            }
        } else {
            List<Integer> rows = new ArrayList<>(rowCount);
            for (int row = 0; row < rowCount; row++) {
                rows.add(row);
            }
            pick(rows, validationFraction, random, validation);
        }
        int validationRows = 0;
        for (boolean picked : validation) {
            validationRows += picked ? 1 : 0;
        }
        if (validationRows == 0 || validationRows == rowCount) {
            throw AtriumException.invalidParam(TabularCsvReader.PARAM, "the file's " + rowCount + " rows are too few"
                    + " to split " + validationFraction + " of them for validation; add rows");
        }
        int[] trainIndices = new int[rowCount - validationRows];
        int[] validationIndices = new int[validationRows];
        for (int row = 0, t = 0, v = 0; row < rowCount; row++) {
            if (validation[row]) {
                validationIndices[v++] = row;
            } else {
                trainIndices[t++] = row;
            }
        }
        TabularEncoding encoding = TabularEncoding.fit(this, trainIndices);
        return new TabularSplit(encoding, encoding.encode(this, trainIndices), encoding.encode(this, validationIndices));
    }

    /**
     * Splits the rows where a validation file's begin: the first {@code trainingRows} for training, the rest (the
     * validation file's, read after them) for validation; missing cells as {@link #split} fills them.
     *
     * @throws AtriumException {@code INVALID_REQUEST} on {@code validation_file} when either part is empty
     */
    public TabularSplit splitAt(int trainingRows) {
        if (trainingRows < 1 || trainingRows >= rowCount) {
            throw AtriumException.invalidParam("validation_file", "the training and validation files need a row each");
        }
        int[] trainIndices = java.util.stream.IntStream.range(0, trainingRows).toArray();
        int[] validationIndices = java.util.stream.IntStream.range(trainingRows, rowCount).toArray();
        TabularEncoding encoding = TabularEncoding.fit(this, trainIndices);
        return new TabularSplit(encoding, encoding.encode(this, trainIndices),
                encoding.encode(this, validationIndices));
    }

    /** Marks a random {@code fraction} of {@code rows} (partial Fisher-Yates shuffle). */
    private static void pick(List<Integer> rows, double fraction, SplittableRandom random, boolean[] validation) {
        int count = (int) Math.round(rows.size() * fraction);
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(rows.size() - i);
            Integer swap = rows.get(i);
            rows.set(i, rows.get(j));
            rows.set(j, swap);
            validation[rows.get(i)] = true;
        }
    }

    /** The cell of a feature, as read: NaN where missing. */
    double value(int row, int feature) {
        return values.get(feature)[row];
    }

    double targetValue(int row) {
        return targets[row];
    }
}
