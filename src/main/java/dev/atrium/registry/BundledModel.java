package dev.atrium.registry;

import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.Pooling;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * all-MiniLM-L6-v2 (quantized ONNX and its tokenizer.json, shipped in LangChain4j's Maven artifact), registered
 * as {@code all-minilm-l6-v2} version 1 the first time a data directory is used, so the quick start needs no
 * download. It is public: every tenant sees it. Once registered it is an ordinary model: deleting it is respected
 * across restarts.
 */
public final class BundledModel {
    public static final String NAME = "all-minilm-l6-v2";
    private static final String STEP = "bundled-model-registered";
    private static final String ONNX_RESOURCE = "/all-minilm-l6-v2-q.onnx";
    private static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-q-tokenizer.json";
    /** The sequence length the model was trained with (sentence-transformers' max_seq_length). */
    private static final int MAX_LENGTH = 256;
    private static final Logger LOG = LoggerFactory.getLogger(BundledModel.class);

    private BundledModel() {}

    public static void registerOnFirstStart(ModelRegistry registry) {
        if (registry.isDone(STEP)) {
            restoreArtifacts(registry);
            return;
        }
        if (registry.findModel(ModelScope.PLATFORM, NAME).isEmpty()) {
            registry.createModel(ModelScope.PLATFORM, NAME, ModelTask.EMBEDDING, EngineKind.ONNX,
                    "all-MiniLM-L6-v2 sentence embeddings (384 dimensions), int8-quantized; bundled with Atrium");
        }
        if (registry.listVersions(registry.model(ModelScope.PLATFORM, NAME)).isEmpty()) {
            Map<String, StagedArtifact> staged = new LinkedHashMap<>();
            staged.put(ArtifactFile.ONNX, stage(registry, ONNX_RESOURCE));
            staged.put(ArtifactFile.TOKENIZER, stage(registry, TOKENIZER_RESOURCE));
            ModelOptions options = new ModelOptions(Optional.of(Pooling.MEAN), Optional.of(true),
                    Optional.of(MAX_LENGTH), Optional.empty(), Optional.empty(), Optional.empty());
            registry.addVersion(ModelScope.PLATFORM, NAME, staged, options,
                    "{\"pooling\":\"mean\",\"normalize\":true,\"max_length\":" + MAX_LENGTH + "}",
                    dev.atrium.scheduling.SchedulingOptions.none());
            LOG.info("registered the bundled model {}", NAME);
        }
        registry.markDone(STEP);
    }

    /**
     * Where another replica over the same store registered it, this one's artifact store may lack its files:
     * they are put there again from the class path (the same bytes, so the same content address).
     */
    private static void restoreArtifacts(ModelRegistry registry) {
        Optional<Model> model = registry.findModel(ModelScope.PLATFORM, NAME);
        if (model.isEmpty()) {
            return; // deleted: respected
        }
        boolean missing = registry.listVersions(model.get()).stream().flatMap(version -> version.files().stream())
                .anyMatch(file -> !registry.artifacts().contains(file.sha256()));
        if (missing) {
            for (String resource : new String[] {ONNX_RESOURCE, TOKENIZER_RESOURCE}) {
                registry.artifacts().commit(stage(registry, resource));
            }
            LOG.info("restored the bundled model's files, registered by another replica over this store");
        }
    }

    private static StagedArtifact stage(ModelRegistry registry, String resource) {
        try (InputStream in = BundledModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the bundled model resource " + resource + " is not on the class path");
            }
            return registry.artifacts().stage(in, Long.MAX_VALUE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
