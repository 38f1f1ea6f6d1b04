package dev.atrium.engine.onnx.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Feature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A scoring request in one of the four JSON formats of MLflow's {@code /invocations}, read into rows in a
 * schema's feature order.
 *
 * <p>Follows MLflow's {@code pyfunc/scoring_server} and {@code utils/proto_json_utils}: the body is an object with
 * exactly one of {@code dataframe_split} ({@code {"columns": [...], "data": [[...]], "index": [...]}}, only
 * {@code data} required; without {@code columns} the values are positional), {@code dataframe_records} (a list of
 * {@code {column: value}} records), {@code instances} (a list of records, of rows, or of single values for a
 * one-column model) and {@code inputs} (a {@code {column: [values]}} dict, a {@code {column: value}} dict for one
 * row, or a list as {@code instances}); other top-level fields ({@code params}, a caller's own) are left to the
 * caller, as MLflow leaves them. Stricter than pandas by design: columns are matched by name and must be features,
 * values must have their feature's JSON type (no "1.5" for a number), and a cell that is null or absent takes
 * the feature's {@code missing} value or is refused.
 *
 * <p>Work and memory follow the rows the body holds, up to a limit: {@code maxRows}, and at most
 * {@value #MAX_CELLS} cells or {@value #MAX_ENCODED_CELLS} encoded model input values per request.
 */
public record MlflowInput(MlflowFormat format, TabularRows rows) {
    /** Cells (rows × features) one request may hold: 128 MiB of doubles. */
    static final long MAX_CELLS = 1L << 24;
    /** Encoded model input values (rows × encoded width) one request may make: 256 MiB of floats. */
    static final long MAX_ENCODED_CELLS = 1L << 26;
    /** Categories listed in an error message, at most. */
    private static final int LISTED_CATEGORIES = 10;

    public MlflowInput {
        requireNonNull(format, "format is null");
        requireNonNull(rows, "rows is null");
    }

    /** MLflow's scoring formats, by their JSON key. */
    public enum MlflowFormat {
        DATAFRAME_SPLIT, DATAFRAME_RECORDS, INSTANCES, INPUTS;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Reads a scoring request's body.
     *
     * @param maxRows the most rows one request may hold (at least 1)
     * @throws AtriumException {@code INVALID_REQUEST} naming the field, and in the message the column and row
     */
    public static MlflowInput parse(JsonNode body, FeatureSchema schema, int maxRows) {
        requireNonNull(body, "body is null");
        requireNonNull(schema, "schema is null");
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be at least 1: " + maxRows);
        }
        if (!body.isObject()) {
            throw invalid(null, "the body must be a JSON object with exactly one of " + formatNames());
        }
        MlflowFormat format = null;
        for (MlflowFormat candidate : MlflowFormat.values()) {
            if (body.has(candidate.wireName())) {
                if (format != null) {
                    throw invalid(candidate.wireName(), "the body must hold exactly one of " + formatNames()
                            + "; it holds both '" + format.wireName() + "' and '" + candidate.wireName() + "'");
                }
                format = candidate;
            }
        }
        if (format == null) {
            throw invalid(null, "the body must hold exactly one of " + formatNames() + "; it holds "
                    + body.propertyNames().stream().limit(10).toList());
        }
        long rowLimit = Math.min(maxRows, Math.min(MAX_CELLS / schema.features().size(),
                MAX_ENCODED_CELLS / schema.encodedWidth()));
        Reader reader = new Reader(schema, format.wireName(), (int) Math.max(1, rowLimit));
        JsonNode value = body.get(format.wireName());
        TabularRows rows = switch (format) {
            case DATAFRAME_SPLIT -> reader.split(value);
            case DATAFRAME_RECORDS -> reader.records(value, format.wireName());
            case INSTANCES -> reader.list(value, format.wireName());
            case INPUTS -> value.isObject() ? reader.columns(value) : reader.list(value, format.wireName());
        };
        return new MlflowInput(format, rows);
    }

    private static String formatNames() {
        return Arrays.stream(MlflowFormat.values()).map(format -> "'" + format.wireName() + "'").toList().toString();
    }

    /** Reads one request's values into cells; NaN marks a cell not (yet) given. */
    private static final class Reader {
        private final FeatureSchema schema;
        private final List<Feature> features;
        private final String format;
        private final int rowLimit;
        private double[] cells;
        private int rowCount;

        Reader(FeatureSchema schema, String format, int rowLimit) {
            this.schema = schema;
            this.features = schema.features();
            this.format = format;
            this.rowLimit = rowLimit;
        }

        /** Sized from the rows the body holds (already parsed, so bounded by its bytes), after the limit. */
        private void start(int rows, String param) {
            if (rows > rowLimit) {
                throw invalid(param, "at most " + rowLimit + " rows are accepted per request; '" + format
                        + "' holds " + rows);
            }
            rowCount = rows;
            cells = new double[rows * features.size()];
            Arrays.fill(cells, Double.NaN);
        }

        TabularRows split(JsonNode split) {
            if (!split.isObject()) {
                throw invalid(format, "'dataframe_split' must be an object with \"data\" and optionally \"columns\""
                        + " and \"index\"");
            }
            for (String key : split.propertyNames()) {
                if (!List.of("columns", "data", "index").contains(key)) {
                    throw invalid(format + "." + key, "'dataframe_split' may hold only \"columns\", \"data\" and"
                            + " \"index\", not '" + key + "'");
                }
            }
            JsonNode data = split.get("data");
            if (data == null || !data.isArray()) {
                throw invalid(format + ".data", "'dataframe_split' needs \"data\": a list of rows");
            }
            int[] featureOfColumn = positional();
            JsonNode columns = split.get("columns");
            if (columns != null && !columns.isNull()) {
                featureOfColumn = namedColumns(columns, format + ".columns");
            }
            JsonNode index = split.get("index");
            if (index != null && !index.isNull() && (!index.isArray() || index.size() != data.size())) {
                throw invalid(format + ".index", "\"index\" must be a list with one entry per row of \"data\" ("
                        + data.size() + ")");
            }
            start(data.size(), format + ".data");
            for (int row = 0; row < data.size(); row++) {
                positionalRow(row, data.get(row), featureOfColumn, format + ".data[" + row + "]");
            }
            return finish();
        }

        TabularRows records(JsonNode records, String param) {
            if (!records.isArray()) {
                throw invalid(param, "'" + param + "' must be a list of {column: value} records");
            }
            start(records.size(), param);
            for (int row = 0; row < records.size(); row++) {
                record(row, records.get(row), param + "[" + row + "]");
            }
            return finish();
        }

        /** A list as {@code instances} and a list {@code inputs} hold it: records, rows, or one column's values. */
        TabularRows list(JsonNode list, String param) {
            if (!list.isArray()) {
                throw invalid(param, "'" + param + "' must be a list of records or of rows"
                        + (param.equals("inputs") ? ", or a {column: values} object" : ""));
            }
            if (list.isEmpty() || list.get(0).isObject()) {
                return records(list, param);
            }
            start(list.size(), param);
            int[] featureOfColumn = positional();
            if (list.get(0).isArray()) {
                for (int row = 0; row < list.size(); row++) {
                    positionalRow(row, list.get(row), featureOfColumn, param + "[" + row + "]");
                }
                return finish();
            }
            if (features.size() != 1) {
                throw invalid(param, "'" + param + "' holds single values, which fit only a model of one column;"
                        + " this model takes " + features.size() + " columns: send records or rows");
            }
            for (int row = 0; row < list.size(); row++) {
                JsonNode value = list.get(row);
                if (value.isContainer()) {
                    throw invalid(param + "[" + row + "]", "row " + row + " of '" + param + "' is a list or object,"
                            + " where row 0 is a single value");
                }
                set(row, 0, value, param + "[" + row + "]");
            }
            return finish();
        }

        /** {@code inputs} as an object: {column: [values]} or, all values single, one row. */
        TabularRows columns(JsonNode columns) {
            if (columns.isEmpty()) {
                throw invalid("inputs", "'inputs' names no columns; this model takes " + featureNames());
            }
            boolean arrays = false;
            boolean scalars = false;
            int length = -1;
            String first = null;
            for (Map.Entry<String, JsonNode> column : columns.properties()) {
                column(column.getKey(), "inputs." + column.getKey());
                JsonNode values = column.getValue();
                if (values.isArray()) {
                    arrays = true;
                    if (length < 0) {
                        length = values.size();
                        first = column.getKey();
                    } else if (values.size() != length) {
                        throw invalid("inputs." + column.getKey(), "column '" + column.getKey() + "' has "
                                + values.size() + " values and column '" + first + "' has " + length
                                + "; every column needs one value per row");
                    }
                } else if (values.isObject()) {
                    throw invalid("inputs." + column.getKey(), "column '" + column.getKey()
                            + "' must be a list of values, not an object");
                } else {
                    scalars = true;
                }
            }
            if (arrays && scalars) {
                throw invalid("inputs", "'inputs' mixes lists and single values; give every column a list of"
                        + " values (or every column one value, for one row)");
            }
            start(arrays ? length : 1, "inputs");
            for (Map.Entry<String, JsonNode> column : columns.properties()) {
                int feature = schema.indexOf(column.getKey());
                JsonNode values = column.getValue();
                if (!arrays) {
                    set(0, feature, values, "inputs." + column.getKey());
                    continue;
                }
                for (int row = 0; row < values.size(); row++) {
                    set(row, feature, values.get(row), "inputs." + column.getKey() + "[" + row + "]");
                }
            }
            return finish();
        }

        private int[] positional() {
            int[] featureOfColumn = new int[features.size()];
            Arrays.setAll(featureOfColumn, i -> i);
            return featureOfColumn;
        }

        private int[] namedColumns(JsonNode columns, String param) {
            if (!columns.isArray()) {
                throw invalid(param, "\"columns\" must be a list of column names");
            }
            if (columns.size() > features.size()) {
                throw invalid(param, "\"columns\" names " + columns.size() + " columns; this model takes "
                        + features.size() + ": " + featureNames());
            }
            int[] featureOfColumn = new int[columns.size()];
            boolean[] named = new boolean[features.size()];
            for (int i = 0; i < columns.size(); i++) {
                JsonNode name = columns.get(i);
                if (!name.isString()) {
                    throw invalid(param + "[" + i + "]", "column names must be strings; entry " + i + " is not");
                }
                int feature = column(name.stringValue(), param + "[" + i + "]");
                if (named[feature]) {
                    throw invalid(param + "[" + i + "]", "column '" + name.stringValue() + "' is named twice");
                }
                named[feature] = true;
                featureOfColumn[i] = feature;
            }
            return featureOfColumn;
        }

        /** The feature a column name is, or a refusal naming it. */
        private int column(String name, String param) {
            int feature = schema.indexOf(name);
            if (feature < 0) {
                throw invalid(param, "column '" + name + "' is not a feature of this model; its features are "
                        + featureNames());
            }
            return feature;
        }

        private void positionalRow(int row, JsonNode values, int[] featureOfColumn, String param) {
            if (!values.isArray()) {
                throw invalid(param, "row " + row + " must be a list of values");
            }
            if (values.size() != featureOfColumn.length) {
                throw invalid(param, "row " + row + " has " + values.size() + " values; it needs "
                        + featureOfColumn.length + " (" + namesOf(featureOfColumn) + ")");
            }
            for (int column = 0; column < featureOfColumn.length; column++) {
                set(row, featureOfColumn[column], values.get(column), param + "[" + column + "]");
            }
        }

        private void record(int row, JsonNode record, String param) {
            if (!record.isObject()) {
                throw invalid(param, "row " + row + " must be a {column: value} record");
            }
            for (Map.Entry<String, JsonNode> cell : record.properties()) {
                int feature = column(cell.getKey(), param + "." + cell.getKey());
                set(row, feature, cell.getValue(), param + "." + cell.getKey());
            }
        }

        private void set(int row, int feature, JsonNode value, String param) {
            cells[row * features.size() + feature] = cell(features.get(feature), row, value, param);
        }

        private static double cell(Feature feature, int row, JsonNode value, String param) {
            if (value.isNull()) {
                return Double.NaN;
            }
            String where = "column '" + feature.name() + "', row " + row + ": ";
            switch (feature.type()) {
                case NUMERIC -> {
                    if (!value.isNumber()) {
                        throw invalid(param, where + "expected a number, got " + kind(value));
                    }
                    double number = value.doubleValue();
                    if (!Double.isFinite(number)) {
                        throw invalid(param, where + "the number is out of range");
                    }
                    return number;
                }
                case BOOLEAN -> {
                    if (value.isBoolean()) {
                        return value.booleanValue() ? 1 : 0;
                    }
                    if (value.isIntegralNumber() && (value.asString().equals("0") || value.asString().equals("1"))) {
                        return value.intValue();
                    }
                    throw invalid(param, where + "expected true or false, got " + kind(value));
                }
                case CATEGORICAL -> {
                    int index = FeatureSchema.categoryIndex(value, feature.categories(), feature.integerCategories());
                    if (index >= 0) {
                        return index;
                    }
                    boolean rightKind = feature.integerCategories() ? value.isIntegralNumber() : value.isString();
                    if (!rightKind) {
                        throw invalid(param, where + "expected " + (feature.integerCategories() ? "an integer"
                                : "a string") + " category, got " + kind(value));
                    }
                    List<String> categories = feature.categories();
                    String listed = String.join(", ", categories.subList(0, Math.min(LISTED_CATEGORIES,
                            categories.size()))) + (categories.size() > LISTED_CATEGORIES ? ", ..." : "");
                    throw invalid(param, where + "'" + abbreviate(value.asString()) + "' is not one of its categories ["
                            + listed + "]");
                }
            }
            throw new IllegalStateException("unreachable");
        }

        /** Missing cells take their feature's default, or the request is refused naming the first. */
        private TabularRows finish() {
            int width = features.size();
            for (int row = 0; row < rowCount; row++) {
                for (int feature = 0; feature < width; feature++) {
                    int at = row * width + feature;
                    if (!Double.isNaN(cells[at])) {
                        continue;
                    }
                    Feature spec = features.get(feature);
                    if (spec.missing().isEmpty()) {
                        throw invalid(format, "column '" + spec.name() + "', row " + row + ": the value is missing"
                                + " (absent or null) and the column has no default for a missing value");
                    }
                    cells[at] = spec.missing().getAsDouble();
                }
            }
            return new TabularRows(schema, rowCount, cells);
        }

        private String featureNames() {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < Math.min(features.size(), LISTED_CATEGORIES); i++) {
                names.add(features.get(i).name());
            }
            return names + (features.size() > LISTED_CATEGORIES ? " and " + (features.size() - LISTED_CATEGORIES)
                    + " more" : "");
        }

        private String namesOf(int[] featureOfColumn) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < Math.min(featureOfColumn.length, LISTED_CATEGORIES); i++) {
                names.add(features.get(featureOfColumn[i]).name());
            }
            return String.join(", ", names) + (featureOfColumn.length > LISTED_CATEGORIES ? ", ..." : "");
        }
    }

    private static String kind(JsonNode value) {
        if (value.isString()) {
            return "the string \"" + abbreviate(value.stringValue()) + "\"";
        }
        if (value.isBoolean()) {
            return value.booleanValue() ? "true" : "false";
        }
        if (value.isNumber()) {
            return "the number " + abbreviate(value.asString());
        }
        return value.isArray() ? "a list" : "an object";
    }

    /** A client's value quoted back in a message, cut so that a message stays short. */
    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }

    private static AtriumException invalid(String param, String message) {
        return AtriumException.invalidParam(param, message);
    }
}
