package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.RunContext;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Embeds texts with a registered embedding model through its engine, in chunks on the model's own queue (as the
 * tenant's work, for the queue's fair share), texts longer than the model's maximum cut to it.
 */
public final class RegistryEmbedder implements Embedder {
    private static final int CHUNK = 64;
    private static final Duration CHUNK_DEADLINE = Duration.ofMinutes(5);
    /** Texts are cut to the model's maximum, never refused: part of what makes a vector. */
    private static final boolean TRUNCATE = true;
    private static final String ONNX_RUNTIME = Optional.ofNullable(
            ai.onnxruntime.OrtEnvironment.class.getPackage().getImplementationVersion()).orElse("unknown");

    private final ModelRegistry registry;

    public RegistryEmbedder(ModelRegistry registry) {
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public Version resolve(String tenantId, String reference) {
        return version(resolved(tenantId, reference));
    }

    @Override
    public Embedded embed(String tenantId, Version version, List<String> texts) {
        ResolvedModel resolved = resolved(tenantId, version.pinned());
        if (!version(resolved).equals(version)) {
            throw new AtriumException(ErrorCode.CONFLICT, "embedding model " + version.pinned() + " changed while"
                    + " the job ran (it was uploaded again); run the job again");
        }
        EmbeddingEngine engine = (EmbeddingEngine) registry.engine(resolved.model());
        List<float[]> vectors = new ArrayList<>(texts.size());
        long computeNanos = 0;
        for (int from = 0; from < texts.size(); from += CHUNK) {
            List<EmbeddingInput> inputs = texts.subList(from, Math.min(texts.size(), from + CHUNK)).stream()
                    .<EmbeddingInput>map(EmbeddingInput.Text::new).toList();
            PreparedEmbedding prepared = engine.prepare(resolved.deployment(), new EmbeddingRequest(inputs,
                    TRUNCATE));
            EmbeddingResult result = engine.embed(prepared, new RunContext(tenantId == null ? "" : tenantId,
                    System.nanoTime() + CHUNK_DEADLINE.toNanos(), () -> { }));
            vectors.addAll(result.vectors());
            computeNanos += result.computeNanos();
        }
        return new Embedded(vectors, computeNanos);
    }

    private ResolvedModel resolved(String tenantId, String reference) {
        ResolvedModel resolved = registry.resolve(new ModelScope(tenantId, name -> true), reference);
        if (resolved.model().task() != ModelTask.EMBEDDING
                || !(registry.engine(resolved.model()) instanceof EmbeddingEngine)) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + resolved.model().name() + "' is a " + resolved.model().task().wireName() + " model; a text"
                    + " classifier trains over an embedding model");
        }
        return resolved;
    }

    /** The version and all that shapes its vectors, read from what its upload recorded (which never changes). */
    private static Version version(ResolvedModel resolved) {
        String pinned = resolved.model().name() + ":" + resolved.version().version();
        Optional<EmbeddingMetadata> embedding = resolved.version().metadata().embeddingMetadata();
        ArtifactFile artifact = resolved.version().file(ArtifactFile.ONNX).orElse(null);
        if (artifact == null || embedding.isEmpty()) {
            return new Version(pinned, null, "engine=" + resolved.model().engine().name(),
                    embedding.map(EmbeddingMetadata::dimension).orElse(1));
        }
        EmbeddingMetadata metadata = embedding.get();
        StringBuilder settings = new StringBuilder()
                .append("engine=onnx;onnxruntime=").append(ONNX_RUNTIME)
                .append(";tokenizer=").append(resolved.version().file(ArtifactFile.TOKENIZER)
                        .map(ArtifactFile::sha256).orElse("none"))
                .append(";output=").append(metadata.output())
                .append(";pooling=").append(metadata.pooling().wireName())
                .append(";normalize=").append(metadata.normalize())
                .append(";max_length=").append(metadata.maxSequenceLength())
                .append(";dimension=").append(metadata.dimension())
                .append(";truncate=").append(TRUNCATE);
        String prefix = metadata.prefixes().isEmpty() ? "" : metadata.prefixes().get(metadata.defaultInputType());
        settings.append(";prefix=").append(prefix.length()).append(':').append(prefix); // last, and of a told length
        return new Version(pinned, artifact.sha256(), settings.toString(), metadata.dimension());
    }
}
