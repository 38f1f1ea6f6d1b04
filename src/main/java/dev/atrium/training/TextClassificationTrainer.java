package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code text-classification} method: the job's texts (JSONL {@code {"text", "label"}}, OpenAI chat lines, or CSV)
 * embedded with its base embedding model, a softmax head trained on them (seeded, an event and a checkpoint per
 * epoch, cancellable between epochs), evaluated on the validation file or a seeded stratified fifth of the training
 * file, and published as a composed text classifier: the head's ONNX, with the embedding version pinned and the
 * labels in its config. Hyperparameters: {@code n_epochs}, {@code batch_size}, {@code learning_rate}, {@code l2}.
 */
public final class TextClassificationTrainer implements Trainer {
    private static final double VALIDATION_FRACTION = 0.2;

    private final Embedder embedder;

    public TextClassificationTrainer(Embedder embedder) {
        this.embedder = requireNonNull(embedder, "embedder is null");
    }

    @Override
    public void validate(Run run) {
        read(run.trainingFile(), run.trainingFileName(), "training_file");
        run.validationFile().ifPresent(file -> read(file, run.validationFileName().orElseThrow(), "validation_file"));
    }

    @Override
    public Trained train(Run run) {
        FineTuningJob job = run.job();
        HeadTrainingOptions options = options(job.hyperparameters(), job.seed());
        TextDataset training = read(run.trainingFile(), run.trainingFileName(), "training_file");
        List<TextExample> trainExamples;
        List<TextExample> validationExamples;
        if (run.validationFile().isPresent()) {
            trainExamples = training.examples();
            validationExamples = read(run.validationFile().get(), run.validationFileName().orElseThrow(),
                    "validation_file").examples();
        } else {
            StratifiedSplit split = StratifiedSplit.of(training.classes(), VALIDATION_FRACTION, job.seed());
            trainExamples = training.select(split.train());
            validationExamples = training.select(split.validation());
        }
        List<String> labels = training.labels();
        for (TextExample example : validationExamples) {
            if (!labels.contains(example.label())) {
                throw AtriumException.invalidParam("validation_file", "line " + example.line() + " has label '"
                        + example.label() + "', which the training file does not have");
            }
        }
        run.event("Embedding " + (trainExamples.size() + validationExamples.size()) + " texts with "
                + job.baseModel(), null);
        Embedder.Embedded train = embedder.embed(job.tenantId(), job.baseModel(),
                trainExamples.stream().map(TextExample::text).toList());
        Embedder.Embedded validation = embedder.embed(job.tenantId(), train.pinned(),
                validationExamples.stream().map(TextExample::text).toList());
        if (run.cancelled()) {
            throw new CancellationException();
        }
        HeadTrainingData data = new HeadTrainingData(labels, train.vectors().toArray(float[][]::new),
                classes(trainExamples, labels), validation.vectors().toArray(float[][]::new),
                classes(validationExamples, labels));
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
        SoftmaxHead head = switch (outcome) {
            case HeadTrainingOutcome.Completed completed -> completed.head();
            case HeadTrainingOutcome.Cancelled cancelled -> throw new CancellationException();
        };
        float[][] validationVectors = validation.vectors().toArray(float[][]::new);
        float[][] probabilities = head.probabilities(validationVectors);
        double[][] scores = new double[probabilities.length][];
        for (int i = 0; i < probabilities.length; i++) {
            scores[i] = new double[probabilities[i].length];
            for (int c = 0; c < probabilities[i].length; c++) {
                scores[i][c] = probabilities[i][c];
            }
        }
        ClassificationMetrics evaluation = ClassificationMetrics.of(classes(validationExamples, labels), scores);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("accuracy", evaluation.accuracy());
        metrics.put("macro_f1", evaluation.macroF1());
        evaluation.macroRocAuc().ifPresent(auc -> metrics.put("roc_auc", auc));
        metrics.put("log_loss", evaluation.logLoss());
        metrics.put("validation_examples", (double) evaluation.examples());
        metrics.put("training_examples", (double) trainExamples.size());
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        config.put("embedding_model", train.pinned());
        config.set("labels", JsonNodeFactory.instance.arrayNode().addAll(labels.stream()
                .map(JsonNodeFactory.instance::stringNode).toList()));
        return new Trained(ModelTask.TEXT_CLASSIFICATION, head.toOnnx(), config, metrics);
    }

    private static int[] classes(List<TextExample> examples, List<String> labels) {
        int[] classes = new int[examples.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = labels.indexOf(examples.get(i).label());
        }
        return classes;
    }

    private static TextDataset read(Supplier<InputStream> file, String name, String param) {
        String lower = name.toLowerCase(Locale.ROOT);
        TextDatasetFormat format = lower.endsWith(".csv") ? TextDatasetFormat.CSV : TextDatasetFormat.JSONL;
        try (InputStream in = file.get()) {
            return new TextDatasetReader(param, TextDatasetLimits.DEFAULTS).read(in, format);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static HeadTrainingOptions options(JsonNode hyperparameters, long seed) {
        HeadTrainingOptions defaults = HeadTrainingOptions.DEFAULTS;
        try {
            return new HeadTrainingOptions(
                    integer(hyperparameters, "n_epochs", defaults.epochs(), 1, 1000),
                    integer(hyperparameters, "batch_size", defaults.batchSize(), 1, 4096),
                    number(hyperparameters, "learning_rate", defaults.learningRate()),
                    number(hyperparameters, "l2", defaults.l2()),
                    seed);
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("hyperparameters", e.getMessage());
        }
    }

    private static int integer(JsonNode hyperparameters, String field, int fallback, int min, int max) {
        JsonNode node = hyperparameters.get(field);
        if (node == null || node.isNull() || (node.isString() && node.stringValue().equals("auto"))) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < min || node.intValue() > max) {
            throw AtriumException.invalidParam("hyperparameters", "'" + field + "' must be \"auto\" or an integer from "
                    + min + " to " + max);
        }
        return node.intValue();
    }

    private static double number(JsonNode hyperparameters, String field, double fallback) {
        JsonNode node = hyperparameters.get(field);
        if (node == null || node.isNull() || (node.isString() && node.stringValue().equals("auto"))) {
            return fallback;
        }
        if (!node.isNumber() || !(node.doubleValue() >= 0) || !Double.isFinite(node.doubleValue())) {
            throw AtriumException.invalidParam("hyperparameters", "'" + field + "' must be \"auto\" or a non-negative"
                    + " number");
        }
        return node.doubleValue();
    }
}
