package dev.atrium.training;

import java.util.List;

/** Embeds a training set's texts with a registered embedding model, as the job's tenant sees it. */
public interface Embedder {

    /**
     * @param reference the embedding model ({@code name}, {@code name:version} or an alias)
     * @param pinned the {@code name:version} it resolved to, which the trained classifier is composed with
     * @param computeNanos the engine's time on them
     */
    record Embedded(String pinned, List<float[]> vectors, long computeNanos) {
        public Embedded {
            vectors = List.copyOf(vectors);
        }
    }

    /**
     * @throws dev.atrium.AtriumException 404 for a model the tenant cannot see, 400 for one that is not an embedding
     *     model
     */
    Embedded embed(String tenantId, String reference, List<String> texts);
}
