package dev.atrium.engine;

/**
 * A runtime that validates, loads and runs model versions. Implementations run inference on platform threads
 * they own; the blocking methods here are called from request (virtual) threads, which wait for the result.
 * Engines know nothing of HTTP, tenants or prices.
 */
public interface Engine extends AutoCloseable {

    /**
     * Checks that uploaded artifacts are a model this engine can serve for the task, and reads its metadata.
     *
     * @throws dev.atrium.AtriumException with {@code INVALID_ARTIFACT} when they are not
     */
    ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options);

    /** Loads the version if it is not loaded yet; returns once it can serve. */
    void load(Deployment deployment);

    boolean isLoaded(VersionKey key);

    /** Releases the version's native memory once requests running on it finish. Does nothing if not loaded. */
    void unload(VersionKey key);

    /**
     * Tokenizes and checks an embedding request without running the model, so its tokens can be admitted first.
     *
     * @throws dev.atrium.AtriumException 400 for an input the model cannot take (too long, unknown token ids)
     */
    PreparedEmbedding prepare(Deployment deployment, EmbeddingRequest request);

    /** Runs a prepared request: one vector per input, in order. */
    EmbeddingResult embed(PreparedEmbedding prepared);

    InferenceResult infer(Deployment deployment, InferenceRequest request);

    /** Whether a loaded version has work waiting and has made no progress for too long (then it is not ready). */
    default boolean isStalled(VersionKey key) {
        return false;
    }

    /** Whether any loaded version is stalled. */
    default boolean isStalled() {
        return false;
    }

    /** Unloads every version and stops the engine's threads. */
    @Override
    void close();
}
