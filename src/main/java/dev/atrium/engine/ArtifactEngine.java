package dev.atrium.engine;

/** An engine whose models are uploaded files, checked when they arrive. */
public interface ArtifactEngine extends Engine {

    /**
     * Checks that uploaded artifacts are a model this engine can serve for the task, and reads its metadata.
     *
     * @throws dev.atrium.AtriumException with {@code INVALID_ARTIFACT} when they are not
     */
    ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options);

    /**
     * Checks the artifacts of a composed model against the parts it is made of (an embedding model under a
     * classifier head), resolved by the registry.
     */
    default ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options,
            java.util.Map<String, Deployment> parts) {
        if (!parts.isEmpty()) {
            throw new dev.atrium.AtriumException(dev.atrium.ErrorCode.INVALID_ARTIFACT,
                    "this engine serves no composed models");
        }
        return inspect(task, files, options);
    }
}
