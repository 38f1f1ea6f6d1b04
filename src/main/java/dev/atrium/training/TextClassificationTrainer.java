package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
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
 *
 * <p>Each file's embeddings are kept in the {@link EmbeddingCache} under the embedding model version and the file's
 * sha256: another job on the same file and version (other hyperparameters, a search run again, a job going on after
 * a restart) takes them from there instead of embedding its texts again, and trains on exactly the same vectors.
 */
public final class TextClassificationTrainer implements Trainer {
    private static final double VALIDATION_FRACTION = 0.2;

    private final Embedder embedder;
    private final EmbeddingCache cache;

    /** @param files whose embedding cache keeps the vectors of the files the jobs train on */
    public TextClassificationTrainer(Embedder embedder, TrainingFiles files) {
        this(embedder, files.embeddings());
    }

    TextClassificationTrainer(Embedder embedder, EmbeddingCache cache) {
        this.embedder = requireNonNull(embedder, "embedder is null");
        this.cache = requireNonNull(cache, "cache is null");
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
        Optional<TextDataset> validationFile = run.validationFile().map(file -> read(file,
                run.validationFileName().orElseThrow(), "validation_file"));
        List<String> labels = training.labels();
        for (TextExample example : validationFile.map(TextDataset::examples).orElse(List.of())) {
            if (!labels.contains(example.label())) {
                throw AtriumException.invalidParam("validation_file", "line " + example.line() + " has label '"
                        + example.label() + "', which the training file does not have");
            }
        }
        Embedder.Version version = embedder.resolve(job.tenantId(), job.baseModel());
        // the whole file's vectors, in file order, whatever part of it trains: so they are the file's to keep
        float[][] trainingVectors = vectors(run, version, training, "training_file", run.trainingFileName(),
                run.trainingFileSha256());
        List<TextExample> trainExamples;
        List<TextExample> validationExamples;
        float[][] trainVectors;
        float[][] validationVectors;
        if (validationFile.isPresent()) {
            trainExamples = training.examples();
            trainVectors = trainingVectors;
            validationExamples = validationFile.get().examples();
            validationVectors = vectors(run, version, validationFile.get(), "validation_file",
                    run.validationFileName().orElseThrow(), run.validationFileSha256().orElseThrow());
        } else {
            StratifiedSplit split = StratifiedSplit.of(training.classes(), VALIDATION_FRACTION, job.seed());
            trainExamples = training.select(split.train());
            trainVectors = select(trainingVectors, split.train());
            validationExamples = training.select(split.validation());
            validationVectors = select(trainingVectors, split.validation());
        }
        int[] validationClasses = classes(validationExamples, labels);
        HeadTrainingData data = new HeadTrainingData(labels, trainVectors, classes(trainExamples, labels),
                validationVectors, validationClasses);
        return AutoMl.train(run, new HeadJobs.Space("softmax-head", HeadTrainingOptions.DEFAULTS.epochs(),
                HeadTrainingOptions.DEFAULTS.learningRate(), job.seed(), data) {
            @Override
            Trained version(SoftmaxHead head, ObjectNode metrics, ObjectNode hyperparameters) {
                ObjectNode config = JsonNodeFactory.instance.objectNode();
                config.put("embedding_model", version.pinned());
                config.set("labels", HeadJobs.labels(labels));
                return new Trained(ModelTask.TEXT_CLASSIFICATION, head.toOnnx(), config, metrics, hyperparameters);
            }
        });
    }

    /**
     * A file's vectors, one per example in file order: from the cache when it has them for this version and these
     * bytes, else embedded (and kept there). Each way is an event.
     */
    private float[][] vectors(Run run, Embedder.Version version, TextDataset dataset, String param, String fileName,
            String sha256) {
        FineTuningJob job = run.job();
        List<String> texts = dataset.texts();
        Optional<EmbeddingCache.Key> key = version.cacheable()
                ? Optional.of(new EmbeddingCache.Key(job.tenantId(), version.pinned(), version.artifactSha256(),
                        version.settings() + ";read_as=" + format(fileName), sha256))
                : Optional.empty();
        Optional<List<float[]>> cached = key.flatMap(entry -> cache.get(entry, texts, version.dimension()));
        ObjectNode data = JsonNodeFactory.instance.objectNode();
        data.put("file", param);
        data.put("texts", texts.size());
        data.put("embedding_model", version.pinned());
        data.put("cached", cached.isPresent());
        List<float[]> vectors;
        if (cached.isPresent()) {
            run.event("Embeddings of " + texts.size() + " texts taken from the cache", data);
            vectors = cached.get();
        } else {
            run.event("Embedding " + texts.size() + " texts with " + job.baseModel(), data);
            vectors = embedder.embed(job.tenantId(), version, texts).vectors();
            // kept even when the job was cancelled or the server is stopping: the job that runs again takes them
            key.ifPresent(entry -> cache.put(entry, texts, vectors));
        }
        if (run.cancelled()) {
            throw new CancellationException();
        }
        return vectors.toArray(float[][]::new);
    }

    private static float[][] select(float[][] vectors, int[] indices) {
        float[][] selected = new float[indices.length][];
        for (int i = 0; i < indices.length; i++) {
            selected[i] = vectors[indices[i]];
        }
        return selected;
    }

    private static int[] classes(List<TextExample> examples, List<String> labels) {
        int[] classes = new int[examples.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = labels.indexOf(examples.get(i).label());
        }
        return classes;
    }

    private static TextDatasetFormat format(String fileName) {
        return fileName.toLowerCase(Locale.ROOT).endsWith(".csv") ? TextDatasetFormat.CSV : TextDatasetFormat.JSONL;
    }

    private static TextDataset read(Supplier<InputStream> file, String name, String param) {
        if (name.toLowerCase(Locale.ROOT).endsWith(".zip")) {
            throw AtriumException.invalidParam(param, "a text-classification job trains on JSON Lines or CSV, not a"
                    + " zip (zips of image folders are for image-classification jobs)");
        }
        try (InputStream in = file.get()) {
            return new TextDatasetReader(param, TextDatasetLimits.DEFAULTS).read(in, format(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static HeadTrainingOptions options(JsonNode hyperparameters, long seed) {
        return HeadJobs.options(hyperparameters, seed, HeadTrainingOptions.DEFAULTS.epochs(),
                HeadTrainingOptions.DEFAULTS.learningRate());
    }
}
