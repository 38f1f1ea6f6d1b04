package dev.atrium.engine;

/** An engine that embeds texts or token ids. */
public interface EmbeddingEngine extends Engine {

    /**
     * Checks an embedding request and counts its tokens without running the model, so they can be admitted and
     * reserved first.
     *
     * @throws dev.atrium.AtriumException 400 for an input the model cannot take (too long, unknown token ids)
     */
    PreparedEmbedding prepare(Deployment deployment, EmbeddingRequest request);

    /** Runs a prepared request: one vector per input, in order. */
    EmbeddingResult embed(PreparedEmbedding prepared, RunContext context);
}
