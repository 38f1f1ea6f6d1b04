package dev.atrium.engine;

/** An engine that predicts a value or a class for each row of features (tabular models). */
public interface PredictionEngine extends Engine {

    /**
     * Reads the request's rows against the model's feature schema and encodes them, without running the model,
     * so that they can be counted and reserved first.
     *
     * @throws dev.atrium.AtriumException 400 naming the column of a value the schema refuses
     */
    PreparedPrediction prepare(Deployment deployment, PredictionRequest request);

    /** Runs prepared rows: one prediction per row, in order. */
    PredictionResult predict(PreparedPrediction prepared, RunContext context);
}
