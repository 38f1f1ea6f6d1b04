package dev.atrium.openai;

import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.registry.ResolvedModel;

/**
 * A model in OpenAI's {@code /v1/models} shape, with Atrium's additions: task, engine, the version that plain
 * requests reach, the context length (tokens per input), the embedding dimension and a classifier's labels.
 */
record OpenAiModel(String id, String object, long created, String ownedBy, String task, String engine, int version,
        Integer contextLength, Integer embeddingDimension, java.util.List<String> labels) {

    static OpenAiModel of(ResolvedModel resolved) {
        EmbeddingMetadata embedding = resolved.version().metadata().embeddingMetadata().orElse(null);
        Integer context = embedding != null ? Integer.valueOf(embedding.maxSequenceLength())
                : resolved.version().metadata().languageMetadata().map(language -> language.contextPerSlot())
                        .or(() -> resolved.version().metadata().remoteMetadata().map(remote -> remote.contextLength())
                                .filter(length -> length > 0))
                        .orElse(null);
        return new OpenAiModel(
                resolved.model().name(),
                "model",
                resolved.model().createdAt().getEpochSecond(),
                "atrium",
                resolved.model().task().wireName(),
                resolved.model().engine().wireName(),
                resolved.version().version(),
                context,
                embedding == null || !resolved.version().metadata().labels().isEmpty() ? null : embedding.dimension(),
                resolved.version().metadata().labels().isEmpty() ? null : resolved.version().metadata().labels());
    }
}
