package dev.atrium.engine;

import java.util.List;
import java.util.Optional;

/**
 * What was read from a model version's artifacts when it was uploaded: its tensor signature and, for embedding
 * models, how embeddings are made; for language models, what the GGUF file says of itself; for classifiers, their
 * labels. Stored with the
 * version, so it never changes. A remote model has no artifacts: its metadata says where it sends requests.
 */
public record ModelMetadata(List<TensorSpec> inputs, List<TensorSpec> outputs, EmbeddingMetadata embedding,
        LanguageMetadata language, RemoteMetadata remote, List<String> labels) {
    public ModelMetadata {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        // versions stored before task models had labels have none
        labels = labels == null ? List.of() : List.copyOf(labels);
    }

    public ModelMetadata(List<TensorSpec> inputs, List<TensorSpec> outputs, EmbeddingMetadata embedding,
            LanguageMetadata language, RemoteMetadata remote) {
        this(inputs, outputs, embedding, language, remote, List.of());
    }

    /** The metadata of a classifier: its tensors and its class labels, in the order of its scores. */
    public static ModelMetadata classifier(List<TensorSpec> inputs, List<TensorSpec> outputs, List<String> labels) {
        return new ModelMetadata(inputs, outputs, null, null, null, labels);
    }

    public Optional<EmbeddingMetadata> embeddingMetadata() {
        return Optional.ofNullable(embedding);
    }

    public ModelMetadata(List<TensorSpec> inputs, List<TensorSpec> outputs, EmbeddingMetadata embedding,
            LanguageMetadata language) {
        this(inputs, outputs, embedding, language, null);
    }

    public static ModelMetadata remote(RemoteMetadata remote) {
        return new ModelMetadata(List.of(), List.of(), null, null, remote);
    }

    public Optional<RemoteMetadata> remoteMetadata() {
        return Optional.ofNullable(remote);
    }

    public Optional<LanguageMetadata> languageMetadata() {
        return Optional.ofNullable(language);
    }

    public Optional<TensorSpec> input(String name) {
        return inputs.stream().filter(spec -> spec.name().equals(name)).findFirst();
    }

    public Optional<TensorSpec> output(String name) {
        return outputs.stream().filter(spec -> spec.name().equals(name)).findFirst();
    }
}
