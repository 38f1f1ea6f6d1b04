package dev.atrium.admin;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.onnx.image.ClassificationOutput;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.training.MergedOnnx;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.SequencedMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A model version as one ONNX file, {@code GET /admin/models/{name}/versions/{version}/onnx}: a composed text
 * classifier merged with its embedding model into one model ({@link MergedOnnx}), any other ONNX version's model file
 * as it is (a tokenizer or voice activity detector stays a file of its own); a GGUF or remote version has none and
 * is a 400. Whatever can be refused is refused before the first byte is sent.
 */
final class OnnxExport {
    private OnnxExport() {}

    static void send(ModelRegistry registry, ModelScope scope, String name, int number, ServerResponse response) {
        // refused before the version is resolved for its files: resolving a remote version opens its upstream key
        Model model = registry.model(scope, name);
        ModelVersion version = registry.version(scope, name, number);
        String what = "version " + version.version() + " of model '" + model.name() + "'";
        switch (model.engine()) {
            case LLAMA -> throw new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, what + " is a GGUF model (engine"
                    + " llama); it has no ONNX file to export");
            case REMOTE -> throw new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, what + " is a remote model,"
                    + " served by its upstream; it has no ONNX file to export");
            case ONNX -> { }
        }
        ResolvedModel resolved = registry.readableVersion(scope, name, number);
        Deployment deployment = resolved.deployment();
        String fileName = model.name() + "-" + version.version() + ".onnx";
        Optional<Deployment> encoder = deployment.part(Deployment.EMBEDDING_PART);
        if (encoder.isPresent()) {
            MergedOnnx merged = merge(deployment, encoder.get());
            start(response, fileName, merged.sizeBytes());
            try (OutputStream out = response.outputStream()) {
                merged.writeTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        Path file = deployment.files().model();
        try (InputStream in = Files.newInputStream(file)) {
            start(response, fileName, Files.size(file));
            try (OutputStream out = response.outputStream()) {
                in.transferTo(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The head over its embedding model, pooled and normalized as that model is served, with its scores. */
    private static MergedOnnx merge(Deployment classifier, Deployment encoder) {
        EmbeddingMetadata embedding = encoder.metadata().embeddingMetadata().orElseThrow(() -> AtriumException
                .internal("the embedding model " + encoder.key() + " has no embedding metadata", null));
        JsonNode config = classifier.config();
        if (!config.has("labels") && config instanceof ObjectNode object) {
            // the labels found at upload (the head's own metadata when the config named none)
            ObjectNode withLabels = object.deepCopy();
            classifier.metadata().labels().forEach(withLabels.putArray("labels")::add);
            config = withLabels;
        }
        ClassificationOutput scores = ClassificationOutput.fromConfig(config, classifier.metadata().outputs(),
                java.util.Map.of());
        SequencedMap<String, String> properties = new LinkedHashMap<>();
        properties.put("atrium.embedding_model", config.path("embedding_model").asString(""));
        properties.put("atrium.pooling", embedding.pooling().wireName());
        properties.put("atrium.normalize", Boolean.toString(embedding.normalize()));
        properties.put("atrium.max_length", Integer.toString(embedding.maxSequenceLength()));
        String prefix = embedding.prefix(Optional.empty(), encoder.key().modelName());
        if (!prefix.isEmpty()) {
            // the merged model reads token ids: whoever tokenizes puts the prefix before each text, as Atrium does
            properties.put("atrium.text_prefix", prefix);
        }
        return MergedOnnx.of(encoder.files().model(), embedding, classifier.files().model(),
                new MergedOnnx.Scores(scores.output(), scores.kind() == ClassificationOutput.OutputKind.LOGITS,
                        scores.labels()), properties);
    }

    private static void start(ServerResponse response, String fileName, long size) {
        response.status(Status.OK_200);
        response.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        // model names are lowercase letters, digits, '-', '.' and '_': nothing to quote
        response.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + fileName + "\"");
        response.header(HeaderNames.CONTENT_LENGTH, Long.toString(size));
    }
}
