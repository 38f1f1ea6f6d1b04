package dev.atrium.engine.onnx;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationResult.LabelScore;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * How a classifier's output becomes labels with scores: which output holds the scores, whether they are
 * probabilities already or logits (softmax applied here), and the label of each class, from the version's config
 * ({@code output}, {@code output_kind}, {@code labels}) or the model's own metadata ({@code labels},
 * comma-separated).
 *
 * @param output the output tensor holding one row of scores per input, FP32 {@code [batch, classes]}
 */
record ClassScores(String output, boolean logits, List<String> labels) {
    ClassScores {
        labels = List.copyOf(labels);
    }

    /**
     * Reads and checks the config against the model's outputs and metadata.
     *
     * @throws AtriumException INVALID_ARTIFACT naming what does not fit
     */
    static ClassScores fromConfig(JsonNode config, List<TensorSpec> outputs, Map<String, String> modelMetadata) {
        String name = text(config, "output").orElseGet(() -> outputs.stream().map(TensorSpec::name)
                .filter(candidate -> candidate.toLowerCase(Locale.ROOT).startsWith("prob")).findFirst()
                .orElse(outputs.getFirst().name()));
        TensorSpec output = outputs.stream().filter(spec -> spec.name().equals(name)).findFirst()
                .orElseThrow(() -> invalid("the model has no output '" + name + "'; its outputs are "
                        + outputs.stream().map(TensorSpec::name).toList()));
        if (output.datatype() != DataType.FP32 || output.shape().size() != 2) {
            throw invalid("output '" + name + "' must be FP32 of shape [batch, classes] to give class scores");
        }
        String kind = text(config, "output_kind").orElse(name.toLowerCase(Locale.ROOT).startsWith("prob")
                ? "probabilities" : "logits");
        if (!kind.equals("probabilities") && !kind.equals("logits")) {
            throw invalid("output_kind must be probabilities or logits");
        }
        List<String> labels = labels(config, modelMetadata);
        long classes = output.shape().get(1);
        if (labels.isEmpty()) {
            throw invalid("the classifier needs its class labels: give 'labels' in the config (or in the ONNX"
                    + " model's metadata as comma-separated 'labels')");
        }
        if (classes > 0 && classes != labels.size()) {
            throw invalid("output '" + name + "' has " + classes + " classes but " + labels.size() + " labels are"
                    + " given");
        }
        return new ClassScores(name, kind.equals("logits"), labels);
    }

    private static List<String> labels(JsonNode config, Map<String, String> modelMetadata) {
        JsonNode node = config.get("labels");
        if (node != null) {
            if (!node.isArray() || node.isEmpty() || node.size() > 100_000) {
                throw invalid("labels must be a list of 1 to 100000 strings");
            }
            List<String> labels = new ArrayList<>(node.size());
            for (JsonNode label : node) {
                if (!label.isString() || label.stringValue().isEmpty() || label.stringValue().length() > 256) {
                    throw invalid("each label must be a string of 1 to 256 characters");
                }
                labels.add(label.stringValue());
            }
            if (labels.stream().distinct().count() != labels.size()) {
                throw invalid("labels must be distinct");
            }
            return labels;
        }
        String fromModel = modelMetadata.get("labels");
        return fromModel == null || fromModel.isBlank() ? List.of()
                : Arrays.stream(fromModel.split(",")).map(String::strip).toList();
    }

    /** The best {@code topK} labels of one row of scores, best first (ties in class order). */
    List<LabelScore> top(float[] scores, int offset, int topK) {
        int classes = labels.size();
        double[] probabilities = new double[classes];
        if (logits) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < classes; i++) {
                max = Math.max(max, scores[offset + i]);
            }
            double sum = 0;
            for (int i = 0; i < classes; i++) {
                probabilities[i] = Math.exp(scores[offset + i] - max);
                sum += probabilities[i];
            }
            for (int i = 0; i < classes; i++) {
                probabilities[i] /= sum;
            }
        } else {
            for (int i = 0; i < classes; i++) {
                probabilities[i] = scores[offset + i];
            }
        }
        Integer[] order = new Integer[classes];
        for (int i = 0; i < classes; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -probabilities[i]).thenComparingInt(i -> i));
        List<LabelScore> top = new ArrayList<>(Math.min(topK, classes));
        for (int i = 0; i < Math.min(topK, classes); i++) {
            top.add(new LabelScore(labels.get(order[i]), probabilities[order[i]]));
        }
        return top;
    }

    private static Optional<String> text(JsonNode config, String field) {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        if (!node.isString()) {
            throw invalid("'" + field + "' must be a string");
        }
        return Optional.of(node.stringValue());
    }

    private static AtriumException invalid(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }
}
