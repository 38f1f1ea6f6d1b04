package dev.atrium.engine.onnx.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * The columns a tabular model takes, how each becomes model input, and what the model predicts: read from a
 * version's config JSON, checked against the ONNX graph by {@link TabularRunner#bind}.
 *
 * <p>Config shape (unknown fields are refused):
 * <pre>{@code
 * {"features": [{"name": "age", "type": "numeric", "missing": 40},
 *               {"name": "color", "type": "categorical", "categories": ["red", "green"], "encoding": "ordinal"},
 *               {"name": "member", "type": "boolean", "missing": false}],
 *  "categorical_encoding": "one_hot",
 *  "task": "classification",
 *  "labels": ["no", "yes"],
 *  "outputs": {"label": "label", "probabilities": "probabilities"}}
 * }</pre>
 *
 * @param features in the order the model's input columns take them
 * @param task what the model predicts
 * @param labels class labels in the order of the probability columns; empty for regression, or for a classifier
 *     whose labels are the class indices
 * @param integerLabels whether the labels were given as JSON integers (then an integer label output holds the
 *     label itself, as {@code classlabels_int64s} makes it; otherwise it holds an index into {@code labels})
 * @param outputs which model outputs hold the prediction; absent names are found by {@link TabularRunner#bind}
 */
public record FeatureSchema(List<Feature> features, Task task, List<String> labels, boolean integerLabels,
        Outputs outputs) {
    /** Bounds on a config, so that a schema's width and the work per row stay reasonable. */
    static final int MAX_FEATURES = 10_000;
    static final int MAX_CATEGORIES = 10_000;
    static final int MAX_LABELS = 100_000;
    static final int MAX_ENCODED_WIDTH = 1_000_000;

    public FeatureSchema {
        features = List.copyOf(requireNonNull(features, "features is null"));
        requireNonNull(task, "task is null");
        labels = List.copyOf(requireNonNull(labels, "labels is null"));
        requireNonNull(outputs, "outputs is null");
        if (features.isEmpty()) {
            throw new IllegalArgumentException("features is empty");
        }
        Set<String> names = new HashSet<>();
        for (Feature feature : features) {
            if (!names.add(feature.name())) {
                throw new IllegalArgumentException("duplicate feature " + feature.name());
            }
        }
        if (task == Task.REGRESSION && (!labels.isEmpty() || outputs.label().isPresent()
                || outputs.probabilities().isPresent())) {
            throw new IllegalArgumentException("a regression has no labels, label or probabilities");
        }
        if (task == Task.CLASSIFICATION && outputs.prediction().isPresent()) {
            throw new IllegalArgumentException("a classification has no prediction output");
        }
        if (new HashSet<>(labels).size() != labels.size()) {
            throw new IllegalArgumentException("duplicate labels");
        }
        if (integerLabels && !allIntegers(labels)) {
            throw new IllegalArgumentException("integer labels that are not integers: " + labels);
        }
    }

    private static boolean allIntegers(List<String> texts) {
        for (String text : texts) {
            try {
                Long.parseLong(text);
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return true;
    }

    /** What a model predicts. */
    public enum Task {
        REGRESSION, CLASSIFICATION;

        String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What kind of values a column holds. */
    public enum FeatureType {
        NUMERIC, CATEGORICAL, BOOLEAN;

        String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a categorical column becomes model input: one column per category, or the category's index. */
    public enum CategoricalEncoding {
        ONE_HOT, ORDINAL;

        String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One input column.
     *
     * @param categories a categorical column's categories, as text, in the order of their one-hot columns (or
     *     ordinal indices); empty for other types
     * @param integerCategories whether the categories were given as JSON integers (then requests send integers)
     * @param encoding how a categorical column is encoded; {@code ONE_HOT} for other types, where it means nothing
     * @param missing the value a missing (absent or null) cell takes, already encoded: the number, the category's
     *     index, or 1 / 0 for true / false; empty when a missing cell is an error
     */
    public record Feature(String name, FeatureType type, List<String> categories, boolean integerCategories,
            CategoricalEncoding encoding, OptionalDouble missing) {
        public Feature {
            requireNonNull(name, "name is null");
            requireNonNull(type, "type is null");
            categories = List.copyOf(requireNonNull(categories, "categories is null"));
            requireNonNull(encoding, "encoding is null");
            requireNonNull(missing, "missing is null");
            if (name.isBlank()) {
                throw new IllegalArgumentException("name is blank");
            }
            if ((type == FeatureType.CATEGORICAL) == categories.isEmpty()) {
                throw new IllegalArgumentException("categories are given for, and only for, a categorical feature");
            }
            if (new HashSet<>(categories).size() != categories.size()) {
                throw new IllegalArgumentException("duplicate categories");
            }
            if (integerCategories && !allIntegers(categories)) {
                throw new IllegalArgumentException("integer categories that are not integers: " + categories);
            }
            if (type != FeatureType.CATEGORICAL && (integerCategories || encoding != CategoricalEncoding.ONE_HOT)) {
                throw new IllegalArgumentException("only a categorical feature has an encoding");
            }
            if (missing.isPresent()) {
                double value = missing.getAsDouble();
                boolean valid = switch (type) {
                    case NUMERIC -> Double.isFinite(value);
                    case BOOLEAN -> value == 0 || value == 1;
                    case CATEGORICAL -> value == Math.rint(value) && value >= 0 && value < categories.size();
                };
                if (!valid) {
                    throw new IllegalArgumentException("missing value " + value + " does not fit a " + type + " feature");
                }
            }
        }

        public static Feature numeric(String name, OptionalDouble missing) {
            return new Feature(name, FeatureType.NUMERIC, List.of(), false, CategoricalEncoding.ONE_HOT, missing);
        }

        public static Feature bool(String name, OptionalDouble missing) {
            return new Feature(name, FeatureType.BOOLEAN, List.of(), false, CategoricalEncoding.ONE_HOT, missing);
        }

        public static Feature categorical(String name, List<String> categories, CategoricalEncoding encoding,
                OptionalDouble missing) {
            return new Feature(name, FeatureType.CATEGORICAL, categories, false, encoding, missing);
        }

        /** Model input columns this feature takes. */
        public int encodedWidth() {
            return type == FeatureType.CATEGORICAL && encoding == CategoricalEncoding.ONE_HOT ? categories.size() : 1;
        }
    }

    /**
     * Names of the model outputs that hold the prediction: {@code prediction} for a regression; {@code label},
     * {@code probabilities} or both for a classification.
     */
    public record Outputs(Optional<String> prediction, Optional<String> label, Optional<String> probabilities) {
        public Outputs {
            requireNonNull(prediction, "prediction is null");
            requireNonNull(label, "label is null");
            requireNonNull(probabilities, "probabilities is null");
        }

        public static Outputs none() {
            return new Outputs(Optional.empty(), Optional.empty(), Optional.empty());
        }
    }

    /** Model input columns all features take: the width of a single [N, F] input. */
    public int encodedWidth() {
        return features.stream().mapToInt(Feature::encodedWidth).sum();
    }

    /** The index of the named feature, or -1. */
    int indexOf(String name) {
        for (int i = 0; i < features.size(); i++) {
            if (features.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    // ---- parsing ------------------------------------------------------------------------------------------------

    private static final Set<String> FIELDS = Set.of("features", "categorical_encoding", "task", "labels", "outputs");
    private static final Set<String> FEATURE_FIELDS = Set.of("name", "type", "categories", "encoding", "missing");
    private static final Set<String> OUTPUT_FIELDS = Set.of("prediction", "label", "probabilities");

    /**
     * Reads a schema from a version's config.
     *
     * @throws AtriumException {@code INVALID_ARTIFACT} naming the field at fault
     */
    public static FeatureSchema parse(JsonNode config) {
        requireNonNull(config, "config is null");
        if (!config.isObject()) {
            throw invalid("config", "the tabular config must be a JSON object");
        }
        refuseUnknown(config, FIELDS, "");
        Task task = parseEnum(config.get("task"), "task", Task.class, null);
        if (task == null) {
            throw invalid("task", "'task' is required: \"regression\" or \"classification\"");
        }
        CategoricalEncoding defaultEncoding = parseEnum(config.get("categorical_encoding"), "categorical_encoding",
                CategoricalEncoding.class, CategoricalEncoding.ONE_HOT);
        List<Feature> features = parseFeatures(config.get("features"), defaultEncoding);

        JsonNode labelsNode = config.get("labels");
        List<String> labels = List.of();
        boolean integerLabels = false;
        if (labelsNode != null && !labelsNode.isNull()) {
            if (task == Task.REGRESSION) {
                throw invalid("labels", "'labels' is only for a classification");
            }
            labels = scalarTexts(labelsNode, "labels", MAX_LABELS);
            integerLabels = labelsNode.get(0).isIntegralNumber();
        }
        Outputs outputs = parseOutputs(config.get("outputs"), task);
        return new FeatureSchema(features, task, labels, integerLabels, outputs);
    }

    private static List<Feature> parseFeatures(JsonNode node, CategoricalEncoding defaultEncoding) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw invalid("features", "'features' must be a non-empty array of {\"name\", \"type\"} objects");
        }
        if (node.size() > MAX_FEATURES) {
            throw invalid("features", "at most " + MAX_FEATURES + " features are supported, not " + node.size());
        }
        List<Feature> features = new ArrayList<>(node.size());
        Set<String> names = new HashSet<>();
        long width = 0;
        for (int i = 0; i < node.size(); i++) {
            String path = "features[" + i + "]";
            Feature feature = parseFeature(node.get(i), path, defaultEncoding);
            if (!names.add(feature.name())) {
                throw invalid(path + ".name", "feature '" + feature.name() + "' is named twice");
            }
            width += feature.encodedWidth();
            if (width > MAX_ENCODED_WIDTH) {
                throw invalid("features", "the features encode to more than " + MAX_ENCODED_WIDTH + " model columns");
            }
            features.add(feature);
        }
        return features;
    }

    private static Feature parseFeature(JsonNode node, String path, CategoricalEncoding defaultEncoding) {
        if (!node.isObject()) {
            throw invalid(path, path + " must be an object with \"name\" and \"type\"");
        }
        refuseUnknown(node, FEATURE_FIELDS, path + ".");
        JsonNode nameNode = node.get("name");
        if (nameNode == null || !nameNode.isString() || nameNode.stringValue().isBlank()) {
            throw invalid(path + ".name", path + ".name must be a non-empty string");
        }
        String name = nameNode.stringValue();
        FeatureType type = parseEnum(node.get("type"), path + ".type", FeatureType.class, null);
        if (type == null) {
            throw invalid(path + ".type", "feature '" + name + "' needs a type: \"numeric\", \"categorical\" or"
                    + " \"boolean\"");
        }
        JsonNode categoriesNode = node.get("categories");
        JsonNode encodingNode = node.get("encoding");
        if (type != FeatureType.CATEGORICAL) {
            if (categoriesNode != null) {
                throw invalid(path + ".categories", "feature '" + name + "' is " + type.wireName()
                        + "; only a categorical feature has categories");
            }
            if (encodingNode != null) {
                throw invalid(path + ".encoding", "feature '" + name + "' is " + type.wireName()
                        + "; only a categorical feature has an encoding");
            }
        }
        List<String> categories = List.of();
        boolean integerCategories = false;
        CategoricalEncoding encoding = CategoricalEncoding.ONE_HOT;
        if (type == FeatureType.CATEGORICAL) {
            if (categoriesNode == null) {
                throw invalid(path + ".categories", "categorical feature '" + name + "' needs its categories");
            }
            categories = scalarTexts(categoriesNode, path + ".categories", MAX_CATEGORIES);
            integerCategories = categoriesNode.get(0).isIntegralNumber();
            encoding = parseEnum(encodingNode, path + ".encoding", CategoricalEncoding.class, defaultEncoding);
        }
        OptionalDouble missing = OptionalDouble.empty();
        JsonNode missingNode = node.get("missing");
        if (missingNode != null && !missingNode.isNull()) {
            String field = path + ".missing";
            missing = OptionalDouble.of(switch (type) {
                case NUMERIC -> {
                    if (!missingNode.isNumber() || !Double.isFinite(missingNode.doubleValue())) {
                        throw invalid(field, "the missing value of numeric feature '" + name + "' must be a number");
                    }
                    yield missingNode.doubleValue();
                }
                case BOOLEAN -> {
                    if (!missingNode.isBoolean()) {
                        throw invalid(field, "the missing value of boolean feature '" + name + "' must be true or false");
                    }
                    yield missingNode.booleanValue() ? 1 : 0;
                }
                case CATEGORICAL -> {
                    int index = categoryIndex(missingNode, categories, integerCategories);
                    if (index < 0) {
                        throw invalid(field, "the missing value of categorical feature '" + name
                                + "' must be one of its categories");
                    }
                    yield index;
                }
            });
        }
        return new Feature(name, type, categories, integerCategories, encoding, missing);
    }

    private static Outputs parseOutputs(JsonNode node, Task task) {
        if (node == null || node.isNull()) {
            return Outputs.none();
        }
        if (!node.isObject()) {
            throw invalid("outputs", "'outputs' must be an object naming model outputs");
        }
        refuseUnknown(node, OUTPUT_FIELDS, "outputs.");
        Optional<String> prediction = outputName(node, "prediction");
        Optional<String> label = outputName(node, "label");
        Optional<String> probabilities = outputName(node, "probabilities");
        if (task == Task.REGRESSION && (label.isPresent() || probabilities.isPresent())) {
            throw invalid(label.isPresent() ? "outputs.label" : "outputs.probabilities",
                    "a regression has only a 'prediction' output");
        }
        if (task == Task.CLASSIFICATION && prediction.isPresent()) {
            throw invalid("outputs.prediction", "a classification has 'label' and 'probabilities' outputs, not"
                    + " 'prediction'");
        }
        if (label.isPresent() && label.equals(probabilities)) {
            throw invalid("outputs.probabilities", "'label' and 'probabilities' name the same output");
        }
        return new Outputs(prediction, label, probabilities);
    }

    private static Optional<String> outputName(JsonNode outputs, String field) {
        JsonNode node = outputs.get(field);
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        if (!node.isString() || node.stringValue().isEmpty()) {
            throw invalid("outputs." + field, "outputs." + field + " must name a model output");
        }
        return Optional.of(node.stringValue());
    }

    /** A non-empty array of unique strings, or of unique integers, as text. */
    private static List<String> scalarTexts(JsonNode node, String field, int max) {
        if (!node.isArray() || node.isEmpty()) {
            throw invalid(field, field + " must be a non-empty array of strings or of integers");
        }
        if (node.size() > max) {
            throw invalid(field, field + " may hold at most " + max + " entries, not " + node.size());
        }
        boolean integers = node.get(0).isIntegralNumber();
        List<String> texts = new ArrayList<>(node.size());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode value = node.get(i);
            boolean fits = integers ? value.isIntegralNumber() && value.canConvertToLong() : value.isString();
            if (!fits) {
                throw invalid(field, field + " must hold only strings or only integers; entry " + i + " differs");
            }
            String text = integers ? Long.toString(value.longValue()) : value.stringValue();
            if (!seen.add(text)) {
                throw invalid(field, field + " holds '" + text + "' twice");
            }
            texts.add(text);
        }
        return texts;
    }

    /** The index of a JSON value among a feature's categories, or -1 (a string never matches an integer). */
    static int categoryIndex(JsonNode value, List<String> categories, boolean integerCategories) {
        String text;
        if (integerCategories) {
            if (!value.isIntegralNumber() || !value.canConvertToLong()) {
                return -1;
            }
            text = Long.toString(value.longValue());
        } else {
            if (!value.isString()) {
                return -1;
            }
            text = value.stringValue();
        }
        return categories.indexOf(text);
    }

    private static <E extends Enum<E>> E parseEnum(JsonNode node, String field, Class<E> type, E absent) {
        if (node == null || node.isNull()) {
            return absent;
        }
        List<String> allowed = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            String wire = constant.name().toLowerCase(Locale.ROOT);
            if (node.isString() && node.stringValue().equals(wire)) {
                return constant;
            }
            allowed.add('"' + wire + '"');
        }
        throw invalid(field, field + " must be one of " + String.join(", ", allowed));
    }

    private static void refuseUnknown(JsonNode node, Set<String> known, String prefix) {
        for (Map.Entry<String, JsonNode> property : node.properties()) {
            if (!known.contains(property.getKey())) {
                throw invalid(prefix + property.getKey(), "unknown field '" + prefix + property.getKey()
                        + "'; known fields: " + known.stream().sorted().toList());
            }
        }
    }

    private static AtriumException invalid(String field, String message) {
        return AtriumException.withParam(ErrorCode.INVALID_ARTIFACT, field, message);
    }
}
