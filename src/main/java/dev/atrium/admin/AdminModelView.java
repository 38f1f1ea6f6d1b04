package dev.atrium.admin;

import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.TensorSpec;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.SignedFiles;
import dev.atrium.registry.VersionSignature;
import dev.atrium.server.Json;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** The management API's JSON views of models and versions. */
final class AdminModelView {
    private AdminModelView() {}

    /** @param tenant the owning tenant, or null for a public model */
    /** @param splits the aliases that split their traffic, by alias */
    record ModelView(String name, String tenant, String task, String engine, String description, Instant createdAt,
            List<Integer> versions, Map<String, Integer> aliases, Map<String, AliasView> splits) {}

    record ModelListView(List<ModelView> models) {}

    record VersionView(String model, int version, Instant createdAt, ArtifactFile artifact, List<ArtifactFile> files,
            List<TensorSpec> inputs, List<TensorSpec> outputs, EmbeddingView embedding, RemoteView remote,
            JsonNode config, SchedulingView scheduling, List<String> aliases, boolean loaded, JsonNode lineage,
            SignatureView signature) {}

    /**
     * Who signed an uploaded version's files, as verified at its upload; null for an unsigned upload and for versions
     * Atrium made itself (trained, quantized, bundled), whose lineage says what they were made from.
     *
     * @param publisherRevoked whether the publisher's key was revoked since; the record stays
     * @param format the signed statement's format, {@code atrium-model-signature/1}
     * @param signed the SHA-256 of each file the statement names ({@code -} for a part the upload lacked)
     * @param signature the base64 Ed25519 signature of the statement, to check again with the publisher's key
     */
    record SignatureView(String publisher, String publisherId, String keyId, boolean publisherRevoked, String format,
            SignedView signed, String signature, Instant verifiedAt) {
        static SignatureView of(VersionSignature signature) {
            if (signature == null) {
                return null;
            }
            SignedFiles files = signature.signed();
            return new SignatureView(signature.publisherName(), signature.publisherId(), signature.keyId(),
                    signature.publisherRevoked(), SignedFiles.FORMAT,
                    new SignedView(files.model(), files.tokenizer(), files.vad(), files.config()),
                    signature.signature(), signature.verifiedAt());
        }
    }

    record SignedView(String model, String tokenizer, String vad, String config) {}

    /** How a version is scheduled, as set (null: the server's default). */
    record SchedulingView(Integer maxBatchSize, Integer maxBatchTokens, Long maxQueueDelayUs, Integer instances,
            Integer intraOpThreads, Integer queueCapacity, Long deadlineMs) {}

    /** A remote version's upstream; its API key is never shown, only whether it has one. */
    record RemoteView(String baseUrl, String upstreamModel, boolean hasApiKey, long timeoutMs, RetryView retry,
            List<String> fallbacks, int contextLength, int maxOutputTokens) {}

    record RetryView(int maxAttempts, long initialBackoffMs, long maxBackoffMs) {}

    record VersionListView(List<VersionView> versions) {}

    record EmbeddingView(boolean tokenizer, int maxSequenceLength, int dimension, int vocabularySize, String pooling,
            boolean normalize, String output) {}

    /**
     * @param version the alias's version: the heaviest of a split
     * @param split version to weight, for an alias that splits its traffic; else null
     * @param sticky what keeps a caller on one version of a split ({@code none}, {@code key}, {@code user})
     */
    record AliasView(String model, String alias, int version, Map<String, Integer> split, String sticky) {}

    static AliasView alias(String model, String alias, int version,
            java.util.Optional<dev.atrium.registry.Split> split) {
        return new AliasView(model, alias, version, split.map(s -> {
            Map<String, Integer> weights = new java.util.LinkedHashMap<>();
            s.weights().forEach((v, w) -> weights.put(Integer.toString(v), w));
            return weights;
        }).orElse(null), split.map(s -> s.sticky().wireName()).orElse("none"));
    }

    static ModelView model(Model model, List<ModelVersion> versions, Map<String, Integer> aliases) {
        return model(model, versions, aliases, Map.of());
    }

    static ModelView model(Model model, List<ModelVersion> versions, Map<String, Integer> aliases,
            Map<String, AliasView> splits) {
        return new ModelView(model.name(), model.isPublic() ? null : model.owner(), model.task().wireName(),
                model.engine().wireName(), model.description(), model.createdAt(),
                versions.stream().map(ModelVersion::version).toList(), aliases, splits);
    }

    static VersionView version(ModelVersion version, Map<String, Integer> aliases, boolean loaded) {
        return version(version, aliases, loaded, null);
    }

    /** @param lineage what a training job made the version from; null for an upload */
    static VersionView version(ModelVersion version, Map<String, Integer> aliases, boolean loaded, JsonNode lineage) {
        return version(version, aliases, loaded, lineage, null);
    }

    /** @param signature who signed an uploaded version's files; null for an unsigned or platform-made one */
    static VersionView version(ModelVersion version, Map<String, Integer> aliases, boolean loaded, JsonNode lineage,
            VersionSignature signature) {
        EmbeddingMetadata embedding = version.metadata().embeddingMetadata().orElse(null);
        List<String> pointing = aliases.entrySet().stream()
                .filter(alias -> alias.getValue() == version.version())
                .map(Map.Entry::getKey)
                .toList();
        return new VersionView(version.modelName(), version.version(), version.createdAt(), version.artifact(),
                version.files(), version.metadata().inputs(), version.metadata().outputs(),
                embedding == null ? null : new EmbeddingView(embedding.hasTokenizer(), embedding.maxSequenceLength(),
                        embedding.dimension(), embedding.vocabularySize(), embedding.pooling().wireName(),
                        embedding.normalize(), embedding.output()),
                version.metadata().remoteMetadata().map(remote -> new RemoteView(remote.baseUrl(),
                        remote.upstreamModel(), remote.hasApiKey(), remote.timeoutMillis(),
                        new RetryView(remote.maxAttempts(), remote.initialBackoffMillis(), remote.maxBackoffMillis()),
                        remote.fallbacks(), remote.contextLength(), remote.maxOutputTokens())).orElse(null),
                Json.MAPPER.readTree(version.config()), new SchedulingView(version.scheduling().maxBatchSize(),
                        version.scheduling().maxBatchTokens(), version.scheduling().maxQueueDelayMicros(),
                        version.scheduling().instances(), version.scheduling().intraOpThreads(),
                        version.scheduling().queueCapacity(), version.scheduling().deadlineMillis()), pointing, loaded,
                lineage, SignatureView.of(signature));
    }
}
