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
import dev.atrium.registry.StagedArtifact;
import dev.atrium.scheduling.SchedulingOptions;
import java.io.ByteArrayInputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Publishes a job's trained model as a new version of its target model in the job's tenant (the model is made, with
 * the trained model's task, the first time), through the registry's own upload path: the artifact is checked as any
 * upload is, and the version is immutable from then on.
 */
public final class RegistryPublisher implements FineTuningJobs.Publisher {
    private final ModelRegistry registry;

    public RegistryPublisher(ModelRegistry registry) {
        this.registry = requireNonNull(registry, "registry is null");
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
        StagedArtifact onnx = registry.artifacts().stage(new ByteArrayInputStream(trained.onnx()), Long.MAX_VALUE);
        Map<String, StagedArtifact> staged = new LinkedHashMap<>();
        staged.put(ArtifactFile.ONNX, onnx);
        ModelOptions options = new ModelOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), trained.config());
        ModelVersion version = registry.addVersion(scope, job.targetModel(), staged, options,
                trained.config().toString(), SchedulingOptions.none());
        return job.targetModel() + ":" + version.version();
    }
}
