package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a CSV training file with a header row into a {@link TabularDataset}: infers each column's type (numeric,
 * boolean, or categorical with its categories) unless declared, counts missing (empty) cells, and checks the
 * target. Every refusal is an {@code AtriumException} on {@code training_file} naming the line and the column.
 *
 * <p>Design: one pass over the bytes, column by column in memory: a number and a dictionary code per cell (12
 * bytes), the dictionary holding at most {@code maxCategories + 1} distinct texts a column. So memory is bounded
 * by the limits and by the bytes received, never by what the file declares. Quoting follows RFC 4180 (a quoted
 * cell may hold commas, line breaks and doubled quotes); cells are trimmed; an empty cell is missing; blank lines
 * are skipped. Not thread-safe; one reader per file.
 */
public final class TabularCsvReader {
    static final String PARAM = "training_file";

    private final BufferedReader in;
    private final TabularDatasetSpec spec;
    private final TabularCsvLimits limits;
    private final StringBuilder cell = new StringBuilder();
    private final List<String> record = new ArrayList<>();
    /** The physical line being read, and the one the current record started on. */
    private int line = 1;
    private int recordLine;

    private TabularCsvReader(InputStream input, TabularDatasetSpec spec, TabularCsvLimits limits) {
        // a malformed byte becomes U+FFFD, refused where it is read, so that the message names its line (the
        // decoder reads ahead of the parser, so its own error could not)
        this.in = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE)), 1 << 16);
        this.spec = spec;
        this.limits = limits;
    }

    /**
     * Reads a whole file.
     *
     * @throws AtriumException {@code INVALID_REQUEST} on {@code training_file}, naming the line and column at fault
     */
    public static TabularDataset read(InputStream input, TabularDatasetSpec spec, TabularCsvLimits limits) {
        requireNonNull(input, "input is null");
        requireNonNull(spec, "spec is null");
        requireNonNull(limits, "limits is null");
        try {
            return new TabularCsvReader(input, spec, limits).readAll();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the training file failed", e);
        }
    }

    private TabularDataset readAll() throws IOException {
        if (!readRecord()) {
            throw AtriumException.invalidParam(PARAM, "the file is empty; it needs a header row and data rows");
        }
        List<String> header = List.copyOf(record);
        if (header.size() > limits.maxColumns()) {
            throw fail(1, "the header has " + header.size() + " columns; at most " + limits.maxColumns()
                    + " are supported");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < header.size(); i++) {
            String name = header.get(i);
            if (name.isEmpty()) {
                throw fail(1, "column " + (i + 1) + " of the header has no name");
            }
            if (!names.add(name)) {
                throw fail(1, "column '" + name + "' is named twice in the header (columns " + (header.indexOf(name) + 1)
                        + " and " + (i + 1) + ")");
            }
        }
        checkSpec(header, names);
        if (header.size() < 2) {
            throw fail(1, "the header has one column; a training file needs the target and at least one feature");
        }
        ColumnValues[] columns = new ColumnValues[header.size()];
        for (int i = 0; i < columns.length; i++) {
            columns[i] = new ColumnValues(limits.maxCategories());
        }
        long maxRowsByCells = limits.maxCells() / header.size();
        int rows = 0;
        while (readRecord()) {
            if (rows == limits.maxRows() || rows >= maxRowsByCells) {
                throw fail(recordLine, "the file has more than " + Math.min(limits.maxRows(), maxRowsByCells)
                        + " data rows, the most supported for " + header.size() + " columns");
            }
            if (record.size() != header.size()) {
                throw fail(recordLine, "the row has " + record.size() + (record.size() == 1 ? " cell" : " cells")
                        + "; the header has " + header.size() + " columns");
            }
            for (int i = 0; i < columns.length; i++) {
                columns[i].add(record.get(i), recordLine);
            }
            rows++;
        }
        if (rows == 0) {
            throw AtriumException.invalidParam(PARAM, "the file has a header but no data rows");
        }
        return build(header, columns, rows);
    }

    private void checkSpec(List<String> header, Set<String> names) {
        if (!names.contains(spec.target())) {
            throw fail(1, "the target column '" + spec.target() + "' is not in the header; its columns are "
                    + abbreviate(header.toString()));
        }
        for (String name : spec.declaredTypes().keySet()) {
            if (!names.contains(name)) {
                throw AtriumException.invalidParam(PARAM, "the declared column '" + name + "' is not in the header");
            }
        }
        for (String name : spec.ignored()) {
            if (!names.contains(name)) {
                throw AtriumException.invalidParam(PARAM, "the ignored column '" + name + "' is not in the header");
            }
        }
        if (spec.declaredTypes().containsKey(spec.target())) {
            throw AtriumException.invalidParam(PARAM, "the target column '" + spec.target() + "' takes its type from"
                    + " the task; do not declare it");
        }
    }

    private TabularDataset build(List<String> header, ColumnValues[] columns, int rows) {
        List<TabularDataset.Column> features = new ArrayList<>();
        List<double[]> featureValues = new ArrayList<>();
        TabularDataset.Column target = null;
        double[] targetValues = null;
        for (int i = 0; i < columns.length; i++) {
            String name = header.get(i);
            ColumnValues column = columns[i];
            if (spec.ignored().contains(name)) {
                continue;
            }
            if (name.equals(spec.target())) {
                if (column.missing > 0) {
                    throw fail(column.firstMissingLine, "column '" + name + "' (" + (i + 1) + "): the target is"
                            + " empty; every row needs a target value");
                }
                FeatureType type = spec.task() == Task.REGRESSION ? FeatureType.NUMERIC : FeatureType.CATEGORICAL;
                List<String> categories = categoriesOf(column, name, i, type);
                if (type == FeatureType.CATEGORICAL && categories.size() < 2) {
                    throw AtriumException.invalidParam(PARAM, "column '" + name + "': the classification target has"
                            + " only the class '" + categories.getFirst() + "'; it needs at least two");
                }
                target = new TabularDataset.Column(name, type, categories, 0);
                targetValues = column.values(type, categories);
                continue;
            }
            FeatureType type = typeOf(column, name, i);
            List<String> categories = categoriesOf(column, name, i, type);
            features.add(new TabularDataset.Column(name, type, categories, column.missing));
            featureValues.add(column.values(type, categories));
        }
        if (features.isEmpty()) {
            throw AtriumException.invalidParam(PARAM, "no feature columns are left beside the target '"
                    + spec.target() + "'");
        }
        return new TabularDataset(spec.task(), features, target, featureValues, targetValues, rows);
    }

    private FeatureType typeOf(ColumnValues column, String name, int index) {
        FeatureType declared = spec.declaredTypes().get(name);
        if (column.missing == column.count && declared == null) {
            throw AtriumException.invalidParam(PARAM, "column '" + name + "' (" + (index + 1) + ") is empty on every"
                    + " row; leave it out or declare its type");
        }
        if (declared != null) {
            return declared;
        }
        if (column.firstNonNumericLine == 0) {
            return FeatureType.NUMERIC;
        }
        if (column.firstNonBooleanLine == 0) {
            return FeatureType.BOOLEAN;
        }
        return FeatureType.CATEGORICAL;
    }

    /** The column's categories in their one-hot order, after checking that every value fits the type. */
    private List<String> categoriesOf(ColumnValues column, String name, int index, FeatureType type) {
        String where = "column '" + name + "' (" + (index + 1) + ")";
        switch (type) {
            case NUMERIC -> {
                if (column.firstNonNumericLine != 0) {
                    throw fail(column.firstNonNumericLine, where + ": '" + abbreviate(column.firstNonNumeric)
                            + "' is not a number, and the column is numeric");
                }
                return List.of();
            }
            case BOOLEAN -> {
                if (column.firstNonBooleanLine != 0) {
                    throw fail(column.firstNonBooleanLine, where + ": '" + abbreviate(column.firstNonBoolean)
                            + "' is not true or false, and the column is boolean");
                }
                return List.of();
            }
            case CATEGORICAL -> {
                if (column.overflowLine != 0) {
                    throw fail(column.overflowLine, where + " has more than " + limits.maxCategories()
                            + " distinct values, the most a categorical column (or a classification target) may"
                            + " have; leave it out" + (column.firstNonNumericLine == 0 ? " or declare it numeric" : ""));
                }
                if (column.dictionary.isEmpty()) {
                    throw AtriumException.invalidParam(PARAM, where + " is declared categorical but is empty on every"
                            + " row");
                }
                List<String> categories = new ArrayList<>(column.dictionary.keySet());
                categories.sort(column.firstNonNumericLine == 0 ? TabularCsvReader::compareNumbers : String::compareTo);
                return List.copyOf(categories);
            }
        }
        throw new IllegalStateException("unknown type " + type);
    }

    private static int compareNumbers(String left, String right) {
        int byValue = Double.compare(Double.parseDouble(left), Double.parseDouble(right));
        return byValue != 0 ? byValue : left.compareTo(right);
    }

    // ---- records ------------------------------------------------------------------------------------------------

    /** Reads the next non-blank record into {@link #record}; false at the end of the file. */
    private boolean readRecord() throws IOException {
        while (true) {
            record.clear();
            cell.setLength(0);
            recordLine = line;
            int length = 0;
            boolean quoted = false;
            boolean wasQuoted = false;
            boolean afterQuote = false;
            int c = in.read();
            if (c < 0) {
                return false;
            }
            while (true) {
                if (c >= 0 && ++length > limits.maxRecordLength()) {
                    throw fail(recordLine, "the row is longer than " + limits.maxRecordLength() + " characters");
                }
                if (c == '\uFFFD') {
                    throw fail(line, "the file is not UTF-8 text (a byte on this line is not UTF-8, or is U+FFFD);"
                            + " save it as UTF-8 CSV");
                }
                if (quoted) {
                    if (c < 0) {
                        throw fail(recordLine, "a quoted cell is not closed before the end of the file");
                    }
                    if (c == '"') {
                        int next = in.read();
                        if (next == '"') {
                            cell.append('"');
                            length++;
                        } else {
                            quoted = false;
                            afterQuote = true;
                            c = next;
                            continue;
                        }
                    } else {
                        if (c == '\n') {
                            line++;
                        }
                        cell.append((char) c);
                    }
                } else if (c == ',' || c == '\n' || c == '\r' || c < 0) {
                    record.add(wasQuoted ? cell.toString() : cell.toString().strip());
                    cell.setLength(0);
                    wasQuoted = false;
                    afterQuote = false;
                    if (c != ',') {
                        if (c == '\r') {
                            in.mark(1);
                            if (in.read() != '\n') {
                                in.reset();
                            }
                        }
                        if (c >= 0) {
                            line++;
                        }
                        break;
                    }
                } else if (afterQuote) {
                    if (!Character.isWhitespace(c)) {
                        throw fail(recordLine, "cell " + (record.size() + 1) + " has text after its closing quote;"
                                + " a quote inside a quoted cell is written twice (\"\")");
                    }
                } else if (c == '"' && cell.toString().isBlank()) {
                    quoted = true;
                    wasQuoted = true;
                    cell.setLength(0);
                } else {
                    cell.append((char) c);
                }
                c = in.read();
            }
            if (record.size() > limits.maxColumns()) {
                throw fail(recordLine, "the row has " + record.size() + " cells; at most " + limits.maxColumns()
                        + " columns are supported");
            }
            boolean blank = record.size() == 1 && record.getFirst().isEmpty();
            if (!blank) {
                return true;
            }
        }
    }

    private static AtriumException fail(int line, String message) {
        return AtriumException.invalidParam(PARAM, "line " + line + ": " + message);
    }

    static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    // ---- columns ------------------------------------------------------------------------------------------------

    /** One column's cells as read: what type they could be, their numbers and their dictionary codes. */
    private static final class ColumnValues {
        private final int maxCategories;
        private double[] numbers = new double[1024];
        private int[] codes = new int[1024];
        /** Insertion order gives each distinct text its code; sorted into category order at the end. */
        private final Map<String, Integer> dictionary = new LinkedHashMap<>();
        private int count;
        private int missing;
        private int firstMissingLine;
        private int firstNonNumericLine;
        private String firstNonNumeric;
        private int firstNonBooleanLine;
        private String firstNonBoolean;
        private int overflowLine;

        ColumnValues(int maxCategories) {
            this.maxCategories = maxCategories;
        }

        void add(String text, int line) {
            if (count == numbers.length) {
                numbers = Arrays.copyOf(numbers, count * 2);
                codes = Arrays.copyOf(codes, count * 2);
            }
            int row = count++;
            if (text.isEmpty()) {
                missing++;
                if (firstMissingLine == 0) {
                    firstMissingLine = line;
                }
                numbers[row] = Double.NaN;
                codes[row] = -1;
                return;
            }
            double number = parseNumber(text);
            numbers[row] = number;
            if (Double.isNaN(number) && firstNonNumericLine == 0) {
                firstNonNumericLine = line;
                firstNonNumeric = text;
            }
            if (firstNonBooleanLine == 0 && parseBoolean(text) < 0) {
                firstNonBooleanLine = line;
                firstNonBoolean = text;
            }
            Integer code = dictionary.get(text);
            if (code == null && overflowLine == 0) {
                if (dictionary.size() == maxCategories) {
                    overflowLine = line;
                } else {
                    code = dictionary.size();
                    dictionary.put(text, code);
                }
            }
            codes[row] = code == null ? -1 : code;
        }

        /** One number a row: the value, the category's index or 1 / 0; NaN where missing. */
        double[] values(FeatureType type, List<String> categories) {
            double[] values = new double[count];
            switch (type) {
                case NUMERIC -> System.arraycopy(numbers, 0, values, 0, count);
                case BOOLEAN -> {
                    int[] byCode = new int[dictionary.size()];
                    dictionary.forEach((text, code) -> byCode[code] = parseBoolean(text));
                    for (int row = 0; row < count; row++) {
                        values[row] = codes[row] < 0 ? Double.NaN : byCode[codes[row]];
                    }
                }
                case CATEGORICAL -> {
                    Map<String, Integer> order = new HashMap<>();
                    for (int i = 0; i < categories.size(); i++) {
                        order.put(categories.get(i), i);
                    }
                    int[] byCode = new int[dictionary.size()];
                    dictionary.forEach((text, code) -> byCode[code] = order.get(text));
                    for (int row = 0; row < count; row++) {
                        values[row] = codes[row] < 0 ? Double.NaN : byCode[codes[row]];
                    }
                }
            }
            return values;
        }
    }

    /** A finite decimal number (digits, sign, point, exponent), else NaN: no hex, no "Infinity", no "1d". */
    static double parseNumber(String text) {
        boolean digit = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                digit = true;
            } else if (c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E') {
                return Double.NaN;
            }
        }
        if (!digit) {
            return Double.NaN;
        }
        try {
            double value = Double.parseDouble(text);
            return Double.isFinite(value) ? value : Double.NaN;
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** 1 for true, 0 for false (any case), -1 for anything else. */
    static int parseBoolean(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true" -> 1;
            case "false" -> 0;
            default -> -1;
        };
    }
}
