package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.Test;

class TextDatasetReaderTest {
    private static final TextDatasetLimits LIMITS = new TextDatasetLimits(1_000, 200, 10, 2, 20);
    private static final TextDatasetReader READER = new TextDatasetReader("training_file", LIMITS);

    private static TextDataset read(String text, TextDatasetFormat format) {
        return READER.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), format);
    }

    private static void assertRefused(ThrowableAssert.ThrowingCallable call, String... fragments) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains("training_file");
                    assertThat(e.getMessage()).doesNotContain("Exception", "jackson", "commons", "/");
                })
                .message().contains(fragments);
    }

    @Test
    void read_jsonLines_labelsSortedExamplesInOrderWithLines() {
        TextDataset dataset = read("""
                {"text": "the striker scored", "label": "sports"}

                {"text": "rain tomorrow", "label": " weather "}
                {"text": "a late goal", "label": "sports"}\r
                {"text": "sunny and warm", "label": "weather"}
                """, TextDatasetFormat.JSONL);

        assertThat(dataset.labels()).containsExactly("sports", "weather");
        assertThat(dataset.examples()).containsExactly(
                new TextExample("the striker scored", "sports", 1),
                new TextExample("rain tomorrow", "weather", 3),
                new TextExample("a late goal", "sports", 4),
                new TextExample("sunny and warm", "weather", 5));
        assertThat(dataset.classes()).containsExactly(0, 1, 0, 1);
    }

    @Test
    void read_jsonLinesWithIntegerAndBooleanLabels_readsThemAsText() {
        TextDataset dataset = read("""
                {"text": "a", "label": 1}
                {"text": "b", "label": 0}
                {"text": "c", "label": 1}
                {"text": "d", "label": 0}
                """, TextDatasetFormat.JSONL);

        assertThat(dataset.labels()).containsExactly("0", "1");
    }

    @Test
    void read_byteOrderMarkAndNoFinalNewline_ignored() {
        TextDataset dataset = read("\uFEFF{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"x\"}\n"
                + "{\"text\": \"c\", \"label\": \"y\"}\n{\"text\": \"d\", \"label\": \"y\"}", TextDatasetFormat.JSONL);

        assertThat(dataset.texts()).containsExactly("a", "b", "c", "d");
    }

    @Test
    void read_chatFormat_lastUserMessageIsTextAndAssistantReplyLabel() {
        TextDataset dataset = new TextDatasetReader("training_file", TextDatasetLimits.DEFAULTS.withMinExamplesPerLabel(2)).read(stream("""
                {"messages": [{"role": "system", "content": "Classify the topic."}, {"role": "user", "content": "who won the match"}, {"role": "assistant", "content": "sports"}]}
                {"messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "weather"}, {"role": "user", "content": [{"type": "text", "text": "will it "}, {"type": "text", "text": "snow"}]}, {"role": "assistant", "content": "weather"}]}
                {"messages": [{"role": "user", "content": "the final whistle"}, {"role": "assistant", "content": "sports"}]}
                {"messages": [{"role": "user", "content": "a heat wave"}, {"role": "assistant", "content": [{"type": "text", "text": "weather"}]}]}
                """), TextDatasetFormat.JSONL);

        assertThat(dataset.examples()).containsExactly(
                new TextExample("who won the match", "sports", 1),
                new TextExample("will it snow", "weather", 2),
                new TextExample("the final whistle", "sports", 3),
                new TextExample("a heat wave", "weather", 4));
    }

    @Test
    void read_chatWithoutAssistantReply_namesLine() {
        assertRefused(() -> read("""
                {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "x"}]}
                {"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "b"}]}
                """, TextDatasetFormat.JSONL), "line 2", "no assistant message after its last user message");
        assertRefused(() -> read("{\"messages\": [{\"role\": \"system\", \"content\": \"a\"}]}\n",
                TextDatasetFormat.JSONL), "line 1", "no user message");
        assertRefused(() -> read("{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}",
                TextDatasetFormat.JSONL), "line 1", "message 1", "'content'");
    }

    @Test
    void read_badJson_namesLine() {
        assertRefused(() -> read("""
                {"text": "a", "label": "x"}
                {"text": "b", "label": "y"}
                {"text": "c", "label": "x"
                """, TextDatasetFormat.JSONL), "line 3 is not valid JSON");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"} {\"text\": \"b\"}\n", TextDatasetFormat.JSONL),
                "line 1 is not valid JSON");
        assertRefused(() -> read("{\"text\": \"a\", \"text\": \"b\", \"label\": \"x\"}\n", TextDatasetFormat.JSONL),
                "line 1 is not valid JSON");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"}\n[1, 2]\n", TextDatasetFormat.JSONL),
                "line 2 is not a JSON object");
    }

    @Test
    void read_missingOrWrongField_namesLineAndField() {
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"}\n{\"label\": \"x\"}\n", TextDatasetFormat.JSONL),
                "line 2 has no 'text'");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\"}\n", TextDatasetFormat.JSONL),
                "line 3 has no 'label'");
        assertRefused(() -> read("{\"text\": 5, \"label\": \"x\"}\n", TextDatasetFormat.JSONL),
                "line 1: 'text' must be a string");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": 1.5}\n", TextDatasetFormat.JSONL),
                "line 1: 'label' must be a string, an integer or a boolean");
        assertRefused(() -> read("{\"text\": \"  \", \"label\": \"x\"}\n", TextDatasetFormat.JSONL),
                "line 1: the text is empty");
    }

    @Test
    void read_badLabels_namesLine() {
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x,y\"}\n", TextDatasetFormat.JSONL),
                "line 1", "has a comma");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"a\", \"label\": \" \"}\n",
                TextDatasetFormat.JSONL), "line 2: the label is empty");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"" + "l".repeat(21) + "\"}\n", TextDatasetFormat.JSONL),
                "line 1: the label is longer than 20 characters");
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\\ny\"}\n", TextDatasetFormat.JSONL),
                "line 1", "control character");
    }

    @Test
    void read_oneLabelOnly_refused() {
        assertRefused(() -> read("""
                {"text": "a", "label": "x"}
                {"text": "b", "label": "x"}
                {"text": "c", "label": "x"}
                """, TextDatasetFormat.JSONL), "every example has the label 'x'", "at least 2 labels");
    }

    @Test
    void read_labelWithTooFewExamples_namesLabelAndItsFirstLine() {
        assertRefused(() -> read("""
                {"text": "a", "label": "x"}
                {"text": "b", "label": "x"}
                {"text": "c", "label": "y"}
                """, TextDatasetFormat.JSONL), "the label 'y' (first on line 3) has 1 example;",
                "at least 2");
    }

    @Test
    void read_empty_refused() {
        assertRefused(() -> read("\n\n", TextDatasetFormat.JSONL), "no examples");
        assertRefused(() -> read("", TextDatasetFormat.CSV), "the CSV file is empty");
    }

    @Test
    void read_lineLongerThanLimit_namesLineWithoutReadingTheRest() {
        String longLine = "{\"text\": \"" + "w".repeat(200) + "\", \"label\": \"x\"}";
        assertRefused(() -> read("{\"text\": \"a\", \"label\": \"x\"}\n" + longLine + "\n", TextDatasetFormat.JSONL),
                "line 2 is longer than 200 bytes");

        // a line of exactly the limit passes; a CR before the LF is not counted
        String exact = "{\"text\": \"" + "w".repeat(200 - 26) + "\", \"label\": \"x\"}";
        assertThat(exact.length()).isEqualTo(200);
        TextDataset dataset = read(exact + "\r\n" + exact + "\n{\"text\": \"b\", \"label\": \"y\"}\n"
                + "{\"text\": \"c\", \"label\": \"y\"}", TextDatasetFormat.JSONL);
        assertThat(dataset.examples()).hasSize(4);

        // an endless line: refused after reading just past the limit, not the whole stream
        CountingStream endless = new CountingStream(new byte[] {'a'}, 100_000_000);
        assertRefused(() -> READER.read(endless, TextDatasetFormat.JSONL), "line 1 is longer than 200 bytes");
        assertThat(endless.served).isLessThan(200 + 8192 + 1);
    }

    @Test
    void read_invalidUtf8_namesLine() {
        byte[] bytes = "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"\u00ff\", \"label\": \"x\"}\n"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertRefused(() -> READER.read(new ByteArrayInputStream(bytes), TextDatasetFormat.JSONL),
                "line 2 is not valid UTF-8");
    }

    @Test
    void read_moreExamplesOrLabelsThanLimits_namesLine() {
        TextDatasetReader small = new TextDatasetReader("training_file", new TextDatasetLimits(3, 200, 2, 2, 20));
        assertRefused(() -> small.read(stream("""
                {"text": "a", "label": "x"}
                {"text": "b", "label": "x"}
                {"text": "c", "label": "y"}
                {"text": "d", "label": "y"}
                """), TextDatasetFormat.JSONL), "line 4: the dataset has more than 3 examples");
        assertRefused(() -> small.read(stream("""
                {"text": "a", "label": "x"}
                {"text": "b", "label": "y"}
                {"text": "c", "label": "z"}
                """), TextDatasetFormat.JSONL), "line 3: the dataset has more than 2 labels");
    }

    @Test
    void read_csvWithQuotesCommasAndNewlinesInQuotes() {
        TextDataset dataset = read("\uFEFFid,Text,label\r\n"
                + "1,\"hello, world\",greeting\r\n"
                + "2,\"she said \"\"hi\"\"\",greeting\r\n"
                + "3,\"two\nlines\",farewell\r\n"
                + "\r\n"
                + "4,goodbye,\" farewell \"\r\n", TextDatasetFormat.CSV);

        assertThat(dataset.labels()).containsExactly("farewell", "greeting");
        assertThat(dataset.examples()).containsExactly(
                new TextExample("hello, world", "greeting", 2),
                new TextExample("she said \"hi\"", "greeting", 3),
                new TextExample("two\nlines", "farewell", 4),
                new TextExample("goodbye", "farewell", 7));
    }

    @Test
    void read_csvErrors_nameLine() {
        assertRefused(() -> read("text,category\na,x\n", TextDatasetFormat.CSV),
                "line 1, the CSV header, has no 'label' column");
        assertRefused(() -> read("text,label,text\na,x,b\n", TextDatasetFormat.CSV),
                "names the 'text' column twice");
        assertRefused(() -> read("text,label\na,x\nb\n", TextDatasetFormat.CSV),
                "line 3 has 1 fields, but the header names 2 columns");
        assertRefused(() -> read("text,label\na,x\nb,y\n\"unclosed,y\nc,x\n", TextDatasetFormat.CSV),
                "the record starting on line 4 is not valid CSV");
        assertRefused(() -> read("text,label\na,x\n\"b\"junk,y\n", TextDatasetFormat.CSV),
                "the record starting on line 3 is not valid CSV");
        assertRefused(() -> read("text,label\na,x\n" + "w".repeat(199) + ",x\n", TextDatasetFormat.CSV),
                "line 3 is longer than 200 bytes");
        byte[] latin1 = "text,label\na,x\n\u00ff,x\n".getBytes(StandardCharsets.ISO_8859_1);
        assertRefused(() -> READER.read(new ByteArrayInputStream(latin1), TextDatasetFormat.CSV), "not valid UTF-8");
    }

    @Test
    void read_csvEndlessQuotedField_refusedWithinTheLimitAndReadAhead() {
        byte[] start = "text,label\na,x\n\"".getBytes(StandardCharsets.UTF_8);
        CountingStream endless = new CountingStream(start, 100_000_000);
        assertRefused(() -> READER.read(endless, TextDatasetFormat.CSV), "line 3 is longer than 200 bytes");
        assertThat(endless.served).isLessThan(200 + 64 * 1024 + 16 * 1024);
    }

    @Test
    void read_streamFailure_isNotBlamedOnTheFile() {
        InputStream failing = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("disk gone");
            }
        };
        assertThatThrownBy(() -> READER.read(failing, TextDatasetFormat.JSONL)).isInstanceOf(UncheckedIOException.class);
        assertThatThrownBy(() -> READER.read(failing, TextDatasetFormat.CSV)).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void read_largeFile_allExamplesInOrder() {
        StringBuilder file = new StringBuilder("text,label\n");
        for (int i = 0; i < 900; i++) {
            file.append("\"example, number ").append(i).append("\",label").append(i % 7).append('\n');
        }
        TextDataset dataset = read(file.toString(), TextDatasetFormat.CSV);

        assertThat(dataset.examples()).hasSize(900);
        assertThat(dataset.labels()).hasSize(7);
        assertThat(dataset.examples().get(899)).isEqualTo(new TextExample("example, number 899", "label3", 901));
        assertThat(List.of(dataset.classes()[0], dataset.classes()[8])).containsExactly(0, 1);
    }

    private static InputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A stream of a prefix and then {@code length} more bytes of 'w', counting what it served. */
    private static final class CountingStream extends InputStream {
        private final byte[] prefix;
        private final long length;
        long served;

        CountingStream(byte[] prefix, long length) {
            this.prefix = prefix;
            this.length = length;
        }

        @Override
        public int read() {
            if (served >= prefix.length + length) {
                return -1;
            }
            int b = served < prefix.length ? prefix[(int) served] : 'w';
            served++;
            return b;
        }

        @Override
        public int read(byte[] bytes, int offset, int count) {
            int n = 0;
            while (n < count) {
                int b = read();
                if (b < 0) {
                    return n == 0 ? -1 : n;
                }
                bytes[offset + n++] = (byte) b;
            }
            return n;
        }
    }
}
