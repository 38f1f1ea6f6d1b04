package dev.atrium.training;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What the jobs that train a softmax head share (over embeddings, over pixels): its options from the job's
 * hyperparameters, the run with an event, a checkpoint and its saved state per epoch (a job the server stopped
 * under goes on from its last epoch) and cancellation between epochs, its evaluation on the validation rows, and
 * the search space of an AutoML search over its hyperparameters.
 */
final class HeadJobs {
    private HeadJobs() {}

    /** {@code n_epochs}, {@code batch_size}, {@code learning_rate}, {@code l2}, with the method's own defaults. */
    static HeadTrainingOptions options(JsonNode hyperparameters, long seed, int epochs, double learningRate) {
        try {
            return new HeadTrainingOptions(
                    Hyperparameters.integer(hyperparameters, "n_epochs", epochs, 1, 1000),
                    Hyperparameters.integer(hyperparameters, "batch_size", HeadTrainingOptions.DEFAULTS.batchSize(), 1,
                            4096),
                    Hyperparameters.number(hyperparameters, "learning_rate", learningRate),
                    Hyperparameters.number(hyperparameters, "l2", HeadTrainingOptions.DEFAULTS.l2()), seed);
        } catch (IllegalArgumentException e) {
            throw dev.atrium.AtriumException.invalidParam("hyperparameters", e.getMessage());
        }
    }

    /** The hyperparameters a job's options came from, as the version's lineage records them. */
    static ObjectNode used(HeadTrainingOptions options) {
        ObjectNode used = JsonNodeFactory.instance.objectNode();
        used.put("n_epochs", options.epochs());
        used.put("batch_size", options.batchSize());
        used.put("learning_rate", options.learningRate());
        used.put("l2", options.l2());
        return used;
    }

    /**
     * A head's search space over data already embedded or preprocessed: its learning rate, L2 weight and batch
     * size, with {@code n_epochs} the budget; each configuration trained, evaluated on the validation rows, and
     * made a version by {@link #version}.
     */
    abstract static class Space implements SearchSpace {
        private final String family;
        private final int epochs;
        private final double learningRate;
        private final long seed;
        private final HeadTrainingData data;

        Space(String family, int epochs, double learningRate, long seed, HeadTrainingData data) {
            this.family = family;
            this.epochs = epochs;
            this.learningRate = learningRate;
            this.seed = seed;
            this.data = data;
        }

        @Override
        public List<String> families() {
            return List.of(family);
        }

        @Override
        public List<Parameter> parameters(String name) {
            return List.of(new Parameter("learning_rate", learningRate / 10, Math.min(10, learningRate * 10),
                            Scale.LOG),
                    new Parameter("l2", 1e-6, 1e-2, Scale.LOG),
                    new Parameter("batch_size", 8, 128, Scale.INTEGER));
        }

        @Override
        public Optional<Budget> budget(String name) {
            return Optional.of(new Budget("n_epochs", epochs));
        }

        @Override
        public String defaultMetric() {
            return "log_loss";
        }

        @Override
        public Trainer.Trained train(String name, JsonNode hyperparameters, Trainer.Run run) {
            HeadTrainingOptions options = HeadJobs.options(hyperparameters, seed, epochs, learningRate);
            SoftmaxHead head = HeadJobs.train(run, options, data);
            ObjectNode metrics = evaluate(head, data.validationVectors(), data.validationClasses(), data.labels(),
                    data.trainVectors().length);
            return version(head, metrics, used(options));
        }

        /** The trained head as the method's version, with its evaluation and the hyperparameters it had. */
        abstract Trainer.Trained version(SoftmaxHead head, ObjectNode metrics, ObjectNode hyperparameters);
    }

    /**
     * Trains the head, telling the job of every epoch; goes on from the job's saved state when it is this run's.
     *
     * @throws CancellationException when the job is cancelled between epochs
     */
    static SoftmaxHead train(Trainer.Run run, HeadTrainingOptions options, HeadTrainingData data) {
        HeadTrainingListener listener = new HeadTrainingListener() {
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
                if (run.wantsState()) {
                    run.saveState(checkpoint.toBytes());
                }
            }

            @Override
            public boolean cancelRequested() {
                return run.cancelled();
            }
        };
        SoftmaxHeadTrainer trainer = new SoftmaxHeadTrainer(options);
        Optional<HeadCheckpoint> saved = run.savedState().flatMap(HeadJobs::checkpoint)
                .filter(checkpoint -> checkpoint.options().equals(options)
                        && checkpoint.labels().equals(data.labels()) && checkpoint.dimension() == data.dimension()
                        && checkpoint.dataFingerprint() == data.fingerprint());
        HeadTrainingOutcome outcome;
        if (saved.isPresent()) {
            run.event("Going on from epoch " + saved.get().epoch() + ", where the job was stopped", null);
            outcome = trainer.resume(saved.get(), data, listener);
        } else {
            outcome = trainer.train(data, listener);
        }
        return switch (outcome) {
            case HeadTrainingOutcome.Completed completed -> completed.head();
            case HeadTrainingOutcome.Cancelled cancelled -> throw new CancellationException();
        };
    }

    private static Optional<HeadCheckpoint> checkpoint(byte[] state) {
        try {
            return Optional.of(HeadCheckpoint.fromBytes(state));
        } catch (RuntimeException e) {
            return Optional.empty(); // another trainer's state: start over
        }
    }

    /** The head's evaluation on the validation rows ({@link Evaluations}), and the training rows it had. */
    static ObjectNode evaluate(SoftmaxHead head, float[][] validation, int[] classes, List<String> labels,
            int trainingRows) {
        ObjectNode metrics = Evaluations.classification(classes, head.probabilities(validation), labels);
        metrics.put("training_examples", trainingRows);
        return metrics;
    }

    /** The labels as a config's JSON array. */
    static tools.jackson.databind.node.ArrayNode labels(java.util.List<String> labels) {
        return JsonNodeFactory.instance.arrayNode().addAll(labels.stream().map(JsonNodeFactory.instance::stringNode)
                .toList());
    }
}
