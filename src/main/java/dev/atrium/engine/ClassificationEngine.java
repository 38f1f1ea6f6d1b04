package dev.atrium.engine;

/** An engine that classifies texts or images: top labels with scores per input. */
public interface ClassificationEngine extends Engine {

    /**
     * Checks a classification request and makes its inputs ready to run (images decoded and preprocessed, texts
     * tokenized), counting what it will be metered by, without running the model.
     *
     * @throws dev.atrium.AtriumException 400 for an input the model cannot take
     */
    PreparedClassification prepare(Deployment deployment, ClassificationRequest request);

    /** Runs a prepared request: one list of labels per input, in order. */
    ClassificationResult classify(PreparedClassification prepared, RunContext context);
}
