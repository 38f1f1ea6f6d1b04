package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelOptions;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.registry.StagedArtifact;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Publishes a job's trained model as a new version of its target model in the job's tenant (the model is made, with
 * the trained model's task, the first time), through the registry's own upload path: the artifact is checked as any
 * upload is, and the version is immutable from then on. The version carries its lineage — the job, the files'
 * sha256, the split seed, the trainer and library versions, the hyperparameters, the base model version and its
 * sha256, and the evaluation — written with it; a job that publishes again (it ran again after a restart) gets the
 * version it made before.
 */
public final class RegistryPublisher implements FineTuningJobs.Publisher {
    private static final Map<String, String> LIBRARIES = libraries();

    private final ModelRegistry registry;
    private final TrainingFiles files;

    public RegistryPublisher(ModelRegistry registry, TrainingFiles files) {
        this.registry = requireNonNull(registry, "registry is null");
        this.files = requireNonNull(files, "files is null");
    }

    @Override
    public String publish(FineTuningJob job, Trainer.Trained trained) {
        ModelScope scope = new ModelScope(job.tenantId(), name -> true);
        Optional<Model> existing = registry.findModel(scope, job.targetModel());
        if (existing.isPresent() && existing.get().task() != trained.task()) {
            throw AtriumException.withParam(ErrorCode.CONFLICT, "suffix", "model '" + job.targetModel() + "' is a "
                    + existing.get().task().wireName() + " model; a " + job.method().wireName() + " job makes "
                    + trained.task().wireName() + " versions");
        }
        if (existing.isEmpty()) {
            registry.createModel(scope, job.targetModel(), trained.task(), EngineKind.ONNX, "trained by fine-tuning job "
                    + job.id());
        }
        ObjectNode lineage = lineage(job, trained, scope);
        StagedArtifact onnx = registry.artifacts().stage(new ByteArrayInputStream(trained.onnx()), Long.MAX_VALUE);
        Map<String, StagedArtifact> staged = new LinkedHashMap<>();
        staged.put(ArtifactFile.ONNX, onnx);
        ModelOptions options = new ModelOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), trained.config());
        ModelVersion version = registry.addTrainedVersion(scope, job.targetModel(), staged, options,
                trained.config().toString(), job.id(), lineage.toString());
        return job.targetModel() + ":" + version.version();
    }

    private ObjectNode lineage(FineTuningJob job, Trainer.Trained trained, ModelScope scope) {
        ObjectNode lineage = JsonNodeFactory.instance.objectNode();
        lineage.put("job", job.id());
        lineage.put("method", job.method().wireName());
        lineage.set("training_file", file(job.tenantId(), job.trainingFile()));
        lineage.set("validation_file", job.validationFile() == null ? null : file(job.tenantId(),
                job.validationFile()));
        ObjectNode split = lineage.putObject("split");
        split.put("seed", job.seed());
        if (job.validationFile() == null) {
            split.put("validation_fraction", 0.2);
        }
        JsonNode metrics = trained.metrics();
        ObjectNode data = lineage.putObject("dataset");
        data.put("training_rows", metrics.path("training_examples").asLong());
        data.put("validation_rows", metrics.path("validation_examples").asLong());
        JsonNode labels = trained.config().get("labels");
        if (labels != null && labels.isArray()) {
            data.put("labels", labels.size());
        }
        JsonNode embedding = trained.config().get("embedding_model");
        if (embedding != null && embedding.isString()) {
            ResolvedModel base = registry.resolve(scope, embedding.stringValue());
            ObjectNode node = lineage.putObject("base_model");
            node.put("model", base.model().name());
            node.put("version", base.version().version());
            node.put("sha256", base.version().artifact().sha256());
        } else {
            lineage.putObject("base_model").put("family", job.baseModel());
        }
        ObjectNode trainer = lineage.putObject("trainer");
        trainer.put("method", job.method().wireName());
        ObjectNode libraries = trainer.putObject("libraries");
        LIBRARIES.forEach(libraries::put);
        lineage.set("hyperparameters", trained.hyperparameters());
        if (trained.leaderboard() != null) {
            lineage.put("search_trials", trained.leaderboard().size());
        }
        lineage.set("metrics", metrics);
        return lineage;
    }

    private ObjectNode file(String tenantId, String id) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("id", id);
        try {
            TrainingFile file = files.get(tenantId, id);
            node.put("sha256", file.sha256());
            node.put("bytes", file.bytes());
        } catch (AtriumException e) {
            node.put("deleted", true); // deleted while the job ran: the version stands, its lineage says so
        }
        return node;
    }

    /** The versions of what trains and runs a model here: Atrium, XGBoost, ONNX Runtime, the JDK. */
    private static Map<String, String> libraries() {
        Map<String, String> versions = new LinkedHashMap<>();
        versions.put("atrium", dev.atrium.Atrium.VERSION);
        Properties xgboost = new Properties();
        try (InputStream in = ml.dmlc.xgboost4j.java.XGBoost.class.getClassLoader()
                .getResourceAsStream("xgboost4j-version.properties")) {
            if (in != null) {
                xgboost.load(in);
            }
        } catch (IOException e) {
            // unknown, then
        }
        versions.put("xgboost", xgboost.getProperty("version", "unknown"));
        versions.put("onnxruntime", Optional.ofNullable(ai.onnxruntime.OrtEnvironment.class.getPackage()
                .getImplementationVersion()).orElse("unknown"));
        versions.put("java", Runtime.version().toString());
        return versions;
    }
}
