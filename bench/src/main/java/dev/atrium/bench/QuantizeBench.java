package dev.atrium.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Float against quantized (issue 15): e5-small-v2 in fp32 (from its Maven jar) uploaded to a running server and
 * quantized there ({@code POST .../quantize}), then the fp32 file, the int8 file the server made (downloaded back)
 * and the published int8 build (e5-small-v2-q) measured in one run: file size; sentences per second in process
 * (ONNX Runtime on the calling thread, one intra-op thread, the full path: tokenize, run, mean-pool, normalize; one
 * sentence per call and eight per call), per second of that thread's CPU (what the model costs, even on a machine
 * shared with other work) and per second of wall time, in rounds that take turns so that all three see the same
 * machine; the cosine of each one's embeddings to the fp32
 * ones on the sentences below; and sentences per second through the server ({@code /v1/embeddings}, one sentence a
 * request, a closed loop of four clients). Prints markdown tables.
 *
 * <p>Usage: {@code QuantizeBench URL ADMIN_KEY SECONDS} (seconds per model and measurement, split into rounds).
 */
public final class QuantizeBench {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String CONFIG = "{\"pooling\": \"mean\", \"normalize\": true, \"max_length\": 512,"
            + " \"prefixes\": {\"query\": \"query: \", \"passage\": \"passage: \"}, \"default_input_type\": \"query\"}";
    private static final int ROUNDS = 5;
    private static final int CLIENTS = 4;
    private static final List<String> SENTENCES = List.of(
            "Where can I find the nearest pharmacy open on Sunday?",
            "The board approved the merger after a six-hour meeting.",
            "Neural networks learn representations from large amounts of data.",
            "She planted tomatoes, basil and peppers in the raised beds.",
            "How many kilometres is it from Lisbon to Porto?",
            "The bridge was closed for repairs after the storm damaged its cables.",
            "Add two tablespoons of olive oil and fry the onions until golden.",
            "Symptoms of dehydration include headache, dizziness and dark urine.",
            "The central bank raised rates by a quarter point to curb inflation.",
            "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)",
            "Your order has shipped and should arrive within three working days.",
            "The museum's new wing houses a collection of medieval manuscripts.",
            "Can I bring my dog on the train if it stays in a carrier?",
            "The goalkeeper saved a penalty in the last minute of extra time.",
            "Volcanic ash can disrupt air traffic across an entire continent.",
            "Ich möchte einen Tisch für zwei Personen reservieren.",
            "Le musée est fermé le mardi.",
            "What are the side effects of the flu vaccine?",
            "The software update fixes a memory leak in the image decoder.",
            "Tickets for the concert sold out within minutes.",
            "Bees pollinate roughly a third of the crops we eat.",
            "The lease may be terminated by either party with ninety days' written notice.",
            "yes",
            "A retry with exponential backoff avoids hammering an overloaded server.",
            "Which laptop has the longest battery life under 1000 dollars?",
            "Saturn's rings are made mostly of ice particles and rock.",
            "Remember to back up your files before upgrading the operating system.",
            "The recipe serves four and takes about forty minutes.",
            "Gradient descent updates the parameters against the gradient of the loss.",
            "The quick brown fox jumps over the lazy dog near the quiet riverbank.");

    private QuantizeBench() {}

