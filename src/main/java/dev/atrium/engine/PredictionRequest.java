package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import tools.jackson.databind.JsonNode;

/**
 * Rows to predict, in one of MLflow's scoring formats: the body's {@code dataframe_split},
 * {@code dataframe_records}, {@code instances} or {@code inputs} field, read against the model's schema.
 */
public record PredictionRequest(JsonNode body) {
    public PredictionRequest {
        requireNonNull(body, "body is null");
    }
}
