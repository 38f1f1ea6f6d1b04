package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.ClassificationRequest;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PredictionRequest;
import dev.atrium.engine.PredictionResult;
import dev.atrium.engine.onnx.tabular.FeatureSchema;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.serving.Serving;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Scores a model version on a tenant's file, so that versions can be compared on the same data: every row goes
 * through the serving path as the caller's own call (resolved, admitted, reserved, metered like any), in chunks,
 * and the answers are compared with the file's labels or target ({@link Evaluations}). Text classifiers take the
 * files text-classification jobs train on (JSON Lines or CSV of text and label), image classifiers those of
 * image-classification jobs (JSON Lines of images and labels, or a zip of folders by label), tabular models a CSV
 * with a header
 * whose {@code target} column holds the truth. The version is pinned when scoring starts: an alias that moves meanwhile
 * does not mix two versions into one score.
 */
public final class VersionScorer {
    /** Rows sent in one classification call. */
    private static final int TEXT_CHUNK = 64;
    /** Images sent in one classification call. */
    private static final int IMAGE_CHUNK = 32;
    /** Rows sent in one prediction call. */
    private static final int ROW_CHUNK = 512;
    /** The most rows one scoring reads. */
    static final int MAX_ROWS = 200_000;

    private final Serving serving;
    private final TrainingFiles files;

    public VersionScorer(Serving serving, TrainingFiles files) {
        this.serving = requireNonNull(serving, "serving is null");
        this.files = requireNonNull(files, "files is null");
    }

    /** A score: the version scored ({@code name:version}), the file, and the metrics. */
    public record Score(String model, String file, ObjectNode metrics) {}

