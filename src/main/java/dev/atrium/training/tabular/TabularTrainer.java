package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.training.Hyperparameters;
import dev.atrium.training.SearchSpace;
import dev.atrium.training.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
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
 * The {@code tabular-regression} and {@code tabular-classification} methods: a CSV file with a header, the column to
 * predict named by the {@code target} hyperparameter, split (seeded) four to one into training and validation, and
 * trained as the job's {@code model} says — {@code gradient-boosted-trees} (XGBoost, an event per round, early
 * stopping on the validation split, cancellable between rounds, its state saved every 10 rounds so that a job the
 * server stopped under goes on from there) or {@code linear} (ridge or logistic regression), or {@code auto} to
 * let an AutoML search choose between them; evaluated on the validation split by running the ONNX file it made;
 * published as a {@code tabular} version whose config is the feature schema the rows were encoded with.
 * Hyperparameters: {@code target} (required); trees: {@code n_rounds}, {@code learning_rate}, {@code max_depth},
 * {@code min_child_weight}, {@code subsample}, {@code colsample_bytree}, {@code l2}; linear: {@code l2}.
 */
public final class TabularTrainer implements Trainer {
    /** The families a tabular job's {@code model} names. */
    public static final String BOOSTED = "gradient-boosted-trees";
    public static final String LINEAR = "linear";
    /** A job's {@code model} that searches both families. */
    public static final String AUTO = "auto";
    private static final double VALIDATION_FRACTION = 0.2;
    private static final int STATE_EVERY_ROUNDS = 10;

    private final Task task;
    private final Clock clock;
    private final int threads;

