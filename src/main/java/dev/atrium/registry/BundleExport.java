package dev.atrium.registry;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EngineKind;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a version's bundle holds: its model file, tokenizer and voice activity detector, its config (which carries
 * its pre- and post-processing and labels), and the same for each part of a composed model under
 * {@code parts/ROLE/}; the manifest describes them (IO schema, labels, lineage, the runtimes it needs). GGUF and ONNX
 * versions have bundles; a remote version is a pointer to an upstream and its key, and has none.
 */
public final class BundleExport {
    public static final String MODEL_ROLE = "model";
    public static final String TOKENIZER_ROLE = "tokenizer";
    public static final String VAD_ROLE = "vad";
    public static final String CONFIG_ROLE = "config";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private BundleExport() {}

    /**
     * Writes a version's bundle, signed by {@code key}.
     *
     * @param runtimes the runtimes the version needs, by name, with their versions
     * @throws AtriumException 400 for a remote version
     */
    public static void write(ModelRegistry registry, ResolvedModel resolved, Map<String, String> runtimes,
            SigningKey key, Instant now, OutputStream out) {
        Bundle.write(manifest(registry, resolved, runtimes, now), sources(resolved), key, out);
    }

    /** Refuses what has no bundle, before anything is sent. */
    public static void requireBundleable(Model model) {
        if (!model.engine().hasArtifacts()) {
            throw AtriumException.withParam(ErrorCode.INVALID_REQUEST, "version", "model '" + model.name()
                    + "' is served by engine " + model.engine().wireName() + ": a remote version has no files to"
                    + " bundle");
        }
    }

    static ObjectNode manifest(ModelRegistry registry, ResolvedModel resolved, Map<String, String> runtimes,
            Instant now) {
        Model model = resolved.model();
        ModelVersion version = resolved.version();
        ObjectNode manifest = JsonNodeFactory.instance.objectNode();
        manifest.put("model", model.name());
        manifest.put("version", version.version());
        manifest.put("task", model.task().wireName());
        manifest.put("engine", model.engine().wireName());
        if (model.description() != null && !model.description().isEmpty()) {
            manifest.put("description", model.description());
        }
        manifest.put("created_at", version.createdAt().toString());
        manifest.put("exported_at", now.toString());
        ObjectNode io = manifest.putObject("io");
        io.set("inputs", JSON.valueToTree(version.metadata().inputs()));
        io.set("outputs", JSON.valueToTree(version.metadata().outputs()));
        if (!version.metadata().labels().isEmpty()) {
            manifest.set("labels", JSON.valueToTree(version.metadata().labels()));
        }
        registry.lineage(version).ifPresent(lineage -> manifest.set("lineage", lineage));
        // the publisher's own signature of the uploaded files, for the edge to check against the publisher's key too
        registry.signature(version).ifPresent(signature -> {
            ObjectNode signed = manifest.putObject("publisher_signature");
            signed.put("publisher", signature.publisherName())
                    .put("key_id", signature.keyId())
                    .put("format", SignedFiles.FORMAT)
                    .put("signature", signature.signature());
            signed.putObject("signed")
                    .put("model", signature.signed().model())
                    .put("tokenizer", signature.signed().tokenizer())
                    .put("vad", signature.signed().vad())
                    .put("config", signature.signed().config());
        });
        ObjectNode parts = manifest.putObject("parts");
        resolved.deployment().parts().forEach((role, part) -> parts.putObject(role)
                .put("model", part.key().modelName()).put("version", part.key().version())
                .put("task", part.task().wireName()));
        ObjectNode needs = manifest.putObject("runtimes");
        runtimes.forEach(needs::put);
        return manifest;
    }

    static List<Bundle.Source> sources(ResolvedModel resolved) {
        List<Bundle.Source> sources = new ArrayList<>();
        add(sources, "", resolved.model().engine(), resolved.deployment());
        resolved.deployment().parts().forEach((role, part) -> add(sources, "parts/" + role + "/", EngineKind.ONNX,
                part));
        return sources;
    }

    private static void add(List<Bundle.Source> sources, String prefix, EngineKind engine, Deployment deployment) {
        ArtifactFiles files = deployment.files();
        sources.add(Bundle.Source.of(prefix + modelFileName(engine), MODEL_ROLE, files.model()));
        files.tokenizer().ifPresent(file -> sources.add(Bundle.Source.of(prefix + "tokenizer.json", TOKENIZER_ROLE,
                file)));
        files.voiceActivity().ifPresent(file -> sources.add(Bundle.Source.of(prefix + "vad.onnx", VAD_ROLE, file)));
        sources.add(Bundle.Source.of(prefix + "config.json", CONFIG_ROLE, config(deployment.config())));
    }

    /** The file name of a model file in a bundle: {@code model.onnx} or {@code model.gguf}. */
    public static String modelFileName(EngineKind engine) {
        return engine == EngineKind.LLAMA ? "model.gguf" : "model.onnx";
    }

    private static byte[] config(JsonNode config) {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config).getBytes(StandardCharsets.UTF_8);
    }
}
