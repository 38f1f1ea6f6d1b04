package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
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
        options(job.hyperparameters(), job.seed()); // a bad value is refused before the texts are embedded
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
        float[][] validationVectors = validation.vectors().toArray(float[][]::new);
        int[] validationClasses = classes(validationExamples, labels);
        HeadTrainingData data = new HeadTrainingData(labels, train.vectors().toArray(float[][]::new),
                classes(trainExamples, labels), validationVectors, validationClasses);
        return AutoMl.train(run, new HeadJobs.Space("softmax-head", HeadTrainingOptions.DEFAULTS.epochs(),
                HeadTrainingOptions.DEFAULTS.learningRate(), job.seed(), data) {
            @Override
            Trained version(SoftmaxHead head, ObjectNode metrics, ObjectNode hyperparameters) {
                ObjectNode config = JsonNodeFactory.instance.objectNode();
                config.put("embedding_model", train.pinned());
                config.set("labels", HeadJobs.labels(labels));
                return new Trained(ModelTask.TEXT_CLASSIFICATION, head.toOnnx(), config, metrics, hyperparameters);
            }
        });
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
        return HeadJobs.options(hyperparameters, seed, HeadTrainingOptions.DEFAULTS.epochs(),
                HeadTrainingOptions.DEFAULTS.learningRate());
    }
}
