package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.PredictionResult;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.tabular.FeatureSchema;
import dev.atrium.engine.onnx.tabular.MlflowInput;
import dev.atrium.engine.onnx.tabular.TabularPredictions;
import dev.atrium.engine.onnx.tabular.TabularRows;
import dev.atrium.engine.onnx.tabular.TabularRunner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Tabular models in the ONNX engine: the version's feature schema (its config's {@code features},
 * {@code categorical_encoding}, {@code task}, {@code labels} and {@code outputs}) bound to the graph at upload and
 * again at load; a request's rows, read from MLflow's scoring formats, run in one model call on an instance thread.
 */
final class TabularPrediction {
    /** The config fields of the feature schema; the rest of a config (scheduling) is not the schema's. */
    static final List<String> CONFIG_FIELDS = List.of("features", "categorical_encoding", "task", "labels", "outputs");
    /** The most rows one request may carry. */
    static final int MAX_ROWS = 65_536;

    private TabularPrediction() {}

    static FeatureSchema schema(JsonNode config) {
        ObjectNode fields = tools.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        CONFIG_FIELDS.forEach(field -> {
            if (config.has(field)) {
                fields.set(field, config.get(field));
            }
        });
        return FeatureSchema.parse(fields);
    }

    /** Checks the schema against the graph; the metadata's labels are a classifier's classes. */
    static ModelMetadata inspect(OrtEnvironment environment, OrtSession session, List<TensorSpec> inputs,
            List<TensorSpec> outputs, JsonNode config, OutputLimit limit) {
        FeatureSchema schema = schema(config);
        TabularRunner.bind(environment, session, schema, limit);
        return ModelMetadata.classifier(inputs, outputs, schema.task() == FeatureSchema.Task.CLASSIFICATION
                ? schema.labels() : List.of());
    }

    static TabularRunner load(OrtEnvironment environment, OrtSession session, Deployment deployment,
            OutputLimit limit) {
        return TabularRunner.bind(environment, session, schema(deployment.config()), limit);
    }

    static TabularRows rows(TabularRunner runner, JsonNode body) {
        return MlflowInput.parse(body, runner.schema(), MAX_ROWS).rows();
    }

    static PredictionResult result(TabularPredictions predictions, boolean integerLabels, long computeNanos) {
        List<PredictionResult.Prediction> results = new ArrayList<>(predictions.rowCount());
        for (int row = 0; row < predictions.rowCount(); row++) {
            if (predictions.task() == FeatureSchema.Task.REGRESSION) {
                results.add(new PredictionResult.Value(predictions.value(row)));
                continue;
            }
            Map<String, Double> probabilities = new LinkedHashMap<>();
            if (predictions.hasProbabilities()) {
                for (int label = 0; label < predictions.classLabels().size(); label++) {
                    probabilities.put(predictions.classLabels().get(label), predictions.probability(row, label));
                }
            }
            results.add(new PredictionResult.Label(predictions.label(row), probabilities, integerLabels));
        }
        return new PredictionResult(results, computeNanos);
    }
}
