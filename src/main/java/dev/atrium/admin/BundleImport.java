package dev.atrium.admin;

import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelTask;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Bundle;
import dev.atrium.registry.BundleExport;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.StagedArtifact;
import dev.atrium.server.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A verified bundle's version (and its parts) put into a registry as public models, each under the number it had
 * where it was made, through the same checks as an upload: its files are staged, its config read as an upload's
 * config is, and the engine validates the model before the version exists.
 */
public final class BundleImport {
    private BundleImport() {}

    /** Imports the bundle; returns the version it serves. */
    public static ModelVersion run(ModelRegistry registry, Bundle.Verified bundle) {
        JsonNode manifest = bundle.manifest();
        manifest.path("parts").properties().forEach(part -> importVersion(registry, bundle, "parts/" + part.getKey()
                + "/", part.getValue().path("model").asString(), part.getValue().path("version").asInt(),
                part.getValue().path("task").asString(), EngineKind.ONNX.wireName(), ""));
        return importVersion(registry, bundle, "", bundle.model(), bundle.version(), manifest.path("task").asString(),
                manifest.path("engine").asString(), manifest.path("description").asString(""));
    }

    private static ModelVersion importVersion(ModelRegistry registry, Bundle.Verified bundle, String prefix,
            String name, int number, String taskName, String engineName, String description) {
        ModelTask task = ModelTask.fromWireName(taskName).orElseThrow(() -> new Bundle.BundleException(
                "the manifest names an unknown task '" + taskName + "'"));
        EngineKind engine = EngineKind.fromWireName(engineName).filter(EngineKind::hasArtifacts).orElseThrow(() ->
                new Bundle.BundleException("the manifest names an engine this server cannot run: '" + engineName
                        + "'"));
        registry.createModel(ModelScope.PLATFORM, name, task, engine, description);
        registry.skipVersionsTo(ModelScope.PLATFORM, name, number);
        Map<String, StagedArtifact> staged = new LinkedHashMap<>();
        try {
            stage(registry, bundle, prefix + BundleExport.modelFileName(engine), engine.artifactRole(), staged);
            stage(registry, bundle, prefix + "tokenizer.json", ArtifactFile.TOKENIZER, staged);
            stage(registry, bundle, prefix + "vad.onnx", ArtifactFile.VAD, staged);
            JsonNode config = AdminModelsService.parseConfig(Files.readAllBytes(bundle.file(prefix + "config.json")));
            ModelVersion version = registry.addVersion(ModelScope.PLATFORM, name, staged,
                    AdminModelsService.embeddingOptions(config), Json.MAPPER.writeValueAsString(config),
                    AdminModelsService.scheduling(config, "config"));
            if (version.version() != number) {
                throw new IllegalStateException("the bundle's " + name + ":" + number + " became version "
                        + version.version());
            }
            return version;
        } catch (IOException e) {
            staged.values().forEach(file -> registry.artifacts().discard(file.path()));
            throw new UncheckedIOException(e);
        }
    }

    private static void stage(ModelRegistry registry, Bundle.Verified bundle, String path, String role,
            Map<String, StagedArtifact> staged) throws IOException {
        if (bundle.files().stream().noneMatch(entry -> entry.path().equals(path))) {
            return;
        }
        try (InputStream in = Files.newInputStream(bundle.file(path))) {
            staged.put(role, registry.artifacts().stage(in, Long.MAX_VALUE));
        }
    }
}
