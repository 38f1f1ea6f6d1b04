package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.RunContext;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Embeds texts with a registered embedding model through its engine, in chunks on the model's own queue (as the
 * tenant's work, for the queue's fair share), texts longer than the model's maximum cut to it.
 */
public final class RegistryEmbedder implements Embedder {
    private static final int CHUNK = 64;
    private static final Duration CHUNK_DEADLINE = Duration.ofMinutes(5);

    private final ModelRegistry registry;

    public RegistryEmbedder(ModelRegistry registry) {
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public Embedded embed(String tenantId, String reference, List<String> texts) {
        ResolvedModel resolved = registry.resolve(new ModelScope(tenantId, name -> true), reference);
        if (resolved.model().task() != ModelTask.EMBEDDING
                || !(registry.engine(resolved.model()) instanceof EmbeddingEngine engine)) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + resolved.model().name() + "' is a " + resolved.model().task().wireName() + " model; a text"
                    + " classifier trains over an embedding model");
        }
        List<float[]> vectors = new ArrayList<>(texts.size());
        long computeNanos = 0;
        for (int from = 0; from < texts.size(); from += CHUNK) {
            List<EmbeddingInput> inputs = texts.subList(from, Math.min(texts.size(), from + CHUNK)).stream()
                    .<EmbeddingInput>map(EmbeddingInput.Text::new).toList();
            PreparedEmbedding prepared = engine.prepare(resolved.deployment(), new EmbeddingRequest(inputs, true));
            EmbeddingResult result = engine.embed(prepared, new RunContext(tenantId == null ? "" : tenantId,
                    System.nanoTime() + CHUNK_DEADLINE.toNanos(), () -> { }));
            vectors.addAll(result.vectors());
            computeNanos += result.computeNanos();
        }
        return new Embedded(resolved.model().name() + ":" + resolved.version().version(), vectors, computeNanos);
    }
}
