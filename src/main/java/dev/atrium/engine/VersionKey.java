package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/** Identifies one version of one model; the model id is never reused, so a recreated name gets new keys. */
public record VersionKey(long modelId, String modelName, int version) {
    public VersionKey {
        requireNonNull(modelName, "modelName is null");
    }

    @Override
    public String toString() {
        return modelName + ":" + version;
    }
}
