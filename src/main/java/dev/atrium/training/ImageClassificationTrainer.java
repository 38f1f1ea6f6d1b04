package dev.atrium.training;

import dev.atrium.AtriumException;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.DataType;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ImageDecoder;
import dev.atrium.engine.onnx.image.ImagePreprocessing;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.function.Supplier;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code image-classification} method, for small images (28 x 28 grayscale, say): JSON Lines of
 * {@code {"image": base64 or a data URL, "label"}}, or a file uploaded with a name ending in {@code .zip} holding one
 * folder of images per label ({@code shirt/1.png}, optionally all inside one top folder; streamed, never extracted,
 * and bounded on the bytes it inflates: see {@code ImageZipReader} and {@code ZIP_LIMITS}), each image decoded and
 * preprocessed exactly as the served model will preprocess it (the same {@link ImagePreprocessing}, recorded in the
 * version's config: resized to {@code width} x {@code height}, RGB, scaled to 0..1), a softmax classifier trained
 * over the pixels (the job's {@code model}: {@code linear}), evaluated on a seeded stratified fifth or the validation
 * file, and published as an {@code image-classification} version that takes images as any other. Hyperparameters:
 * {@code width}, {@code height} (28), {@code n_epochs} (40), {@code batch_size} (32), {@code learning_rate} (0.002),
 * {@code l2}.
 */
public final class ImageClassificationTrainer implements Trainer {
    public static final String LINEAR = "linear";
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final int MAX_EXAMPLES = 100_000;
    private static final int MAX_LINE_BYTES = 8 << 20;
    private static final long MAX_PIXELS = 4_000_000L;
    private static final double VALIDATION_FRACTION = 0.2;
    /**
     * The most values a job's preprocessed images, and its head's weights, may hold: 128 Mi floats (512 MiB), so
     * the memory follows the images and the {@code width} x {@code height} asked for, checked before any is decoded
     * (57 000 images at 28 x 28, 890 at 224 x 224).
     */
    static final long MAX_VALUES = 1L << 27;
    /**
     * A zip's bounds, on bytes inflated: {@link #MAX_EXAMPLES} images of at most {@link #MAX_LINE_BYTES} each, as
     * JSON Lines; three entries an image (room for the {@code __MACOSX/} twin macOS adds, and folders); 1 GiB in
     * all, since the images are held until preprocessed: twice the largest upload, so that a zip of BMPs deflated 2:1
     * fits; and an entry past 100 KiB may inflate at most 100 times its compressed size (as Apache POI's
     * {@code ZipSecureFile} allows), which PNGs and JPEGs, already compressed, never come near.
     */
    static final ImageZipLimits ZIP_LIMITS = new ImageZipLimits(MAX_EXAMPLES, 3 * MAX_EXAMPLES, MAX_LINE_BYTES,
            1L << 30, 100, 100 << 10);

    @Override
    public void validate(Run run) {
        family(run.job().baseModel());
        List<ImageExample> examples = new ArrayList<>(read(run.trainingFile(), run.trainingFileName(),
                "training_file"));
        run.validationFile().ifPresent(file -> examples.addAll(read(file, run.validationFileName().orElseThrow(),
                "validation_file")));
        long values = 3L * Hyperparameters.integer(run.job().hyperparameters(), "width", 28, 2, 512)
                * Hyperparameters.integer(run.job().hyperparameters(), "height", 28, 2, 512);
        long images = examples.size(); // at least the labels, so this bounds the head's weights too
        if (images * values > MAX_VALUES) {
            throw AtriumException.invalidParam("hyperparameters", images + " images at " + values / 3 + " pixels"
                    + " each are too many for one job (at most " + MAX_VALUES / values + "); train at a smaller"
                    + " width and height, or on fewer images");
        }
    }

    @Override
    public Trained train(Run run) {
        FineTuningJob job = run.job();
        family(job.baseModel());
        int width = Hyperparameters.integer(job.hyperparameters(), "width", 28, 2, 512);
        int height = Hyperparameters.integer(job.hyperparameters(), "height", 28, 2, 512);
        ObjectNode config = config(width, height);
        ImagePreprocessing preprocessing = ImagePreprocessing.fromConfig(config, List.of(new TensorSpec(
                OnnxHeadWriter.IMAGE_INPUT, DataType.FP32, List.of(-1L, 3L, (long) height, (long) width))), Map.of());
        List<ImageExample> training = read(run.trainingFile(), run.trainingFileName(), "training_file");
        List<ImageExample> validation;
        if (run.validationFile().isPresent()) {
            validation = read(run.validationFile().get(), run.validationFileName().orElseThrow(), "validation_file");
        } else {
            List<String> labels = labels(training);
            int[] classes = training.stream().mapToInt(example -> labels.indexOf(example.label())).toArray();
            StratifiedSplit split = StratifiedSplit.of(classes, VALIDATION_FRACTION, job.seed());
            List<ImageExample> all = training;
            training = java.util.Arrays.stream(split.train()).mapToObj(all::get).toList();
            validation = java.util.Arrays.stream(split.validation()).mapToObj(all::get).toList();
        }
        List<String> labels = labels(training);
        run.event("Preprocessing " + (training.size() + validation.size()) + " images to " + width + "x" + height,
                null);
        float[][] trainVectors = vectors(training, preprocessing, run, "training_file");
        float[][] validationVectors = vectors(validation, preprocessing, run,
                run.validationFile().isPresent() ? "validation_file" : "training_file");
        // pixels want smaller steps and more of them than embeddings: 40 epochs at 0.002 (Fashion-MNIST: 0.82)
        int[] validationClasses = classes(validation, labels, "validation_file");
        HeadTrainingData data = new HeadTrainingData(labels, trainVectors, classes(training, labels, "training_file"),
                validationVectors, validationClasses);
        return AutoMl.train(run, new HeadJobs.Space(LINEAR, 40, 0.002, job.seed(), data) {
            @Override
            Trained version(SoftmaxHead head, ObjectNode metrics, ObjectNode hyperparameters) {
                ObjectNode version = config.deepCopy();
                version.set("labels", HeadJobs.labels(labels));
                version.put("output", OnnxHeadWriter.OUTPUT);
                version.put("output_kind", "probabilities");
                hyperparameters.put("width", width);
                hyperparameters.put("height", height);
                return new Trained(ModelTask.IMAGE_CLASSIFICATION, OnnxHeadWriter.writeOverImages(head, 3, height,
                        width), version, metrics, hyperparameters);
            }
        });
    }

    /** The preprocessing the model is trained with and served with: resized, RGB, scaled to 0..1. */
    private static ObjectNode config(int width, int height) {
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        ObjectNode preprocessing = config.putObject("preprocessing");
        preprocessing.put("input", OnnxHeadWriter.IMAGE_INPUT);
        preprocessing.put("layout", "nchw");
        preprocessing.put("width", width);
        preprocessing.put("height", height);
        preprocessing.put("resize", "direct");
        preprocessing.put("interpolation", "bilinear");
        preprocessing.put("channel_order", "rgb");
        preprocessing.put("scale", 1.0 / 255);
        preprocessing.putArray("mean").add(0).add(0).add(0);
        preprocessing.putArray("std").add(1).add(1).add(1);
        return config;
    }

    private static float[][] vectors(List<ImageExample> examples, ImagePreprocessing preprocessing, Run run,
            String param) {
        ImageDecoder decoder = new ImageDecoder(MAX_PIXELS);
        float[][] vectors = new float[examples.size()][];
        for (int i = 0; i < examples.size(); i++) {
            if (i % 1000 == 0 && run.cancelled()) {
                throw new CancellationException();
            }
            ImageExample example = examples.get(i);
            float[] vector = new float[preprocessing.valuesPerImage()];
            try {
                preprocessing.fill(decoder.decode(example.image(), param), vector, 0);
            } catch (AtriumException e) {
                throw AtriumException.invalidParam(param, example.where() + ": " + e.getMessage());
            }
            vectors[i] = vector;
        }
        return vectors;
    }

    private static List<String> labels(List<ImageExample> examples) {
        List<String> labels = List.copyOf(new TreeSet<>(examples.stream().map(ImageExample::label).toList()));
        if (labels.size() < 2) {
            throw AtriumException.invalidParam("training_file", "the file has " + labels.size() + " label(s); a"
                    + " classifier needs at least 2");
        }
        return labels;
    }

    private static int[] classes(List<ImageExample> examples, List<String> labels, String param) {
        int[] classes = new int[examples.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = labels.indexOf(examples.get(i).label());
            if (classes[i] < 0) {
                throw AtriumException.invalidParam(param, examples.get(i).where() + " has label '"
                        + examples.get(i).label() + "', which the training file does not have");
            }
        }
        return classes;
    }

    /** The file's images: a zip of label folders when its name ends in {@code .zip}, else JSON Lines. */
    static List<ImageExample> read(Supplier<InputStream> file, String name, String param) {
        if (name.toLowerCase(Locale.ROOT).endsWith(".zip")) {
            try (InputStream in = file.get()) {
                return new ImageZipReader(param, ZIP_LIMITS).read(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return readJsonLines(file, param);
    }

    /** JSON Lines of {@code {"image", "label"}}, each line bounded, each error naming its line. */
    private static List<ImageExample> readJsonLines(Supplier<InputStream> file, String param) {
        List<ImageExample> examples = new ArrayList<>();
        try (InputStream in = file.get()) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            long number = 1;
            int b;
            while (true) {
                b = in.read();
                if (b == '\n' || b < 0) {
                    String text = line.toString(StandardCharsets.UTF_8).strip();
                    if (!text.isEmpty()) {
                        examples.add(example(text, number, param));
                        if (examples.size() > MAX_EXAMPLES) {
                            throw AtriumException.invalidParam(param, "the file has more than " + MAX_EXAMPLES
                                    + " images");
                        }
                    }
                    if (b < 0) {
                        break;
                    }
                    line.reset();
                    number++;
                    continue;
                }
                if (line.size() >= MAX_LINE_BYTES) {
                    throw AtriumException.invalidParam(param, "line " + number + " is longer than " + MAX_LINE_BYTES
                            + " bytes");
                }
                line.write(b);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (examples.isEmpty()) {
            throw AtriumException.invalidParam(param, "the file has no images");
        }
        return examples;
    }

    private static ImageExample example(String text, long line, String param) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JacksonException e) {
            throw AtriumException.invalidParam(param, "line " + line + " is not valid JSON");
        }
        JsonNode image = node == null ? null : node.get("image");
        JsonNode label = node == null ? null : node.get("label");
        if (image == null || !image.isString() || label == null || !(label.isString() || label.isIntegralNumber())) {
            throw AtriumException.invalidParam(param, "line " + line + " needs {\"image\": base64 or a data URL,"
                    + " \"label\": a string}");
        }
        try {
            return new ImageExample(ClassificationInput.Image.decode(image.stringValue(), param), label.asString(),
                    "line " + line);
        } catch (AtriumException e) {
            throw AtriumException.invalidParam(param, "line " + line + ": " + e.getMessage());
        }
    }

    private static void family(String model) {
        if (!model.equals(LINEAR)) {
            throw AtriumException.invalidParam("model", "an image-classification job's model is the family to train:"
                    + " " + LINEAR + ", not '" + model + "'");
        }
    }
}
