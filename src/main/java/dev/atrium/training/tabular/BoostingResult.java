package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * How a boosting run ended.
 *
 * @param roundsRun rounds boosted in all (counting those before a resumed checkpoint)
 * @param modelRounds rounds the model keeps: its best on the validation rows when it stopped early
 * @param history the reports of the rounds this call ran
 * @param checkpoint the state after the last round run, to resume from (after a cancellation, say)
 * @param boosterModel XGBoost's JSON model of the rounds kept; empty when cancelled
 * @param model the ONNX model and its config; empty when cancelled
 */
public record BoostingResult(StopReason stopReason, int roundsRun, int modelRounds, List<RoundReport> history,
        BoostingCheckpoint checkpoint, Optional<byte[]> boosterModel, Optional<TrainedTabularModel> model) {
    public BoostingResult {
        requireNonNull(stopReason, "stopReason is null");
        history = List.copyOf(requireNonNull(history, "history is null"));
        requireNonNull(checkpoint, "checkpoint is null");
        requireNonNull(boosterModel, "boosterModel is null");
        requireNonNull(model, "model is null");
        if ((stopReason == StopReason.CANCELLED) != model.isEmpty()) {
            throw new IllegalArgumentException("a model is given unless, and only unless, the run was cancelled");
        }
    }
}
