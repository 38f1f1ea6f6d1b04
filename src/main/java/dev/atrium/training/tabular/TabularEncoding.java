package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.onnx.tabular.FeatureSchema;
import dev.atrium.engine.onnx.tabular.FeatureSchema.CategoricalEncoding;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Feature;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Outputs;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * How a dataset's columns become the single [N, F] float input of a trained model, in the form the ONNX engine
 * serves ({@link FeatureSchema}): features in file order, a categorical one-hot over its categories, a boolean 1 / 0,
 * and a missing cell taking the value fitted on the training rows. {@link #config} is the version config that goes
 * beside the ONNX model. Immutable.
 */
public final class TabularEncoding {
    /** The names the ONNX writers of this package give the model's input and outputs. */
    static final String INPUT = "input";
    static final String PREDICTION = "variable";
    static final String LABEL = "label";
    static final String PROBABILITIES = "probabilities";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final List<Feature> features;
    private final Task task;
    private final List<String> labels;
    private final int[] offsets;
    private final int width;

    TabularEncoding(List<Feature> features, Task task, List<String> labels) {
        this.features = List.copyOf(features);
        this.task = requireNonNull(task, "task is null");
        this.labels = List.copyOf(labels);
        this.offsets = new int[this.features.size()];
        int at = 0;
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = at;
            at = Math.addExact(at, this.features.get(i).encodedWidth());
        }
        this.width = at;
        if (this.features.stream().anyMatch(feature -> feature.missing().isEmpty())) {
            throw new IllegalArgumentException("every feature needs its missing value");
        }
        if ((task == Task.CLASSIFICATION) == this.labels.isEmpty()) {
            throw new IllegalArgumentException("labels are given for, and only for, a classification");
        }
    }

    /** Fits the missing values on the given (training) rows. */
    static TabularEncoding fit(TabularDataset dataset, int[] rows) {
        List<Feature> features = new ArrayList<>();
        for (int index = 0; index < dataset.features().size(); index++) {
            TabularDataset.Column column = dataset.features().get(index);
            features.add(switch (column.type()) {
                case NUMERIC -> Feature.numeric(column.name(), OptionalDouble.of(mean(dataset, rows, index)));
                case BOOLEAN -> Feature.bool(column.name(), OptionalDouble.of(mostFrequent(dataset, rows, index, 2)));
                case CATEGORICAL -> new Feature(column.name(), FeatureType.CATEGORICAL, column.categories(),
                        allIntegers(column.categories()), CategoricalEncoding.ONE_HOT,
                        OptionalDouble.of(mostFrequent(dataset, rows, index, column.categories().size())));
            });
        }
        return new TabularEncoding(features, dataset.task(), dataset.labels());
    }

    private static double mean(TabularDataset dataset, int[] rows, int feature) {
        double sum = 0;
        int count = 0;
        for (int row : rows) {
            double value = dataset.value(row, feature);
            if (!Double.isNaN(value)) {
                sum += value;
                count++;
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    /** The most frequent index among the rows; the lowest on a tie, 0 when every row is missing. */
    private static int mostFrequent(TabularDataset dataset, int[] rows, int feature, int values) {
        int[] counts = new int[values];
        for (int row : rows) {
            double value = dataset.value(row, feature);
            if (!Double.isNaN(value)) {
                counts[(int) value]++;
            }
        }
        int best = 0;
        for (int i = 1; i < values; i++) {
            if (counts[i] > counts[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Whether every category is a canonical integer, so that requests may send it as a JSON integer. */
    private static boolean allIntegers(List<String> categories) {
        for (String category : categories) {
            try {
                if (!Long.toString(Long.parseLong(category)).equals(category)) {
                    return false;
                }
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return true;
    }

    EncodedRows encode(TabularDataset dataset, int[] rows) {
        float[] matrix = new float[Math.multiplyExact(rows.length, width)];
        float[] targets = new float[rows.length];
        for (int i = 0; i < rows.length; i++) {
            int row = rows[i];
            for (int index = 0; index < features.size(); index++) {
                Feature feature = features.get(index);
                double value = dataset.value(row, index);
                if (Double.isNaN(value)) {
                    value = feature.missing().getAsDouble();
                }
                int at = i * width + offsets[index];
                if (feature.type() == FeatureType.CATEGORICAL) {
                    matrix[at + (int) value] = 1;
                } else {
                    matrix[at] = (float) value;
                }
            }
            targets[i] = (float) dataset.targetValue(row);
        }
        return new EncodedRows(rows.length, width, matrix, targets);
    }

    /** Features in input order, each with the value a missing cell takes. */
    public List<Feature> features() {
        return features;
    }

    public Task task() {
        return task;
    }

    /** Class labels in the order of the probabilities output; empty for a regression. */
    public List<String> labels() {
        return labels;
    }

    /** Model input columns: F of the [N, F] input. */
    public int width() {
        return width;
    }

    /** The first input column of a feature. */
    int offset(int feature) {
        return offsets[feature];
    }

    /** The schema the ONNX engine reads from {@link #config}. */
    public FeatureSchema schema() {
        Outputs outputs = task == Task.REGRESSION
                ? new Outputs(Optional.of(PREDICTION), Optional.empty(), Optional.empty())
                : new Outputs(Optional.empty(), Optional.of(LABEL), Optional.of(PROBABILITIES));
        return new FeatureSchema(features, task, labels, false, outputs);
    }

    /**
     * The version config of a model trained on this encoding, as {@link FeatureSchema#parse} reads it:
     * features (name, type, categories, encoding, missing), task, labels and output names.
     */
    public ObjectNode config() {
        ObjectNode config = JSON.createObjectNode();
        ArrayNode featureNodes = config.putArray("features");
        for (Feature feature : features) {
            ObjectNode node = featureNodes.addObject();
            node.put("name", feature.name());
            node.put("type", feature.type().name().toLowerCase(java.util.Locale.ROOT));
            double missing = feature.missing().getAsDouble();
            switch (feature.type()) {
                case NUMERIC -> node.put("missing", missing);
                case BOOLEAN -> node.put("missing", missing == 1);
                case CATEGORICAL -> {
                    ArrayNode categories = node.putArray("categories");
                    for (String category : feature.categories()) {
                        if (feature.integerCategories()) {
                            categories.add(Long.parseLong(category));
                        } else {
                            categories.add(category);
                        }
                    }
                    node.put("encoding", "one_hot");
                    String category = feature.categories().get((int) missing);
                    if (feature.integerCategories()) {
                        node.put("missing", Long.parseLong(category));
                    } else {
                        node.put("missing", category);
                    }
                }
            }
        }
        config.put("categorical_encoding", "one_hot");
        config.put("task", task.name().toLowerCase(java.util.Locale.ROOT));
        ObjectNode outputs;
        if (task == Task.CLASSIFICATION) {
            ArrayNode labelNodes = config.putArray("labels");
            labels.forEach(labelNodes::add);
            outputs = config.putObject("outputs");
            outputs.put("label", LABEL);
            outputs.put("probabilities", PROBABILITIES);
        } else {
            outputs = config.putObject("outputs");
            outputs.put("prediction", PREDICTION);
        }
        return config;
    }
}
