package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.training.Hyperparameters;
import dev.atrium.training.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code tabular-regression} and {@code tabular-classification} methods: a CSV file with a header, the column to
 * predict named by the {@code target} hyperparameter, split (seeded) four to one into training and validation, and
 * trained as the job's {@code model} says — {@code gradient-boosted-trees} (XGBoost, an event per round, early
 * stopping on the validation split, cancellable between rounds) or {@code linear} (ridge or logistic regression);
 * published as a {@code tabular} version whose config is the feature schema the rows were encoded with.
 * Hyperparameters: {@code target} (required), {@code n_rounds}, {@code learning_rate}, {@code max_depth}.
 */
public final class TabularTrainer implements Trainer {
    /** The families a tabular job's {@code model} names. */
    public static final String BOOSTED = "gradient-boosted-trees";
    public static final String LINEAR = "linear";
    private static final double VALIDATION_FRACTION = 0.2;

    private final Task task;
    private final Clock clock;

    public TabularTrainer(Task task, Clock clock) {
        this.task = requireNonNull(task, "task is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void validate(Run run) {
        family(run.job().baseModel());
        read(run);
    }

    @Override
    public Trained train(Run run) {
        String family = family(run.job().baseModel());
        TabularDataset dataset = read(run);
        run.event("Read " + dataset.rowCount() + " rows of " + dataset.features().size() + " features", null);
        TabularSplit split = dataset.split(VALIDATION_FRACTION, run.job().seed());
        TrainedTabularModel model;
        if (family.equals(LINEAR)) {
            model = new LinearTrainer().train(split, LinearTrainer.LinearParameters.defaults());
        } else {
            BoostingParameters parameters = parameters(run.job().hyperparameters(), run.job().seed());
            BoostingResult result = new GradientBoostingTrainer(clock).train(split, parameters, new TrainingListener() {
                @Override
                public void round(RoundReport report) {
                    if (report.round() % 10 == 0 || report.round() == 1) {
                        ObjectNode figures = JsonNodeFactory.instance.objectNode();
                        figures.put("step", report.round());
                        figures.put("train_" + report.metric(), report.trainMetric());
                        figures.put("valid_" + report.metric(), report.validationMetric());
                        run.event("Round " + report.round() + ": validation " + report.metric() + " "
                                + String.format(Locale.ROOT, "%.4f", report.validationMetric()), figures);
                    }
                    if (report.round() % 10 == 0) {
                        Map<String, Double> metrics = new LinkedHashMap<>();
                        metrics.put("train_" + report.metric(), report.trainMetric());
                        metrics.put("valid_" + report.metric(), report.validationMetric());
                        run.checkpoint(report.round(), metrics);
                    }
                }
            }, run::cancelled);
            if (result.stopReason() == StopReason.CANCELLED) {
                throw new CancellationException();
            }
            model = result.model().orElseThrow();
            run.event("Kept " + result.modelRounds() + " of " + result.roundsRun() + " rounds ("
                    + result.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ")", null);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put(model.metric(), model.validationMetric());
        metrics.put("training_rows", (double) split.train().rowCount());
        metrics.put("validation_rows", (double) split.validation().rowCount());
        return new Trained(ModelTask.TABULAR, model.onnxModel(), model.config(), metrics);
    }

    private TabularDataset read(Run run) {
        JsonNode target = run.job().hyperparameters().get("target");
        if (target == null || !target.isString() || target.stringValue().isBlank()) {
            throw AtriumException.invalidParam("hyperparameters", "a tabular job names the column to predict in"
                    + " hyperparameters.target");
        }
        if (!run.trainingFileName().toLowerCase(Locale.ROOT).endsWith(".csv")) {
            throw AtriumException.invalidParam("training_file", "a tabular job trains on a CSV file with a header");
        }
        try (InputStream in = run.trainingFile().get()) {
            return TabularCsvReader.read(in, TabularDatasetSpec.of(target.stringValue(), task), TabularCsvLimits.DEFAULT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String family(String model) {
        if (!model.equals(BOOSTED) && !model.equals(LINEAR)) {
            throw AtriumException.invalidParam("model", "a tabular job's model is the family to train: " + BOOSTED
                    + " or " + LINEAR + ", not '" + model + "'");
        }
        return model;
    }

    private static BoostingParameters parameters(JsonNode hyperparameters, long seed) {
        BoostingParameters defaults = BoostingParameters.defaults();
        try {
            return new BoostingParameters(
                    Hyperparameters.integer(hyperparameters, "n_rounds", defaults.maxRounds(), 1, 10_000),
                    Hyperparameters.number(hyperparameters, "learning_rate", defaults.learningRate()),
                    Hyperparameters.integer(hyperparameters, "max_depth", defaults.maxDepth(), 1, 16),
                    defaults.minChildWeight(),
                    defaults.l2(), defaults.subsample(), defaults.columnSample(), defaults.earlyStoppingRounds(), 0,
                    seed, defaults.threads());
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("hyperparameters", e.getMessage());
        }
    }
}
