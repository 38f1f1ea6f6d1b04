package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** Embeds a training set's texts with a registered embedding model, as the job's tenant sees it. */
public interface Embedder {

    /**
     * An embedding model version as one reference resolved to: what the vectors it makes depend on, so that vectors
     * kept from it (the {@link EmbeddingCache}) are used again only for the very same model.
     *
     * @param pinned its {@code name:version}, which the trained classifier is composed with
     * @param artifactSha256 the sha256 of its ONNX file; null for a model without one (a remote model, whose
     *     vectors the upstream may change at any time: they are never cached)
     * @param settings everything else that shapes its vectors (its tokenizer's sha256, pooling, normalization,
     *     prefix, maximum length, truncation, the engine and its library version) as one canonical string
     * @param dimension the length of each vector
     */
    record Version(String pinned, String artifactSha256, String settings, int dimension) {
        public Version {
            requireNonNull(pinned, "pinned is null");
            requireNonNull(settings, "settings is null");
            if (dimension < 1) {
                throw new IllegalArgumentException("dimension must be positive, not " + dimension);
            }
        }

        /** Whether vectors of this version may be kept and used again. */
        public boolean cacheable() {
            return artifactSha256 != null;
        }
    }

    /**
     * @param vectors one per text, in order
     * @param computeNanos the engine's time on them
     */
    record Embedded(List<float[]> vectors, long computeNanos) {
        public Embedded {
            vectors = List.copyOf(vectors);
        }
    }

    /**
     * The version a reference ({@code name}, {@code name:version} or an alias) resolves to for the tenant.
     *
     * @throws dev.atrium.AtriumException 404 for a model the tenant cannot see, 400 for one that is not an embedding
     *     model
     */
    Version resolve(String tenantId, String reference);

    /**
     * Embeds texts with exactly the version {@link #resolve} gave.
     *
     * @throws dev.atrium.AtriumException 409 when that version's files or settings changed meanwhile (the model was
     *     deleted and uploaded again under its name), 404 when it is gone
     */
    Embedded embed(String tenantId, Version version, List<String> texts);
}
