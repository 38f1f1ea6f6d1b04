package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PushbackInputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a text classification dataset from a stream, one line (or CSV record) at a time, within its
 * {@link TextDatasetLimits}: no line is buffered past {@code maxLineBytes}, and reading stops at the first line past a
 * limit. Every refusal is an {@link AtriumException#invalidParam} on the request field the file came in, naming the
 * line it is about. Instances are immutable and thread-safe.
 */
final class TextDatasetReader {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    /** What the readers in front of the CSV parser may read ahead of the record it is on. */
    private static final int CSV_READ_AHEAD = 64 * 1024;

    private final String param;
    private final TextDatasetLimits limits;

    /**
     * @param param the request field that names the file (e.g. {@code training_file}), put on every refusal
     */
    TextDatasetReader(String param, TextDatasetLimits limits) {
        this.param = requireNonNull(param, "param is null");
        this.limits = requireNonNull(limits, "limits is null");
    }

    /**
     * Reads the whole stream (without closing it).
     *
     * @throws AtriumException {@code INVALID_REQUEST} naming the line of the first problem, or the label when one has
     *     too few examples
     * @throws UncheckedIOException when the stream itself fails
     */
    TextDataset read(InputStream in, TextDatasetFormat format) {
        requireNonNull(in, "in is null");
        requireNonNull(format, "format is null");
        Examples examples = new Examples();
        try {
            switch (format) {
                case JSONL -> readJsonLines(in, examples);
                case CSV -> readCsv(in, examples);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return examples.toDataset();
    }

    private void readJsonLines(InputStream in, Examples examples) throws IOException {
        LineReader lines = new LineReader(in, limits.maxLineBytes());
        String line;
        while ((line = lines.next()) != null) {
            long number = lines.number();
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JacksonException e) {
                throw refuse("line " + number + " is not valid JSON; each line is one JSON object");
            }
            if (node == null || !node.isObject()) {
                throw refuse("line " + number + " is not a JSON object; each line is one JSON object");
            }
            examples.add(node.has("messages") ? fromChat(node, number) : fromTextAndLabel(node, number));
        }
    }

    private TextExample fromTextAndLabel(JsonNode node, long line) {
        JsonNode text = node.get("text");
        if (text == null || text.isNull()) {
            throw refuse("line " + line + " has no 'text'; each line is {\"text\": ..., \"label\": ...} or OpenAI's"
                    + " chat format {\"messages\": [...]}");
        }
        if (!text.isString()) {
            throw refuse("line " + line + ": 'text' must be a string");
        }
        JsonNode label = node.get("label");
        if (label == null || label.isNull()) {
            throw refuse("line " + line + " has no 'label'; each line is {\"text\": ..., \"label\": ...}");
        }
        String labelText;
        if (label.isString()) {
            labelText = label.stringValue();
        } else if (label.isIntegralNumber() || label.isBoolean()) {
            labelText = label.asString();
        } else {
            throw refuse("line " + line + ": 'label' must be a string, an integer or a boolean");
        }
        return example(text.stringValue(), labelText, line);
    }

    /** OpenAI's chat format: the last user message is the text, the first assistant message after it the label. */
    private TextExample fromChat(JsonNode node, long line) {
        JsonNode messages = node.get("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw refuse("line " + line + ": 'messages' must be a non-empty array of {\"role\", \"content\"} objects");
        }
        int lastUser = -1;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            if (!message.isObject() || !message.path("role").isString()) {
                throw refuse("line " + line + ": message " + (i + 1) + " must be an object with a string 'role'");
            }
            if (message.get("role").stringValue().equals("user")) {
                lastUser = i;
            }
        }
        if (lastUser < 0) {
            throw refuse("line " + line + " has no user message; its last user message is the text to classify");
        }
        for (int i = lastUser + 1; i < messages.size(); i++) {
            if (messages.get(i).get("role").stringValue().equals("assistant")) {
                return example(content(messages.get(lastUser), lastUser, line), content(messages.get(i), i, line),
                        line);
            }
        }
        throw refuse("line " + line + " has no assistant message after its last user message; the assistant's reply"
                + " is the label");
    }

    /** A message's content: a string, or an array of parts whose {@code text} parts are joined. */
    private String content(JsonNode message, int index, long line) {
        JsonNode content = message.get("content");
        if (content != null && content.isString()) {
            return content.stringValue();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.isObject() || !part.path("type").isString()) {
                    throw refuse("line " + line + ": message " + (index + 1) + " has a content part that is not an"
                            + " object with a 'type'");
                }
                if (part.get("type").stringValue().equals("text")) {
                    if (!part.path("text").isString()) {
                        throw refuse("line " + line + ": message " + (index + 1) + " has a text part without 'text'");
                    }
                    text.append(part.get("text").stringValue());
                }
            }
            return text.toString();
        }
        throw refuse("line " + line + ": message " + (index + 1) + " needs a 'content' string (or array of text parts)");
    }

    private void readCsv(InputStream in, Examples examples) throws IOException {
        RecordGuard guard = new RecordGuard(withoutByteOrderMark(in), (long) limits.maxLineBytes() + CSV_READ_AHEAD);
        Reader reader = new InputStreamReader(guard, strictUtf8());
        CSVFormat format = CSVFormat.RFC4180.builder()
                .setHeader()
                .setSkipHeaderRecord(true)
                .setDuplicateHeaderMode(DuplicateHeaderMode.ALLOW_ALL)
                .setAllowMissingColumnNames(true)
                // blank lines come through as records of one empty field, so that line numbers stay exact
                .setIgnoreEmptyLines(false)
                .get();
        CSVParser parser;
        try {
            parser = CSVParser.builder().setReader(reader).setFormat(format).get();
        } catch (UncheckedIOException | IOException | RecordTooLongException | IllegalArgumentException e) {
            throw csvFailure(e, 1, guard);
        }
        List<String> header = parser.getHeaderNames().stream().map(name -> name.strip().toLowerCase(Locale.ROOT))
                .toList();
        if (header.isEmpty()) {
            throw refuse("the CSV file is empty; its first line names the columns, 'text' and 'label'");
        }
        int textColumn = column(header, "text");
        int labelColumn = column(header, "label");
        Iterator<CSVRecord> records = parser.iterator();
        while (true) {
            guard.mark();
            long start = parser.getCurrentLineNumber() + 1;
            CSVRecord record;
            try {
                if (!records.hasNext()) {
                    break;
                }
                record = records.next();
            } catch (UncheckedIOException | RecordTooLongException | IllegalStateException e) {
                throw csvFailure(e, start, guard);
            }
            if (record.size() == 1 && record.get(0).isEmpty()) {
                continue;
            }
            if (record.size() != header.size()) {
                throw refuse("line " + start + " has " + record.size() + " fields, but the header names "
                        + header.size() + " columns");
            }
            long bytes = record.size() - 1;
            for (String value : record) {
                bytes += utf8Length(value);
            }
            if (bytes > limits.maxLineBytes()) {
                throw tooLong(start);
            }
            examples.add(example(record.get(textColumn), record.get(labelColumn), start));
        }
    }

    private int column(List<String> header, String name) {
        int first = header.indexOf(name);
        if (first < 0) {
            throw refuse("line 1, the CSV header, has no '" + name + "' column; it names the columns, 'text' and"
                    + " 'label'");
        }
        if (header.lastIndexOf(name) != first) {
            throw refuse("line 1, the CSV header, names the '" + name + "' column twice");
        }
        return first;
    }

    private AtriumException csvFailure(Exception e, long line, RecordGuard guard) {
        if (guard.failure != null) {
            // the stream itself failed, not the text in it
            throw new UncheckedIOException(guard.failure);
        }
        if (e instanceof RecordTooLongException) {
            return tooLong(line);
        }
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof CharacterCodingException) {
                return refuse("the record starting on line " + line + " is not valid UTF-8");
            }
        }
        return refuse("the record starting on line " + line + " is not valid CSV (RFC 4180): a quoted field must end"
                + " with a quote followed by a comma or the end of the line");
    }

    private TextExample example(String text, String label, long line) {
        if (text.isBlank()) {
            throw refuse("line " + line + ": the text is empty");
        }
        String stripped = label.strip();
        if (stripped.isEmpty()) {
            throw refuse("line " + line + ": the label is empty");
        }
        if (stripped.length() > limits.maxLabelLength()) {
            throw refuse("line " + line + ": the label is longer than " + limits.maxLabelLength() + " characters");
        }
        if (stripped.indexOf(',') >= 0) {
            throw refuse("line " + line + ": the label '" + stripped + "' has a comma; labels cannot have commas");
        }
        if (stripped.chars().anyMatch(Character::isISOControl)) {
            throw refuse("line " + line + ": the label has a control character (such as a newline)");
        }
        return new TextExample(text, stripped, line);
    }

    private AtriumException tooLong(long line) {
        return refuse("line " + line + " is longer than " + limits.maxLineBytes() + " bytes");
    }

    private AtriumException refuse(String message) {
        return AtriumException.invalidParam(param, message);
    }

    private static long utf8Length(String value) {
        long bytes = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static CharsetDecoder strictUtf8() {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    /** Spreadsheets often start UTF-8 files with a byte order mark, which is no part of the first column's name. */
    private static InputStream withoutByteOrderMark(InputStream in) throws IOException {
        PushbackInputStream pushback = new PushbackInputStream(in, 3);
        byte[] head = pushback.readNBytes(3);
        boolean mark = head.length == 3 && (head[0] & 0xFF) == 0xEF && (head[1] & 0xFF) == 0xBB
                && (head[2] & 0xFF) == 0xBF;
        if (!mark) {
            pushback.unread(head);
        }
        return pushback;
    }

    /** The examples read so far, and the count of each label, within the limits. */
    private final class Examples {
        private final List<TextExample> examples = new ArrayList<>();
        private final Map<String, LabelCount> labels = new TreeMap<>();

        void add(TextExample example) {
            if (examples.size() == limits.maxExamples()) {
                throw refuse("line " + example.line() + ": the dataset has more than " + limits.maxExamples()
                        + " examples");
            }
            LabelCount count = labels.get(example.label());
            if (count == null) {
                if (labels.size() == limits.maxLabels()) {
                    throw refuse("line " + example.line() + ": the dataset has more than " + limits.maxLabels()
                            + " labels");
                }
                count = new LabelCount(example.line());
                labels.put(example.label(), count);
            }
            count.examples++;
            examples.add(example);
        }

        TextDataset toDataset() {
            if (examples.isEmpty()) {
                throw refuse("the file holds no examples");
            }
            if (labels.size() < 2) {
                throw refuse("every example has the label '" + labels.keySet().iterator().next() + "'; a classifier"
                        + " needs at least 2 labels");
            }
            for (Map.Entry<String, LabelCount> entry : labels.entrySet()) {
                if (entry.getValue().examples < limits.minExamplesPerLabel()) {
                    throw refuse("the label '" + entry.getKey() + "' (first on line " + entry.getValue().firstLine
                            + ") has " + entry.getValue().examples + " example" + (entry.getValue().examples == 1 ? ""
                            : "s") + "; each label needs at least " + limits.minExamplesPerLabel());
                }
            }
            return new TextDataset(List.copyOf(labels.keySet()), examples);
        }
    }

    private static final class LabelCount {
        final long firstLine;
        int examples;

        LabelCount(long firstLine) {
            this.firstLine = firstLine;
        }
    }

    /**
     * Lines of UTF-8 text read from a stream, each at most {@code maxBytes} long (without its line break), a byte
     * order mark at the start dropped. A longer line is refused as soon as its first {@code maxBytes + 1} bytes are
     * in, so memory stays within the limit.
     */
    private final class LineReader {
        private final InputStream in;
        private final int maxBytes;
        private final byte[] buffer = new byte[8192];
        private int position;
        private int limit;
        private byte[] line = new byte[256];
        private long number;
        private boolean ended;

        LineReader(InputStream in, int maxBytes) {
            this.in = in;
            this.maxBytes = maxBytes;
        }

        /** The number of the line {@link #next} returned last (1-based). */
        long number() {
            return number;
        }

        /** The next line, or null at the end of the stream. */
        String next() throws IOException {
            if (ended) {
                return null;
            }
            int length = 0;
            boolean any = false;
            number++;
            while (true) {
                if (position == limit) {
                    limit = in.read(buffer);
                    position = 0;
                    if (limit <= 0) {
                        limit = 0;
                        ended = true;
                        if (!any) {
                            return null;
                        }
                        break;
                    }
                }
                any = true;
                byte b = buffer[position++];
                if (b == '\n') {
                    break;
                }
                if (length == maxBytes + 1) {
                    throw tooLong(number);
                }
                if (length == line.length) {
                    line = java.util.Arrays.copyOf(line, Math.min(maxBytes + 1, line.length * 2));
                }
                line[length++] = b;
            }
            if (length > 0 && line[length - 1] == '\r') {
                length--;
            }
            if (length > maxBytes) {
                throw tooLong(number);
            }
            int offset = 0;
            if (number == 1 && length >= 3 && (line[0] & 0xFF) == 0xEF && (line[1] & 0xFF) == 0xBB
                    && (line[2] & 0xFF) == 0xBF) {
                offset = 3;
            }
            try {
                return strictUtf8().decode(ByteBuffer.wrap(line, offset, length - offset)).toString();
            } catch (CharacterCodingException e) {
                throw refuse("line " + number + " is not valid UTF-8");
            }
        }
    }

    /** Counts the bytes read since the last record began, and stops a record that runs past the limit. */
    private static final class RecordGuard extends FilterInputStream {
        private final long maxBytes;
        private long sinceMark;
        /** A failure of the underlying stream, which the CSV parser would report like a syntax error. */
        IOException failure;

        RecordGuard(InputStream in, long maxBytes) {
            super(in);
            this.maxBytes = maxBytes;
        }

        void mark() {
            sinceMark = 0;
        }

        @Override
        public int read() throws IOException {
            int b;
            try {
                b = super.read();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            int read;
            try {
                read = super.read(bytes, offset, length);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
            if (read > 0) {
                count(read);
            }
            return read;
        }

        private void count(int bytes) {
            sinceMark += bytes;
            if (sinceMark > maxBytes) {
                throw new RecordTooLongException();
            }
        }
    }

    /** Thrown through the CSV parser from {@link RecordGuard}; unchecked so that the parser does not wrap it. */
    private static final class RecordTooLongException extends RuntimeException {
        RecordTooLongException() {
            super(null, null, false, false);
        }
    }
}
