package dev.atrium.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

/** Calling task models from the command line: transcribe audio, classify texts or images, predict rows of a CSV. */
final class TaskCommands {
    private TaskCommands() {}

    @Command(name = "transcribe", mixinStandardHelpOptions = true,
            description = "Transcribe an audio file (WAV, FLAC or MP3) with a transcription model.")
    static final class Transcribe extends ServerCommand {
        @Parameters(index = "0", paramLabel = "FILE")
        Path file;

        @Option(names = "--model", required = true, paramLabel = "MODEL")
        String model;

        @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
                description = "text (streamed, with a progress bar), json, verbose_json, srt or vtt")
        String format;

        @Option(names = "--language", paramLabel = "CODE", description = "the spoken language (ISO-639-1)")
        String language;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            if (!Files.isRegularFile(file)) {
                throw new AtriumClient.ClientException("no such file: " + file);
            }
            Map<String, String> fields = new LinkedHashMap<>();
            fields.put("model", model);
            if (language != null) {
                fields.put("language", language);
            }
            boolean stream = format.equals("text");
            if (stream) {
                fields.put("stream", "true");
            } else {
                fields.put("response_format", format);
            }
            PrintWriter err = spec.commandLine().getErr();
            Progress progress = new Progress(err);
            StringBuilder text = new StringBuilder();
            String whole = client.postForm("/v1/audio/transcriptions", fields, List.of(Map.entry("file", file)),
                    line -> {
                        if (!line.startsWith("data: ")) {
                            return;
                        }
                        JsonNode event = AtriumClient.json(line.substring(6));
                        switch (event.path("type").asString("")) {
                            case "transcript.text.delta" -> progress.show(event.path("windows_done").asInt(),
                                    event.path("windows").asInt(), event.path("end").asDouble(0));
                            case "transcript.text.done" -> text.append(event.path("text").asString(""));
                            case "error" -> throw new AtriumClient.ClientException("the transcription failed: "
                                    + event.path("error").path("message").asString(""));
                            default -> { }
                        }
                    });
            progress.end();
            out.println(stream ? text : whole.stripTrailing());
        }
    }

    /** A progress bar on stderr: windows of audio transcribed, redrawn in place. */
    static final class Progress {
        private final PrintWriter err;
        private boolean shown;

        Progress(PrintWriter err) {
            this.err = err;
        }

        void show(int done, int total, double seconds) {
            if (total <= 0) {
                return;
            }
            int width = 30;
            int filled = (int) ((long) done * width / total);
            err.printf("\r[%s%s] %d/%d windows, %.0f s of audio", "#".repeat(filled), " ".repeat(width - filled),
                    done, total, seconds);
            err.flush();
            shown = true;
        }

        void end() {
            if (shown) {
                err.println();
            }
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true,
            description = "Classify texts or images with a classifier, or texts against --label with an embedding"
                    + " model.")
    static final class Classify extends ServerCommand {
        @Parameters(paramLabel = "TEXT", arity = "0..*", description = "texts to classify")
        List<String> texts = new ArrayList<>();

        @Option(names = "--image", paramLabel = "FILE", description = "an image to classify (repeatable)")
        List<Path> images = new ArrayList<>();

        @Option(names = "--model", required = true, paramLabel = "MODEL")
        String model;

        @Option(names = "--label", paramLabel = "LABEL", description = "a candidate label, for zero-shot (repeatable)")
        List<String> labels = new ArrayList<>();

        @Option(names = "--top-k", paramLabel = "K", defaultValue = "3")
        int topK;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            if (texts.isEmpty() == images.isEmpty()) {
                throw new AtriumClient.ClientException("give texts or --image files (not both)");
            }
            JsonNode answer;
            List<String> names = new ArrayList<>();
            if (!images.isEmpty()) {
                Map<String, String> fields = new LinkedHashMap<>();
                fields.put("model", model);
                fields.put("top_k", Integer.toString(topK));
                List<Map.Entry<String, Path>> files = new ArrayList<>();
                for (Path image : images) {
                    if (!Files.isRegularFile(image)) {
                        throw new AtriumClient.ClientException("no such file: " + image);
                    }
                    files.add(Map.entry("file", image));
                    names.add(image.getFileName().toString());
                }
                answer = AtriumClient.json(client.postForm("/v1/classifications", fields, files, line -> { }));
            } else {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("model", model);
                body.put("input", texts);
                body.put("top_k", topK);
                if (!labels.isEmpty()) {
                    body.put("labels", labels);
                }
                answer = client.postJson("/v1/classifications", body).body();
                names.addAll(texts);
            }
            for (JsonNode item : answer.path("data")) {
                StringBuilder line = new StringBuilder(names.get(item.path("index").asInt())).append(':');
                for (JsonNode label : item.path("labels")) {
                    line.append(String.format(java.util.Locale.ROOT, " %s %.3f", label.path("label").asString(),
                            label.path("score").asDouble()));
                }
                out.println(line);
            }
        }
    }

    @Command(name = "predict", mixinStandardHelpOptions = true,
            description = "Predict each row of a CSV file (a header of column names, then rows) with a tabular model.")
    static final class Predict extends ServerCommand {
        @Option(names = "--model", required = true, paramLabel = "MODEL")
        String model;

        @Option(names = "--csv", required = true, paramLabel = "FILE")
        Path csv;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            List<String> lines;
            try {
                lines = Files.readAllLines(csv, StandardCharsets.UTF_8).stream().filter(line -> !line.isBlank())
                        .toList();
            } catch (IOException e) {
                throw new AtriumClient.ClientException("cannot read " + csv + ": " + e.getMessage());
            }
            if (lines.size() < 2) {
                throw new AtriumClient.ClientException(csv + " needs a header line and at least one row");
            }
            List<String> columns = cells(lines.getFirst());
            List<List<Object>> rows = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) {
                List<String> cells = cells(line);
                if (cells.size() != columns.size()) {
                    throw new AtriumClient.ClientException("a row of " + csv + " has " + cells.size() + " cells but the"
                            + " header names " + columns.size() + " columns: " + line);
                }
                rows.add(cells.stream().map(Predict::value).toList());
            }
            Map<String, Object> split = new LinkedHashMap<>();
            split.put("columns", columns);
            split.put("data", rows);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("model", model);
            body.put("dataframe_split", split);
            JsonNode answer = client.postJson("/v1/predictions", body).body();
            JsonNode probabilities = answer.path("probabilities");
            for (int i = 0; i < answer.path("predictions").size(); i++) {
                JsonNode prediction = answer.path("predictions").get(i);
                out.println(probabilities.isArray() ? prediction.asString() + " " + probabilities.get(i)
                        : prediction.asString());
            }
        }

        /** The cells of a CSV line: commas separate them; double quotes enclose cells that hold commas. */
        static List<String> cells(String line) {
            List<String> cells = new ArrayList<>();
            StringBuilder cell = new StringBuilder();
            boolean quoted = false;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c == '"') {
                    if (quoted && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                        cell.append('"');
                        i++;
                    } else {
                        quoted = !quoted;
                    }
                } else if (c == ',' && !quoted) {
                    cells.add(cell.toString().strip());
                    cell.setLength(0);
                } else {
                    cell.append(c);
                }
            }
            cells.add(cell.toString().strip());
            return cells;
        }

        /** A cell as JSON: a number, true or false, nothing for an empty cell (a missing value), else text. */
        static Object value(String cell) {
            if (cell.isEmpty()) {
                return null;
            }
            if (cell.equals("true") || cell.equals("false")) {
                return Boolean.valueOf(cell);
            }
            try {
                return new java.math.BigDecimal(cell);
            } catch (NumberFormatException e) {
                return cell;
            }
        }
    }
}