    /** @param threads the native threads a boosting run may use */
    public TabularTrainer(Task task, Clock clock, int threads) {
        this.task = requireNonNull(task, "task is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.threads = threads;
    }

    public TabularTrainer(Task task, Clock clock) {
        this(task, clock, BoostingParameters.defaults().threads());
    }

    @Override
    public void validate(Run run) {
        List<String> families = families(run.job().baseModel());
        read(run);
        // the configuration the job names must be one the trainer takes
        for (String family : families) {
            if (family.equals(BOOSTED)) {
                boosting(run.job().hyperparameters(), run.job().seed());
            } else {
                linear(run.job().hyperparameters());
            }
        }
    }

    @Override
    public Trained train(Run run) {
        TabularDataset dataset = read(run);
        run.event("Read " + dataset.rowCount() + " rows of " + dataset.features().size() + " features", null);
        return dev.atrium.training.AutoMl.train(run, new Space(split(run, dataset), families(run.job().baseModel())));
    }

    /** The job's data, split once, and the training of one configuration on it. */
    private final class Space implements SearchSpace {
        private final TabularSplit split;
        private final List<String> families;

        Space(TabularSplit split, List<String> families) {
            this.split = split;
            this.families = families;
        }

        @Override
        public List<String> families() {
            return families;
        }

        @Override
        public List<Parameter> parameters(String family) {
            if (family.equals(LINEAR)) {
                return List.of(new Parameter("l2", 1e-6, 10, Scale.LOG));
            }
            return List.of(new Parameter("learning_rate", 0.01, 0.3, Scale.LOG),
                    new Parameter("max_depth", 2, 10, Scale.INTEGER),
                    new Parameter("min_child_weight", 0.5, 20, Scale.LOG),
                    new Parameter("subsample", 0.5, 1, Scale.LINEAR),
                    new Parameter("colsample_bytree", 0.5, 1, Scale.LINEAR),
                    new Parameter("l2", 0.01, 10, Scale.LOG));
        }

        @Override
        public Optional<Budget> budget(String family) {
            return family.equals(BOOSTED) ? Optional.of(new Budget("n_rounds", BoostingParameters.defaults()
                    .maxRounds())) : Optional.empty();
        }

        @Override
        public String defaultMetric() {
            return task == Task.REGRESSION ? "rmse" : "log_loss";
        }

        @Override
        public Trained train(String family, JsonNode hyperparameters, Run run) {
            TrainedTabularModel model;
            ObjectNode used = JsonNodeFactory.instance.objectNode();
            if (family.equals(LINEAR)) {
                LinearTrainer.LinearParameters parameters = linear(hyperparameters);
                used.put("l2", parameters.l2());
                model = new LinearTrainer().train(split, parameters);
            } else {
                BoostingParameters parameters = boosting(hyperparameters, run.job().seed())
                        .withCheckpointEvery(STATE_EVERY_ROUNDS);
                used.put("n_rounds", parameters.maxRounds());
                used.put("learning_rate", parameters.learningRate());
                used.put("max_depth", parameters.maxDepth());
                used.put("min_child_weight", parameters.minChildWeight());
                used.put("subsample", parameters.subsample());
                used.put("colsample_bytree", parameters.columnSample());
                used.put("l2", parameters.l2());
                model = boost(run, parameters);
            }
            used.put("model", family);
            JsonNode target = hyperparameters.get("target");
            if (target != null) {
                used.set("target", target);
            }
            ObjectNode metrics = TabularEvaluation.evaluate(model.onnxModel(), split.encoding(), split.validation());
            metrics.put("training_examples", split.train().rowCount());
            return new Trained(ModelTask.TABULAR, model.onnxModel(), model.config(), metrics, used);
        }

        private TrainedTabularModel boost(Run run, BoostingParameters parameters) {
            GradientBoostingTrainer trainer = new GradientBoostingTrainer(clock);
            TrainingListener listener = new TrainingListener() {
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

                @Override
                public void checkpoint(BoostingCheckpoint checkpoint) {
                    run.saveState(checkpoint.toBytes());
                }

                @Override
                public boolean wantsCheckpoint() {
                    return run.wantsState();
                }
            };
            Optional<BoostingCheckpoint> saved = run.savedState().flatMap(TabularTrainer::checkpoint)
                    .filter(checkpoint -> checkpoint.digest().equals(GradientBoostingTrainer.digest(parameters,
                            split)));
            BoostingResult result;
            if (saved.isPresent()) {
                run.event("Going on from round " + saved.get().rounds() + ", where the job was stopped", null);
                result = trainer.resume(split, parameters, saved.get(), listener, run::cancelled);
            } else {
                result = trainer.train(split, parameters, listener, run::cancelled);
            }
            if (result.stopReason() == StopReason.CANCELLED) {
                throw new CancellationException();
            }
            run.event("Kept " + result.modelRounds() + " of " + result.roundsRun() + " rounds ("
                    + result.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ")", null);
            return result.model().orElseThrow();
        }
    }

    private static Optional<BoostingCheckpoint> checkpoint(byte[] state) {
        try {
            return Optional.of(BoostingCheckpoint.fromBytes(state));
        } catch (RuntimeException e) {
            return Optional.empty(); // another trainer's state, or none usable: start over
        }
    }

    /** The validation file's rows, or a seeded fifth of the training file's. */
    private TabularSplit split(Run run, TabularDataset dataset) {
        if (run.validationFile().isEmpty()) {
            return dataset.split(VALIDATION_FRACTION, run.job().seed());
        }
        try (InputStream in = run.trainingFile().get();
                java.io.Reader reader = new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8);
                org.apache.commons.csv.CSVParser csv = org.apache.commons.csv.CSVFormat.DEFAULT.builder().setHeader()
                        .setSkipHeaderRecord(true).setIgnoreEmptyLines(true).get().parse(reader)) {
            int rows = 0;
            for (org.apache.commons.csv.CSVRecord record : csv) {
                rows++;
            }
            return dataset.splitAt(rows);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The training file's rows, then the validation file's (whose header must be the same), read as one table, so
     * that both are encoded alike.
     */
    private TabularDataset read(Run run) {
        JsonNode target = run.job().hyperparameters().get("target");
        if (target == null || !target.isString() || target.stringValue().isBlank()) {
            throw AtriumException.invalidParam("hyperparameters", "a tabular job names the column to predict in"
                    + " hyperparameters.target");
        }
        if (!run.trainingFileName().toLowerCase(Locale.ROOT).endsWith(".csv")) {
            throw AtriumException.invalidParam("training_file", "a tabular job trains on a CSV file with a header");
        }
        try (InputStream in = run.validationFile().isEmpty() ? run.trainingFile().get()
                : concatenated(run.trainingFile().get(), run.validationFile().get().get())) {
            return TabularCsvReader.read(in, TabularDatasetSpec.of(target.stringValue(), task), TabularCsvLimits.DEFAULT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The training file, a line break, and the validation file without its header (which must be the same). */
    private static InputStream concatenated(InputStream training, InputStream validation) throws IOException {
        java.io.PushbackInputStream first = new java.io.PushbackInputStream(training, 64 * 1024);
        byte[] trainingHeader = headerLine(first);
        first.unread(trainingHeader);
        byte[] validationHeader = headerLine(validation);
        if (!new String(trainingHeader, java.nio.charset.StandardCharsets.UTF_8).strip().equals(
                new String(validationHeader, java.nio.charset.StandardCharsets.UTF_8).strip())) {
            training.close();
            validation.close();
            throw AtriumException.invalidParam("validation_file", "the validation file's header must be the training"
                    + " file's");
        }
        return new java.io.SequenceInputStream(java.util.Collections.enumeration(List.of(first,
                new java.io.ByteArrayInputStream(new byte[] {'\n'}), validation)));
    }

    /** The first line, its line break included, read from the stream; at most 64 KiB. */
    private static byte[] headerLine(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                break;
            }
            if (line.size() >= 64 * 1024) {
                throw AtriumException.invalidParam("validation_file", "the header line is longer than 64 KiB");
            }
        }
        return line.toByteArray();
    }

    private static List<String> families(String model) {
        return switch (model) {
            case BOOSTED -> List.of(BOOSTED);
            case LINEAR -> List.of(LINEAR);
            case AUTO -> List.of(BOOSTED, LINEAR);
            default -> throw AtriumException.invalidParam("model", "a tabular job's model is the family to train: "
                    + BOOSTED + ", " + LINEAR + " or " + AUTO + " (a search of both), not '" + model + "'");
        };
    }

    private static LinearTrainer.LinearParameters linear(JsonNode hyperparameters) {
        LinearTrainer.LinearParameters defaults = LinearTrainer.LinearParameters.defaults();
        try {
            return new LinearTrainer.LinearParameters(Hyperparameters.number(hyperparameters, "l2", defaults.l2()),
                    defaults.maxIterations(), defaults.tolerance());
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("hyperparameters", e.getMessage());
        }
    }

    private BoostingParameters boosting(JsonNode hyperparameters, long seed) {
        BoostingParameters defaults = BoostingParameters.defaults();
        try {
            return new BoostingParameters(
                    Hyperparameters.integer(hyperparameters, "n_rounds", defaults.maxRounds(), 1, 10_000),
                    Hyperparameters.number(hyperparameters, "learning_rate", defaults.learningRate()),
                    Hyperparameters.integer(hyperparameters, "max_depth", defaults.maxDepth(), 1, 16),
                    Hyperparameters.number(hyperparameters, "min_child_weight", defaults.minChildWeight()),
                    Hyperparameters.number(hyperparameters, "l2", defaults.l2()),
                    Hyperparameters.number(hyperparameters, "subsample", defaults.subsample()),
                    Hyperparameters.number(hyperparameters, "colsample_bytree", defaults.columnSample()),
                    defaults.earlyStoppingRounds(), 0, seed, threads);
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("hyperparameters", e.getMessage());
        }
    }
}
