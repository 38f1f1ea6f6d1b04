package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import tools.jackson.databind.node.ObjectNode;

/**
 * A trained tabular model as a new version takes it: the ONNX model (one FLOAT input [N, F], tensor outputs) and the
 * config the ONNX engine serves it with, and how well it did on the validation rows.
 *
 * @param onnxModel the serialized ONNX model; not to be modified
 * @param config the version config ({@link TabularEncoding#config}); not to be modified
 * @param metric the validation metric's name: {@code rmse}, {@code logloss} or {@code mlogloss}
 * @param validationMetric its value on the validation rows
 */
public record TrainedTabularModel(ModelFamily family, byte[] onnxModel, ObjectNode config, String metric,
        double validationMetric) {
    public TrainedTabularModel {
        requireNonNull(family, "family is null");
        requireNonNull(onnxModel, "onnxModel is null");
        requireNonNull(config, "config is null");
        requireNonNull(metric, "metric is null");
    }
}