    private record Candidate(String label, String reference, Path onnx, Path tokenizer) {}

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String key = args[1];
        int seconds = Integer.parseInt(args[2]);
        Path directory = Files.createTempDirectory("quantize-bench-");
        Path fp32 = extract("/e5-small-v2.onnx", directory);
        Path fp32Tokenizer = extract("/e5-small-v2-tokenizer.json", directory);
        Path published = extract("/e5-small-v2-q.onnx", directory);
        Path publishedTokenizer = extract("/e5-small-v2-q-tokenizer.json", directory);
        upload(url, key, "e5-fp32", fp32, fp32Tokenizer);
        upload(url, key, "e5-q", published, publishedTokenizer);
        long start = System.nanoTime();
        JsonNode quantized = send(key, HttpRequest.newBuilder(URI.create(url
                + "/admin/models/e5-fp32/versions/1/quantize")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"alias\": \"int8\"}")));
        System.out.printf("quantized through the server in %.1f s; lineage: %s%n", (System.nanoTime() - start) / 1e9,
                quantized.path("lineage"));
        Path ours = directory.resolve("e5-small-v2-atrium-int8.onnx");
        HttpResponse<Path> download = HTTP.send(HttpRequest.newBuilder(URI.create(url
                + "/admin/models/e5-fp32/versions/" + quantized.path("version").asInt() + "/files/onnx"))
                .header("Authorization", "Bearer " + key).GET().build(), HttpResponse.BodyHandlers.ofFile(ours));
        if (download.statusCode() != 200) {
            throw new IllegalStateException("downloading the quantized model answered " + download.statusCode());
        }
        List<Candidate> candidates = List.of(
                new Candidate("e5-small-v2 fp32", "e5-fp32:1", fp32, fp32Tokenizer),
                new Candidate("e5-small-v2, int8 by Atrium (per-channel, 7-bit weights)", "e5-fp32:int8", ours,
                        fp32Tokenizer),
                new Candidate("e5-small-v2-q (published int8)", "e5-q", published, publishedTokenizer));

        int threads = 1; // on the calling thread, so that its CPU time is the model's
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        Map<String, HuggingFaceTokenizer> tokenizers = new HashMap<>();
        for (Candidate candidate : candidates) {
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            sessions.put(candidate.label(), environment.createSession(candidate.onnx().toString(), options));
            tokenizers.put(candidate.label(), HuggingFaceTokenizer.newInstance(
                    Files.newInputStream(candidate.tokenizer()), Map.of("padding", "false", "truncation", "false")));
        }
        // accuracy: each sentence alone, against the fp32 vectors
        Map<String, double[]> cosines = new LinkedHashMap<>();
        List<float[]> reference = null;
        for (Candidate candidate : candidates) {
            List<float[]> vectors = new ArrayList<>();
            for (String sentence : SENTENCES) {
                vectors.add(embed(environment, sessions.get(candidate.label()), tokenizers.get(candidate.label()),
                        List.of(sentence)).getFirst());
            }
            if (reference == null) {
                reference = vectors;
            }
            double[] values = new double[SENTENCES.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = cosine(reference.get(i), vectors.get(i));
            }
            cosines.put(candidate.label(), values);
        }
        // speed in process, one sentence and eight sentences a call, in rounds taken in turn
        Map<String, long[]> single = new LinkedHashMap<>();
        Map<String, long[]> eight = new LinkedHashMap<>();
        for (Candidate candidate : candidates) {
            run(environment, sessions.get(candidate.label()), tokenizers.get(candidate.label()), 1, 2_000);
            single.put(candidate.label(), new long[3]);
            eight.put(candidate.label(), new long[3]);
        }
        long roundMillis = seconds * 1000L / ROUNDS;
        for (int round = 0; round < ROUNDS; round++) {
            for (Candidate candidate : candidates) {
                add(single.get(candidate.label()), run(environment, sessions.get(candidate.label()),
                        tokenizers.get(candidate.label()), 1, roundMillis));
                add(eight.get(candidate.label()), run(environment, sessions.get(candidate.label()),
                        tokenizers.get(candidate.label()), 8, roundMillis));
            }
        }
        sessions.values().forEach(session -> {
            try {
                session.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // through the server
        Map<String, Double> served = new LinkedHashMap<>();
        for (Candidate candidate : candidates) {
            serve(url, key, candidate.reference(), 2_000);
            served.put(candidate.label(), 0.0);
        }
        for (int round = 0; round < ROUNDS; round++) {
            for (Candidate candidate : candidates) {
                served.merge(candidate.label(), serve(url, key, candidate.reference(), roundMillis) / ROUNDS,
                        Double::sum);
            }
        }

        System.out.printf("%n%d sentences (about 16 tokens each, 'query: ' before each), %d intra-op thread in"
                + " process; %d s per model and measurement in %d rounds%n%n", SENTENCES.size(), threads, seconds,
                ROUNDS);
        System.out.println("| model | file size | in process, 1 a call: per CPU-s (per wall-s) | in process, 8 a call:"
                + " per CPU-s (per wall-s) | server, /v1/embeddings, 4 clients, per wall-s | cosine to fp32, mean"
                + " | min |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Candidate candidate : candidates) {
            double[] values = cosines.get(candidate.label());
            double mean = java.util.Arrays.stream(values).average().orElse(0);
            double min = java.util.Arrays.stream(values).min().orElse(0);
            System.out.printf("| %s | %.1f MB | %.1f (%.1f) | %.1f (%.1f) | %.1f | %.5f | %.5f |%n",
                    candidate.label(), Files.size(candidate.onnx()) / 1e6, rate(single.get(candidate.label()), 2),
                    rate(single.get(candidate.label()), 1), rate(eight.get(candidate.label()), 2),
                    rate(eight.get(candidate.label()), 1), served.get(candidate.label()), mean, min);
        }
    }

    private static void add(long[] total, long[] more) {
        for (int i = 0; i < total.length; i++) {
            total[i] += more[i];
        }
    }

    /** Sentences per second of CPU (index 2) or of wall time (index 1). */
    private static double rate(long[] measured, int per) {
        return measured[0] * 1e9 / measured[per];
    }

    /**
     * Embeds sentences in calls of {@code batch} for about {@code millis}; answers {sentences, wall nanos, CPU nanos
     * of this thread}.
     */
    private static long[] run(OrtEnvironment environment, OrtSession session, HuggingFaceTokenizer tokenizer,
            int batch, long millis) throws Exception {
        var threadBean = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuStart = threadBean.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long end = start + millis * 1_000_000;
        long sentences = 0;
        int next = 0;
        while (System.nanoTime() < end) {
            List<String> texts = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) {
                texts.add(SENTENCES.get(next++ % SENTENCES.size()));
            }
            embed(environment, session, tokenizer, texts);
            sentences += batch;
        }
        return new long[] {sentences, System.nanoTime() - start, threadBean.getCurrentThreadCpuTime() - cpuStart};
    }

    /** The full path: tokenize ("query: " first), pad, run, mean-pool over the mask, normalize. */
    private static List<float[]> embed(OrtEnvironment environment, OrtSession session,
            HuggingFaceTokenizer tokenizer, List<String> texts) throws Exception {
        List<Encoding> encodings = new ArrayList<>();
        int length = 0;
        for (String text : texts) {
            Encoding encoding = tokenizer.encode("query: " + text);
            encodings.add(encoding);
            length = Math.max(length, encoding.getIds().length);
        }
        int rows = texts.size();
        long[] ids = new long[rows * length];
        long[] mask = new long[rows * length];
        long[] types = new long[rows * length];
        for (int row = 0; row < rows; row++) {
            long[] rowIds = encodings.get(row).getIds();
            System.arraycopy(rowIds, 0, ids, row * length, rowIds.length);
            java.util.Arrays.fill(mask, row * length, row * length + rowIds.length, 1);
        }
        long[] shape = {rows, length};
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            inputs.put("attention_mask", OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (session.getInputNames().contains("token_type_ids")) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(types), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                FloatBuffer hidden = ((OnnxTensor) result.get(0)).getFloatBuffer();
                int width = hidden.remaining() / (rows * length);
                List<float[]> vectors = new ArrayList<>(rows);
                for (int row = 0; row < rows; row++) {
                    float[] vector = new float[width];
                    int tokens = encodings.get(row).getIds().length;
                    for (int token = 0; token < tokens; token++) {
                        for (int i = 0; i < width; i++) {
                            vector[i] += hidden.get((row * length + token) * width + i);
                        }
                    }
                    double norm = 0;
                    for (float value : vector) {
                        norm += value * value;
                    }
                    float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
                    for (int i = 0; i < width; i++) {
                        vector[i] *= scale;
                    }
                    vectors.add(vector);
                }
                return vectors;
            }
        } finally {
            for (OnnxTensor tensor : inputs.values()) {
                tensor.close();
            }
        }
    }

    /** A closed loop of {@link #CLIENTS} clients, one sentence a request, for about {@code millis}: sentences/s. */
    private static double serve(String url, String key, String model, long millis) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000;
        AtomicLong done = new AtomicLong();
        AtomicBoolean failed = new AtomicBoolean();
        long start = System.nanoTime();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int offset = c;
            clients.add(Thread.ofVirtual().start(() -> {
                int next = offset;
                while (System.nanoTime() < end && !failed.get()) {
                    String body = "{\"model\": \"" + model + "\", \"input\": " + JSON.writeValueAsString(
                            SENTENCES.get(next++ % SENTENCES.size())) + "}";
                    try {
                        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url
                                + "/v1/embeddings")).header("Authorization", "Bearer " + key)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() != 200) {
                            System.err.println(model + ": " + response.statusCode() + " " + response.body());
                            failed.set(true);
                        }
                        done.incrementAndGet();
                    } catch (Exception e) {
                        failed.set(true);
                    }
                }
            }));
        }
        for (Thread client : clients) {
            client.join();
        }
        if (failed.get()) {
            throw new IllegalStateException("requests to " + model + " failed");
        }
        return done.get() * 1e9 / (System.nanoTime() - start);
    }

    private static void upload(String url, String key, String name, Path onnx, Path tokenizer) throws Exception {
        send(key, HttpRequest.newBuilder(URI.create(url + "/admin/models")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"" + name + "\", \"task\": \"embedding\"}")));
        String boundary = "atrium-bench";
        List<byte[]> parts = new ArrayList<>();
        parts.add(part(boundary, "onnx", "model.onnx"));
        parts.add(Files.readAllBytes(onnx));
        parts.add(part(boundary, "tokenizer", "tokenizer.json"));
        parts.add(Files.readAllBytes(tokenizer));
        parts.add(("\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n" + CONFIG
                + "\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        send(key, HttpRequest.newBuilder(URI.create(url + "/admin/models/" + name + "/versions"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArrays(parts)));
    }

    private static byte[] part(String boundary, String name, String filename) {
        String opening = name.equals("onnx") ? "--" : "\r\n--";
        return (opening + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode send(String key, HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = HTTP.send(request.header("Authorization", "Bearer " + key).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() >= 300) {
            throw new IllegalStateException(response.statusCode() + " " + response.body());
        }
        return JSON.readTree(response.body());
    }

    private static Path extract(String resource, Path directory) throws Exception {
        Path file = directory.resolve(resource.substring(1));
        try (InputStream in = QuantizeBench.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource + " is not on the classpath");
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double normA = 0;
        double normB = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            normA += (double) a[i] * a[i];
            normB += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(normA * normB);
    }
}
