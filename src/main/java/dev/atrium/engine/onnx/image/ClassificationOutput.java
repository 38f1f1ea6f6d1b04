package dev.atrium.engine.onnx.image;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Which output of an image classifier holds its class scores, whether they are probabilities or logits, and the
 * class names: the {@code output}, {@code output_kind} and {@code labels} fields of a model version's config, with
 * defaults from the model.
 *
 * @param output the model output of shape [batch, classes] read
 * @param kind whether that output is already probabilities, or logits that a softmax turns into them
 * @param labels the class names, in the output's order
 */
public record ClassificationOutput(String output, OutputKind kind, List<String> labels) {
    private static final List<String> FIELDS = List.of("output", "output_kind", "labels");

    public ClassificationOutput {
        requireNonNull(output, "output is null");
        requireNonNull(kind, "kind is null");
        labels = List.copyOf(labels);
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("labels is empty");
        }
    }

    /** What the scores in the output are. */
    public enum OutputKind {
        PROBABILITIES("probabilities"), LOGITS("logits");

        private final String wireName;

        OutputKind(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /**
     * The classification output of a model version. Absent fields: the output is the one named like
     * probabilities ({@code probs}, {@code probabilities}, {@code softmax}), else like logits, else the only one;
     * its kind follows its name (probabilities when it has {@code prob} or {@code softmax} in it, logits otherwise);
     * the labels are the model's {@code labels} metadata property, comma-separated. Call it at upload and store
     * {@link #toConfig()}.
     *
     * @param config the version's config object (other fields than these three are left to the caller); null for
     *     every default
     * @param outputs the model's outputs
     * @param metadata the model's metadata properties
     * @throws dev.atrium.AtriumException {@code INVALID_ARTIFACT}, naming the field, when the config is malformed or
     *     does not fit the model
     */
    public static ClassificationOutput fromConfig(JsonNode config, List<TensorSpec> outputs, Map<String, String> metadata) {
        requireNonNull(outputs, "outputs is null");
        requireNonNull(metadata, "metadata is null");
        ConfigFields fields = new ConfigFields(only(config), "", FIELDS);
        TensorSpec spec = fields.string("output")
                .map(name -> outputs.stream().filter(candidate -> candidate.name().equals(name)).findFirst()
                        .orElseThrow(() -> ConfigFields.invalid("output", "'output' is '" + name + "', which is not"
                                + " an output of the model (its outputs: " + names(outputs) + ")")))
                .orElseGet(() -> defaultOutput(outputs));
        if (spec.datatype() != DataType.FP32 || spec.shape().size() != 2) {
            throw ConfigFields.invalid("output", "output '" + spec.name() + "' is " + spec.datatype() + " of shape "
                    + spec.shape() + "; class scores are FP32 of shape [batch, classes]");
        }
        OutputKind kind = fields.choice("output_kind", OutputKind.class, OutputKind::wireName)
                .orElse(looksLikeProbabilities(spec.name()) ? OutputKind.PROBABILITIES : OutputKind.LOGITS);

        List<String> labels = fields.strings("labels").orElseGet(() -> metadataLabels(metadata));
        if (new HashSet<>(labels).size() != labels.size()) {
            throw ConfigFields.invalid("labels", "the labels " + labels + " name a class twice");
        }
        long classes = spec.shape().get(1);
        if (classes != -1 && classes != labels.size()) {
            throw ConfigFields.invalid("labels", labels.size() + " labels for the " + classes + " classes of output '"
                    + spec.name() + "'");
        }
        return new ClassificationOutput(spec.name(), kind, labels);
    }

    /** The three fields of this class out of a version's whole config. */
    private static JsonNode only(JsonNode config) {
        if (config == null || config.isNull()) {
            return null;
        }
        if (!config.isObject()) {
            return config;
        }
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        for (String field : FIELDS) {
            if (config.has(field)) {
                fields.set(field, config.get(field));
            }
        }
        return fields;
    }

    private static TensorSpec defaultOutput(List<TensorSpec> outputs) {
        List<TensorSpec> probabilities = outputs.stream().filter(spec -> looksLikeProbabilities(spec.name())).toList();
        if (probabilities.size() == 1) {
            return probabilities.getFirst();
        }
        List<TensorSpec> logits = outputs.stream()
                .filter(spec -> spec.name().toLowerCase(Locale.ROOT).contains("logit")).toList();
        if (probabilities.isEmpty() && logits.size() == 1) {
            return logits.getFirst();
        }
        if (outputs.size() == 1) {
            return outputs.getFirst();
        }
        throw ConfigFields.invalid("output", "the model has " + outputs.size() + " outputs (" + names(outputs)
                + "); name the one with the class scores in 'output'");
    }

    private static boolean looksLikeProbabilities(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.contains("prob") || lower.contains("softmax");
    }

    private static List<String> metadataLabels(Map<String, String> metadata) {
        String text = metadata.get("labels");
        if (text == null || text.isBlank()) {
            throw ConfigFields.invalid("labels", "the model has no 'labels' metadata property; list the class names"
                    + " in 'labels'");
        }
        List<String> labels = Arrays.stream(text.split(",", -1)).map(String::strip).toList();
        if (labels.stream().anyMatch(String::isEmpty)) {
            throw ConfigFields.invalid("labels", "the model's 'labels' metadata property has an empty label; list"
                    + " the class names in 'labels'");
        }
        return labels;
    }

    private static String names(List<TensorSpec> specs) {
        return specs.stream().map(spec -> "'" + spec.name() + "'").collect(Collectors.joining(", "));
    }

    /** This output's three config fields, explicit, for a version's stored config. */
    public ObjectNode toConfig() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("output", output);
        node.put("output_kind", kind.wireName());
        labels.forEach(node.putArray("labels")::add);
        return node;
    }

    /**
     * The probabilities in one row of the output: {@code labels().size()} scores from {@code offset} on, a softmax
     * applied when they are logits.
     */
    public float[] probabilities(float[] scores, int offset) {
        int classes = labels.size();
        if (offset < 0 || (long) offset + classes > scores.length) {
            throw new IndexOutOfBoundsException(classes + " scores from " + offset + " in " + scores.length);
        }
        float[] row = Arrays.copyOfRange(scores, offset, offset + classes);
        if (kind == OutputKind.LOGITS) {
            double max = Double.NEGATIVE_INFINITY;
            for (float value : row) {
                max = Math.max(max, value);
            }
            double sum = 0;
            double[] exponentials = new double[classes];
            for (int i = 0; i < classes; i++) {
                exponentials[i] = Math.exp(row[i] - max);
                sum += exponentials[i];
            }
            for (int i = 0; i < classes; i++) {
                row[i] = (float) (exponentials[i] / sum);
            }
        }
        return row;
    }

    /**
     * The {@code k} most probable classes of one row of scores ({@code labels().size()} values from {@code offset}
     * on), most probable first, ties in output order.
     *
     * @param k how many; more than there are classes gives them all
     */
    public List<ScoredLabel> topK(float[] scores, int offset, int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be positive, not " + k);
        }
        float[] row = probabilities(scores, offset);
        List<Integer> order = new ArrayList<>(row.length);
        for (int i = 0; i < row.length; i++) {
            order.add(i);
        }
        // NaN (a broken model) sorts last
        order.sort((a, b) -> Float.compare(Float.isNaN(row[b]) ? Float.NEGATIVE_INFINITY : row[b],
                Float.isNaN(row[a]) ? Float.NEGATIVE_INFINITY : row[a]));
        List<ScoredLabel> top = new ArrayList<>(Math.min(k, row.length));
        for (int i = 0; i < Math.min(k, row.length); i++) {
            int index = order.get(i);
            top.add(new ScoredLabel(index, labels.get(index), row[index]));
        }
        return List.copyOf(top);
    }

    /** {@link #topK(float[], int, int)} of a row that holds one image's scores alone. */
    public List<ScoredLabel> topK(float[] row, int k) {
        return topK(row, 0, k);
    }
}
