package dev.atrium.cli;

import java.io.PrintWriter;
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

/** Training from the command line: upload files, start a job and watch it, list and cancel jobs. */
final class TrainingCommands {
    private TrainingCommands() {}

    @Command(name = "files", mixinStandardHelpOptions = true, description = "Upload, list and delete training files.",
            subcommands = {Files.Upload.class, Files.List.class, Files.Remove.class})
    static final class Files implements Runnable {
        @Override
        public void run() {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "give a subcommand");
        }

        @Command(name = "upload", mixinStandardHelpOptions = true, description = "Upload a file (JSON Lines or CSV).")
        static final class Upload extends ServerCommand {
            @Parameters(index = "0", paramLabel = "FILE")
            Path file;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                JsonNode uploaded = upload(client, file);
                out.printf("%s %s (%d bytes)%n", uploaded.path("id").asString(), uploaded.path("filename").asString(),
                        uploaded.path("bytes").asLong());
            }
        }

        @Command(name = "ls", mixinStandardHelpOptions = true, description = "List training files.")
        static final class List extends ServerCommand {
            @Override
            void run(AtriumClient client, PrintWriter out) {
                out.printf("%-34s %-30s %12s%n", "ID", "FILENAME", "BYTES");
                for (JsonNode file : client.get("/v1/files").body().path("data")) {
                    out.printf("%-34s %-30s %12d%n", file.path("id").asString(), file.path("filename").asString(),
                            file.path("bytes").asLong());
                }
            }
        }

        @Command(name = "rm", mixinStandardHelpOptions = true, description = "Delete a training file, for good.")
        static final class Remove extends ServerCommand {
            @Parameters(index = "0", paramLabel = "ID")
            String id;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                client.delete("/v1/files/" + id);
                out.println("deleted " + id);
            }
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Upload a training file, start a fine-tuning job on it and watch it to its end.")
    static final class Train extends ServerCommand {
        @Option(names = "--model", required = true, paramLabel = "MODEL",
                description = "the embedding model (text-classification), or gradient-boosted-trees | linear | auto"
                        + " (tabular)")
        String model;

        @Option(names = "--file", required = true, paramLabel = "FILE",
                description = "JSON Lines, CSV, or a .zip of image folders by label")
        Path file;

        @Option(names = "--method", paramLabel = "METHOD", defaultValue = "text-classification",
                description = "text-classification, tabular-regression, tabular-classification or"
                        + " image-classification")
        String method;

        @Option(names = "--target", paramLabel = "COLUMN", description = "the column to predict (tabular)")
        String target;

        @Option(names = "--suffix", paramLabel = "NAME", description = "the model the result becomes a version of")
        String suffix;

        @Option(names = "--seed", paramLabel = "N", defaultValue = "42")
        long seed;

        @Option(names = "--validation-file", paramLabel = "FILE", description = "rows to evaluate on, uploaded too")
        Path validationFile;

        @Option(names = "--search", paramLabel = "SEARCH",
                description = "an AutoML search: auto, or its JSON, e.g. '{\"max_trials\": 20, \"strategy\":"
                        + " \"successive_halving\"}'")
        String search;

        @Option(names = "--promote", paramLabel = "ALIAS:METRIC",
                description = "move ALIAS to the result if it beats the alias's version on METRIC (needs"
                        + " --validation-file), e.g. production:accuracy")
        String promote;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode uploaded = upload(client, file);
            Map<String, Object> hyperparameters = new LinkedHashMap<>();
            if (target != null) {
                hyperparameters.put("target", target);
            }
            if (search != null) {
                hyperparameters.put("search", search.strip().equals("auto") ? "auto" : parse(search, "--search"));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            if (validationFile != null) {
                body.put("validation_file", upload(client, validationFile).path("id").asString());
            }
            if (promote != null) {
                int colon = promote.lastIndexOf(':');
                if (colon <= 0 || colon == promote.length() - 1) {
                    throw new AtriumClient.ClientException("--promote is ALIAS:METRIC, e.g. production:accuracy");
                }
                body.put("promote", Map.of("alias", promote.substring(0, colon), "if_better_on",
                        promote.substring(colon + 1)));
            }
            body.put("model", model);
            body.put("training_file", uploaded.path("id").asString());
            body.put("method", Map.of("type", method));
            body.put("seed", seed);
            if (suffix != null) {
                body.put("suffix", suffix);
            }
            if (!hyperparameters.isEmpty()) {
                body.put("hyperparameters", hyperparameters);
            }
            JsonNode job = client.postJson("/v1/fine_tuning/jobs", body).body();
            String id = job.path("id").asString();
            out.println("job " + id);
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            long seen = 0;
            while (true) {
                job = client.get("/v1/fine_tuning/jobs/" + id).body();
                List<JsonNode> events = new ArrayList<>();
                client.get("/v1/fine_tuning/jobs/" + id + "/events?limit=1000").body().path("data").forEach(events::add);
                for (int i = events.size() - 1; i >= 0; i--) {
                    JsonNode event = events.get(i);
                    long seq = Long.parseLong(event.path("id").asString().substring(event.path("id").asString()
                            .lastIndexOf('-') + 1));
                    if (seq > seen) {
                        seen = seq;
                        JsonNode data = event.path("data");
                        if (data.has("step") && data.has("epochs")) {
                            progress(err, data.path("step").asInt(), data.path("epochs").asInt());
                        } else {
                            err.println("\r" + event.path("message").asString());
                        }
                    }
                }
                String status = job.path("status").asString();
                if (status.equals("succeeded") || status.equals("failed") || status.equals("cancelled")) {
                    err.println();
                    if (!status.equals("succeeded")) {
                        throw new AtriumClient.ClientException("job " + id + " " + status + ": "
                                + job.path("error").path("message").asString(""));
                    }
                    out.println(job.path("fine_tuned_model").asString() + " " + job.path("metrics"));
                    if (!job.path("promote").path("reason").isMissingNode()) {
                        out.println((job.path("promote").path("promoted").asBoolean() ? "promoted: " : "not promoted: ")
                                + job.path("promote").path("reason").asString());
                    }
                    return;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AtriumClient.ClientException("interrupted; job " + id + " goes on");
                }
            }
        }

        private static Object parse(String json, String option) {
            try {
                return tools.jackson.databind.json.JsonMapper.builder().build().readTree(json);
            } catch (tools.jackson.core.JacksonException e) {
                throw new AtriumClient.ClientException(option + " is not JSON: " + json);
            }
        }

        private static void progress(PrintWriter err, int step, int total) {
            int width = 30;
            int filled = total <= 0 ? 0 : step * width / total;
            err.printf("\r[%s%s] epoch %d/%d", "#".repeat(filled), " ".repeat(width - filled), step, total);
            err.flush();
        }
    }

    /** Uploads a local file for training or evaluation; answers the file object. */
    static JsonNode upload(AtriumClient client, Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new AtriumClient.ClientException("no such file: " + file);
        }
        return AtriumClient.json(client.postForm("/v1/files", Map.of("purpose", "fine-tune"),
                List.of(Map.entry("file", file)), line -> { }));
    }

    @Command(name = "evaluate", mixinStandardHelpOptions = true,
            description = "Score a model version on a file (its rows through the serving path, metered as yours).")
    static final class Evaluate extends ServerCommand {
        @Parameters(index = "0", paramLabel = "MODEL", description = "NAME, NAME:VERSION or NAME:ALIAS")
        String model;

        @Option(names = "--file", required = true, paramLabel = "FILE",
                description = "a local file (uploaded first) or the id of an uploaded one (file-...)")
        String file;

        @Option(names = "--target", paramLabel = "COLUMN", description = "the column holding the truth (tabular)")
        String target;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String id = file.startsWith("file-") && !java.nio.file.Files.exists(Path.of(file)) ? file
                    : upload(client, Path.of(file)).path("id").asString();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("model", model);
            body.put("file", id);
            if (target != null) {
                body.put("target", target);
            }
            JsonNode scored = client.postJson("/v1/evaluations", body).body();
            out.println(scored.path("model").asString() + " " + scored.path("metrics"));
        }
    }

    @Command(name = "jobs", mixinStandardHelpOptions = true, description = "List, show and cancel fine-tuning jobs.",
            subcommands = {Jobs.List.class, Jobs.Show.class, Jobs.Events.class, Jobs.Cancel.class})
    static final class Jobs implements Runnable {
        @Override
        public void run() {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "give a subcommand");
        }

        @Command(name = "ls", mixinStandardHelpOptions = true, description = "List jobs, newest first.")
        static final class List extends ServerCommand {
            @Override
            void run(AtriumClient client, PrintWriter out) {
                out.printf("%-32s %-22s %-12s %s%n", "ID", "METHOD", "STATUS", "MODEL");
                for (JsonNode job : client.get("/v1/fine_tuning/jobs?limit=100").body().path("data")) {
                    out.printf("%-32s %-22s %-12s %s%n", job.path("id").asString(),
                            job.path("method").path("type").asString(), job.path("status").asString(),
                            job.path("fine_tuned_model").asString(""));
                }
            }
        }

        @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a job.")
        static final class Show extends ServerCommand {
            @Parameters(index = "0", paramLabel = "ID")
            String id;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                out.println(AtriumClient.pretty(client.get("/v1/fine_tuning/jobs/" + id).body()));
            }
        }

        @Command(name = "events", mixinStandardHelpOptions = true, description = "A job's events, oldest first.")
        static final class Events extends ServerCommand {
            @Parameters(index = "0", paramLabel = "ID")
            String id;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                java.util.List<JsonNode> events = new ArrayList<>();
                client.get("/v1/fine_tuning/jobs/" + id + "/events?limit=1000").body().path("data").forEach(events::add);
                for (int i = events.size() - 1; i >= 0; i--) {
                    out.println(events.get(i).path("level").asString() + " " + events.get(i).path("message").asString());
                }
            }
        }

        @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job.")
        static final class Cancel extends ServerCommand {
            @Parameters(index = "0", paramLabel = "ID")
            String id;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                JsonNode job = client.postJson("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()).body();
                out.println(id + " " + job.path("status").asString());
            }
        }
    }
}
