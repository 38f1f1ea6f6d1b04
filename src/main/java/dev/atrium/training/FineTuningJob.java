package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A fine-tuning job: what it trains ({@code method} on the {@code baseModel}, from the files), where the result goes
 * (a new version of {@code targetModel}), and how it is going.
 *
 * @param tenantId null for the platform's own
 * @param keyId the key that created it, whose usage its compute is
 * @param fineTunedModel the new version's reference ({@code name:version}) once it succeeded
 * @param error why it failed: {@code {"code", "message", "param"}}
 * @param leaderboard an AutoML search's trials, best first, once it succeeded; else null
 * @param promote the alias to move to the result, and the metric it must be better on: {@code {"alias",
 *     "if_better_on"}}, or null
 */
public record FineTuningJob(String id, String tenantId, String keyId, TrainingMethod method, String baseModel,
        String targetModel, String trainingFile, String validationFile, JsonNode hyperparameters, long seed,
        JobStatus status, String fineTunedModel, JsonNode error, JsonNode metrics, Instant createdAt,
        Instant startedAt, Instant finishedAt, JsonNode leaderboard, JsonNode promote) {
    public FineTuningJob {
        requireNonNull(id, "id is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(method, "method is null");
        requireNonNull(baseModel, "baseModel is null");
        requireNonNull(targetModel, "targetModel is null");
        requireNonNull(trainingFile, "trainingFile is null");
        requireNonNull(hyperparameters, "hyperparameters is null");
        requireNonNull(status, "status is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
        startedAt = startedAt == null ? null : EpochMicros.truncate(startedAt);
        finishedAt = finishedAt == null ? null : EpochMicros.truncate(finishedAt);
    }

    public Optional<String> validationFileId() {
        return Optional.ofNullable(validationFile);
    }
}