    /**
     * Scores the model a reference names on one of the caller's tenant's files.
     *
     * @param target the CSV column holding the truth, for a tabular model
     * @throws AtriumException 404 for a file or model the caller cannot see, 400 for a file that does not fit the
     *     model, or a model of a task that is not scored
     */
    public Score score(Caller caller, String reference, String fileId, Optional<String> target) {
        caller.requireCallsModels();
        TrainingFile file = files.get(caller.key().tenantId(), fileId);
        ResolvedModel resolved = serving.resolve(caller, reference);
        String pinned = resolved.model().name() + ":" + resolved.version().version();
        ObjectNode metrics = switch (resolved.model().task()) {
            case TEXT_CLASSIFICATION -> text(caller, pinned, resolved.version().metadata().labels(), file);
            case IMAGE_CLASSIFICATION -> images(caller, pinned, resolved.version().metadata().labels(), file);
            case TABULAR -> tabular(caller, pinned, resolved, file, target.orElseThrow(() ->
                    AtriumException.invalidParam("target", "scoring a tabular model names the file's column that"
                            + " holds the truth in 'target'")));
            default -> throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + resolved.model().name() + "' is a " + resolved.model().task().wireName() + " model; text and"
                    + " image classifiers and tabular models are scored on files");
        };
        return new Score(pinned, file.id(), metrics);
    }

    private ObjectNode text(Caller caller, String pinned, List<String> labels, TrainingFile file) {
        TextDataset dataset;
        String lower = file.filename().toLowerCase(Locale.ROOT);
        try (InputStream in = files.content(file)) {
            dataset = new TextDatasetReader("file", TextDatasetLimits.DEFAULTS).read(in, lower.endsWith(".csv")
                    ? TextDatasetFormat.CSV : TextDatasetFormat.JSONL);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<TextExample> examples = dataset.examples();
        return classifications(caller, pinned, labels, examples.stream().map(example -> new Labelled(
                new ClassificationInput.Text(example.text()), example.label(), "line " + example.line())).toList(),
                TEXT_CHUNK);
    }

    private ObjectNode images(Caller caller, String pinned, List<String> labels, TrainingFile file) {
        List<ImageExample> examples = ImageClassificationTrainer.read(() -> files.content(file), file.filename(),
                "file");
        return classifications(caller, pinned, labels, examples.stream().map(example -> new Labelled(
                new ClassificationInput.Image(example.image()), example.label(), example.where())).toList(),
                IMAGE_CHUNK);
    }

    /** An input to classify, its true label, and where it is in the file. */
    private record Labelled(ClassificationInput input, String label, String where) {}

    private ObjectNode classifications(Caller caller, String pinned, List<String> labels, List<Labelled> examples,
            int chunk) {
        if (examples.size() > MAX_ROWS) {
            throw AtriumException.invalidParam("file", "a file scored has at most " + MAX_ROWS + " rows");
        }
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        int[] actual = new int[examples.size()];
        for (int i = 0; i < actual.length; i++) {
            Integer known = index.get(examples.get(i).label());
            if (known == null) {
                throw AtriumException.invalidParam("file", examples.get(i).where() + " has label '"
                        + examples.get(i).label() + "', which " + pinned + " does not answer");
            }
            actual[i] = known;
        }
        float[][] probabilities = new float[examples.size()][];
        for (int from = 0; from < examples.size(); from += chunk) {
            List<ClassificationInput> inputs = examples.subList(from, Math.min(examples.size(), from + chunk))
                    .stream().map(Labelled::input).toList();
            ClassificationResult result = serving.classify(caller, pinned, new ClassificationRequest(inputs,
                    labels.size(), List.of())).result();
            for (int i = 0; i < inputs.size(); i++) {
                float[] row = new float[labels.size()];
                for (ClassificationResult.LabelScore score : result.labels().get(i)) {
                    Integer at = index.get(score.label());
                    if (at != null) {
                        row[at] = (float) score.score();
                    }
                }
                probabilities[from + i] = row;
            }
        }
        return Evaluations.classification(actual, probabilities, labels);
    }

    private ObjectNode tabular(Caller caller, String pinned, ResolvedModel resolved, TrainingFile file,
            String target) {
        FeatureSchema schema = FeatureSchema.parse(resolved.deployment().config());
        boolean regression = schema.task() == FeatureSchema.Task.REGRESSION;
        List<Double> actualValues = new ArrayList<>();
        List<Integer> actualClasses = new ArrayList<>();
        List<Double> predictedValues = new ArrayList<>();
        List<float[]> probabilities = new ArrayList<>();
        try (Reader reader = new InputStreamReader(files.content(file), StandardCharsets.UTF_8);
                CSVParser csv = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get()
                        .parse(reader)) {
            if (!csv.getHeaderMap().containsKey(target)) {
                throw AtriumException.invalidParam("target", "the file has no column '" + target + "'");
            }
            for (FeatureSchema.Feature feature : schema.features()) {
                if (!csv.getHeaderMap().containsKey(feature.name())) {
                    throw AtriumException.invalidParam("file", "the file has no column '" + feature.name() + "', a"
                            + " feature of " + pinned);
                }
            }
            ArrayNode chunk = JsonNodeFactory.instance.arrayNode();
            for (CSVRecord record : csv) {
                long row = record.getRecordNumber();
                if (row > MAX_ROWS) {
                    throw AtriumException.invalidParam("file", "a file scored has at most " + MAX_ROWS + " rows");
                }
                String truth = record.isMapped(target) && record.isSet(target) ? record.get(target).strip() : "";
                if (regression) {
                    actualValues.add(number(truth, row, target));
                } else {
                    int at = schema.labels().indexOf(truth);
                    if (at < 0) {
                        throw AtriumException.invalidParam("file", "row " + row + " has label '" + truth + "', which "
                                + pinned + " does not answer");
                    }
                    actualClasses.add(at);
                }
                chunk.add(cells(schema, record, row));
                if (chunk.size() == ROW_CHUNK) {
                    predict(caller, pinned, chunk, schema, predictedValues, probabilities);
                    chunk = JsonNodeFactory.instance.arrayNode();
                }
            }
            if (!chunk.isEmpty()) {
                predict(caller, pinned, chunk, schema, predictedValues, probabilities);
            }
        } catch (IOException | IllegalStateException | java.io.UncheckedIOException e) {
            throw AtriumException.invalidParam("file", "the file is not a CSV file with a header");
        }
        if (regression) {
            if (actualValues.isEmpty()) {
                throw AtriumException.invalidParam("file", "the file has no rows");
            }
            return Evaluations.regression(actualValues.stream().mapToDouble(Double::doubleValue).toArray(),
                    predictedValues.stream().mapToDouble(Double::doubleValue).toArray());
        }
        if (actualClasses.isEmpty()) {
            throw AtriumException.invalidParam("file", "the file has no rows");
        }
        return Evaluations.classification(actualClasses.stream().mapToInt(Integer::intValue).toArray(),
                probabilities.toArray(float[][]::new), schema.labels());
    }

    private void predict(Caller caller, String pinned, ArrayNode records, FeatureSchema schema,
            List<Double> values, List<float[]> probabilities) {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.set("dataframe_records", records);
        PredictionResult result = serving.predict(caller, pinned, new PredictionRequest(body)).result();
        for (PredictionResult.Prediction prediction : result.predictions()) {
            switch (prediction) {
                case PredictionResult.Value value -> values.add(value.value());
                case PredictionResult.Label label -> {
                    float[] row = new float[schema.labels().size()];
                    label.probabilities().forEach((name, p) -> {
                        int at = schema.labels().indexOf(name);
                        if (at >= 0) {
                            row[at] = p.floatValue();
                        }
                    });
                    probabilities.add(row);
                }
            }
        }
    }

    /** A CSV row as a record of the model's features, each cell of the kind its feature takes. */
    private static ObjectNode cells(FeatureSchema schema, CSVRecord record, long row) {
        ObjectNode cells = JsonNodeFactory.instance.objectNode();
        for (FeatureSchema.Feature feature : schema.features()) {
            String text = record.isSet(feature.name()) ? record.get(feature.name()).strip() : "";
            if (text.isEmpty()) {
                cells.putNull(feature.name());
                continue;
            }
            switch (feature.type()) {
                case NUMERIC -> cells.put(feature.name(), number(text, row, feature.name()));
                case BOOLEAN -> cells.put(feature.name(), switch (text.toLowerCase(Locale.ROOT)) {
                    case "true", "1" -> true;
                    case "false", "0" -> false;
                    default -> throw AtriumException.invalidParam("file", "row " + row + ", column '"
                            + feature.name() + "': expected true or false");
                });
                case CATEGORICAL -> {
                    if (feature.integerCategories()) {
                        try {
                            cells.put(feature.name(), Long.parseLong(text));
                        } catch (NumberFormatException e) {
                            throw AtriumException.invalidParam("file", "row " + row + ", column '" + feature.name()
                                    + "': expected an integer category");
                        }
                    } else {
                        cells.put(feature.name(), text);
                    }
                }
            }
        }
        return cells;
    }

    private static double number(String text, long row, String column) {
        try {
            double value = Double.parseDouble(text);
            if (Double.isFinite(value)) {
                return value;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw AtriumException.invalidParam("file", "row " + row + ", column '" + column + "': expected a number");
    }
}
