package dev.atrium.engine;

/** An engine whose models are uploaded files, checked when they arrive. */
public interface ArtifactEngine extends Engine {

    /**
     * Checks that uploaded artifacts are a model this engine can serve for the task, and reads its metadata.
     *
     * @throws dev.atrium.AtriumException with {@code INVALID_ARTIFACT} when they are not
     */
    ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options);
}
