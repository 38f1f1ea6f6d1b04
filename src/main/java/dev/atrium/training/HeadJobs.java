package dev.atrium.training;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What the jobs that train a softmax head share (over embeddings, over pixels): its options from the job's
 * hyperparameters, the run with an event and a checkpoint per epoch and cancellation between epochs, and its
 * evaluation on the validation rows.
 */
final class HeadJobs {
    private HeadJobs() {}

    /** {@code n_epochs}, {@code batch_size}, {@code learning_rate}, {@code l2}, with the method's own defaults. */
    static HeadTrainingOptions options(JsonNode hyperparameters, long seed, int epochs, double learningRate) {
        return new HeadTrainingOptions(
                Hyperparameters.integer(hyperparameters, "n_epochs", epochs, 1, 1000),
                Hyperparameters.integer(hyperparameters, "batch_size", HeadTrainingOptions.DEFAULTS.batchSize(), 1,
                        4096),
                Hyperparameters.number(hyperparameters, "learning_rate", learningRate),
                Hyperparameters.number(hyperparameters, "l2", HeadTrainingOptions.DEFAULTS.l2()), seed);
    }

    /**
     * Trains the head, telling the job of every epoch.
     *
     * @throws CancellationException when the job is cancelled between epochs
     */
    static SoftmaxHead train(Trainer.Run run, HeadTrainingOptions options, HeadTrainingData data) {
        HeadTrainingOutcome outcome = new SoftmaxHeadTrainer(options).train(data, new HeadTrainingListener() {
            @Override
            public void epochFinished(EpochProgress progress, HeadCheckpoint checkpoint) {
                ObjectNode figures = JsonNodeFactory.instance.objectNode();
                figures.put("step", progress.epoch());
                figures.put("epochs", progress.epochs());
                figures.put("train_loss", progress.trainingLoss());
                figures.put("valid_loss", progress.validationLoss());
                figures.put("valid_mean_token_accuracy", progress.validationAccuracy());
                run.event("Epoch " + progress.epoch() + "/" + progress.epochs() + ": training loss "
                        + String.format(Locale.ROOT, "%.4f", progress.trainingLoss()) + ", validation accuracy "
                        + String.format(Locale.ROOT, "%.4f", progress.validationAccuracy()), figures);
                Map<String, Double> metrics = new LinkedHashMap<>();
                metrics.put("train_loss", progress.trainingLoss());
                metrics.put("valid_loss", progress.validationLoss());
                metrics.put("valid_accuracy", progress.validationAccuracy());
                run.checkpoint(progress.epoch(), metrics);
            }

            @Override
            public boolean cancelRequested() {
                return run.cancelled();
            }
        });
        return switch (outcome) {
            case HeadTrainingOutcome.Completed completed -> completed.head();
            case HeadTrainingOutcome.Cancelled cancelled -> throw new CancellationException();
        };
    }

    /** The head's evaluation on the validation rows: accuracy, macro-F1, ROC-AUC, log-loss, and the rows used. */
    static Map<String, Double> evaluate(SoftmaxHead head, float[][] validation, int[] classes, int trainingRows) {
        float[][] probabilities = head.probabilities(validation);
        double[][] scores = new double[probabilities.length][];
        for (int i = 0; i < probabilities.length; i++) {
            scores[i] = new double[probabilities[i].length];
            for (int c = 0; c < probabilities[i].length; c++) {
                scores[i][c] = probabilities[i][c];
            }
        }
        ClassificationMetrics evaluation = ClassificationMetrics.of(classes, scores);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("accuracy", evaluation.accuracy());
        metrics.put("macro_f1", evaluation.macroF1());
        evaluation.macroRocAuc().ifPresent(auc -> metrics.put("roc_auc", auc));
        metrics.put("log_loss", evaluation.logLoss());
        metrics.put("validation_examples", (double) evaluation.examples());
        metrics.put("training_examples", (double) trainingRows);
        return metrics;
    }

    /** The labels as a config's JSON array. */
    static tools.jackson.databind.node.ArrayNode labels(java.util.List<String> labels) {
        return JsonNodeFactory.instance.arrayNode().addAll(labels.stream().map(JsonNodeFactory.instance::stringNode)
                .toList());
    }
}
