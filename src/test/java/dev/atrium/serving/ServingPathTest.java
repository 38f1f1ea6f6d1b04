package dev.atrium.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.atrium.engine.Engine;
import dev.atrium.engine.EngineKind;
import dev.atrium.server.Json;
import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.FakeUpstream;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.JsonNode;

/**
 * The serving layer's rule, over every path it has: each entry point ({@link Endpoint}) on each engine that can
 * serve it, enumerated from the code, so that a path added later fails here until it has a driver. For every way
 * a call can end (an answer, the client leaving before or after the first byte, an engine's failure, an upstream
 * failing before or after its first chunk, an upstream reporting absurd usage, the call's deadline), a call that
 * reached its model has
 * exactly one usage record, its charge never exceeds what it reserved (no overrun is counted) and its reservation
 * is given back. And bursts of 64 threads against a budget never spend past it, whatever the model is priced by.
 */
class ServingPathTest {
    private static final String EMBEDDER = "all-minilm-l6-v2";
    private static final Path CHAT_MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");
    private static final Path COMPLETION_MODEL = Path.of("../shared/models/random-15M-q8_0.gguf");

    private static final int DEADLINE_MILLIS = 1000;
    private static TestServer server;
    private static FakeUpstream upstream;
    private static Http admin;
    private static Http member;
    private static String memberKey;
    private static String tenant;
    private static Tenants tenants;
    private static boolean llama;

    /** How a call ends. */
    enum Case { OK, CLIENT_GONE_BEFORE_FIRST_BYTE, CLIENT_GONE_AFTER_FIRST_BYTE, ENGINE_FAILURE,
        UPSTREAM_FAILURE_BEFORE_FIRST_CHUNK, UPSTREAM_FAILURE_AFTER_FIRST_CHUNK, ABSURD_UPSTREAM_USAGE, DEADLINE }

    /** What one path's call for one case sends, and what the test expects of it. */
    record Call(String path, Map<String, Object> body, boolean stream, FakeUpstream.Behaviour upstream,
            Set<String> outcomes, int status, Runnable afterFirstEvent, byte[] form) {
        Call(String path, Map<String, Object> body, boolean stream, FakeUpstream.Behaviour upstream,
                Set<String> outcomes, int status, Runnable afterFirstEvent) {
            this(path, body, stream, upstream, outcomes, status, afterFirstEvent, null);
        }

        Call(String path, Map<String, Object> body, boolean stream, FakeUpstream.Behaviour upstream,
                Set<String> outcomes, int status) {
            this(path, body, stream, upstream, outcomes, status, null);
        }

        /** A call whose body is a multipart form (audio uploads), not JSON. */
        static Call form(String path, byte[] form, Set<String> outcomes, int status) {
            return new Call(path, Map.of(), false, null, outcomes, status, null, form);
        }

        byte[] bytes() {
            return form != null ? form : Json.MAPPER.writeValueAsBytes(body);
        }

        String contentType() {
            return form != null ? "multipart/form-data; boundary=" + Http.BOUNDARY : "application/json";
        }
    }

    /** How to make a path's calls end each way; empty where a path cannot end that way, with the reason. */
    interface Driver {
        Optional<Call> call(Case c);

        String whyNot(Case c);
    }

    @BeforeAll
    static void start() throws IOException {
        // a short call deadline, so that calls can run into it
        server = TestServer.start(Map.of("preload", "none", "default-rpm", "100000", "default-tpm", "100000000",
                "call-deadline", DEADLINE_MILLIS + "ms"));
        admin = server.http();
        upstream = new FakeUpstream();
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                .isEqualTo(201);
        remote("remote-chat", "chat");
        remote("remote-embedder", "embedding");
        // a tensor model that fails when run on a shape its data does not fit: validation cannot see it coming
        Path reshaper = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, 4)
                .input("shape", OnnxModelWriter.ElementType.INT64, 2)
                .output("y", OnnxModelWriter.ElementType.FLOAT, -1, -1)
                .node("Reshape", List.of("x", "shape"), List.of("y"))
                .write(TempDirectories.create("atrium-serving-").resolve("reshape.onnx"));
        assertThat(admin.postJson("/admin/models", Map.of("name", "reshaper", "task", "tensor", "engine", "onnx"))
                .status()).isEqualTo(201);
        assertThat(admin.upload("/admin/models/reshaper/versions", Map.of("onnx", reshaper)).status()).isEqualTo(201);
        taskModels();
        llama = Files.isRegularFile(CHAT_MODEL) && Files.isRegularFile(COMPLETION_MODEL)
                && dev.atrium.engine.llama.LlamaNatives.defaults().present();
        if (llama) {
            gguf("dreams", "chat", CHAT_MODEL, "{\"slots\": 2, \"context_per_slot\": 128}");
            gguf("long", "completion", COMPLETION_MODEL, "{\"slots\": 1, \"context_per_slot\": 512}");
        } else {
            System.out.println("ServingPathTest: the llama paths are skipped: they need the GGUF models in "
                    + CHAT_MODEL.toAbsolutePath().normalize().getParent() + " (the shared models beside the project)"
                    + " and the llama.cpp libraries (scripts/llama-natives.sh)");
        }
        tenants = new Tenants(admin);
        tenant = tenants.tenant("serving-paths");
        memberKey = tenants.key(tenant, "member").secret();
        member = admin.withKey(memberKey);
        for (String model : List.of(EMBEDDER, "remote-chat", "remote-embedder", "reshaper", "dreams", "long", "photos",
                "speech", "rows")) {
            // every meter priced, so that every part of a charge is checked against its reservation
            Map<String, Object> price = new LinkedHashMap<>(Map.of("model", model, "tenant", tenant,
                    "input_per_1m", "1", "output_per_1m", "2", "per_request", "0.001", "per_compute_second", "0.01",
                    "currency", "USD"));
            price.putAll(Map.of("per_audio_second", "0.0001", "per_image", "0.002", "per_row", "0.00001"));
            Http.Reply priced = admin.postJson("/admin/prices", price);
            assertThat(priced.status()).as(priced.toString()).isEqualTo(201);
        }
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "1000",
                "currency", "USD")).status()).isEqualTo(200);
    }

    private static final Path IMAGE_MODEL = Path.of("../shared/models/mobilenetv3-small-3class.onnx");
    private static final Path PHOTO = Path.of("../shared/models/images/meal_1.jpg");
    private static final Path WHISPER = Path.of("../shared/models/whisper-tiny-en-int8.onnx");
    private static final Path VAD = Path.of("../shared/models/silero-vad-v5.onnx");
    private static final Path CLIP_DIRECTORY = Path.of("/usr/share/pocketsphinx/test/data/librivox");
    private static boolean images;
    private static boolean speech;
    private static byte[] clip;
    private static byte[] longRecording;

    /** An image classifier, a transcription model and a tabular model the test writes, where their files are here. */
    private static void taskModels() throws IOException {
        images = Files.isRegularFile(IMAGE_MODEL) && Files.isRegularFile(PHOTO);
        if (images) {
            assertThat(admin.postJson("/admin/models", Map.of("name", "photos", "task", "image-classification"))
                    .status()).isEqualTo(201);
            assertThat(admin.upload("/admin/models/photos/versions", Map.of("onnx", IMAGE_MODEL)).status())
                    .isEqualTo(201);
        } else {
            System.out.println("ServingPathTest: the image classification path is skipped: it needs " + IMAGE_MODEL);
        }
        Path clips = CLIP_DIRECTORY.resolve("sense_and_sensibility_01_austen_64kb-0870.wav");
        speech = Files.isRegularFile(WHISPER) && Files.isRegularFile(VAD) && Files.isRegularFile(clips);
        if (speech) {
            assertThat(admin.postJson("/admin/models", Map.of("name", "speech", "task", "transcription")).status())
                    .isEqualTo(201);
            Map<String, Path> parts = new LinkedHashMap<>();
            parts.put("onnx", WHISPER);
            parts.put("vad", VAD);
            assertThat(admin.upload("/admin/models/speech/versions", parts).status()).isEqualTo(201);
            clip = Files.readAllBytes(clips);
            // about three minutes: the clip again and again, far more windows than one deadline has time for
            java.io.ByteArrayOutputStream samples = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 24; i++) {
                samples.write(clip, 44, clip.length - 44);
                samples.write(new byte[16_000], 0, 16_000);
            }
            longRecording = wav(samples.toByteArray());
        } else {
            System.out.println("ServingPathTest: the transcription path is skipped: it needs " + WHISPER + ", " + VAD
                    + " and Debian's pocketsphinx-testdata (" + clips + ")");
        }
        Path linear = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .initializer("w", new float[] {0.5f, -2f}, 2, 1)
                .node("MatMul", List.of("x", "w"), List.of("variable"))
                .output("variable", OnnxModelWriter.ElementType.FLOAT, -1, 1)
                .write(TempDirectories.create("atrium-serving-").resolve("linear.onnx"));
        assertThat(admin.postJson("/admin/models", Map.of("name", "rows", "task", "tabular")).status()).isEqualTo(201);
        Http.Reply tabular = admin.post("/admin/models/rows/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", Files.readAllBytes(linear), "config", ("{\"features\": [{\"name\": \"a\","
                        + " \"type\": \"numeric\"}, {\"name\": \"b\", \"type\": \"numeric\"}], \"task\":"
                        + " \"regression\"}").getBytes(StandardCharsets.UTF_8))));
        assertThat(tabular.status()).as(tabular.toString()).isEqualTo(201);
    }

    /** 16 kHz 16-bit mono PCM as a WAV file. */
    private static byte[] wav(byte[] pcm) {
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(44).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        header.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + pcm.length)
                .put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(16_000).putInt(32_000).putShort((short) 2).putShort((short) 16)
                .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(pcm.length);
        byte[] file = new byte[44 + pcm.length];
        System.arraycopy(header.array(), 0, file, 0, 44);
        System.arraycopy(pcm, 0, file, 44, pcm.length);
        return file;
    }

    /** A transcription form: the model (and the stream flag) and the audio as its file. */
    private static byte[] audioForm(byte[] audio) {
        return audioForm(audio, false);
    }

    private static byte[] audioForm(byte[] audio, boolean stream) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("model", "speech");
        if (stream) {
            fields.put("stream", "true");
        }
        return Http.form(fields, List.of(audio));
    }

    private static void remote(String name, String task) {
        assertThat(admin.postJson("/admin/models", Map.of("name", name, "task", task, "engine", "remote")).status())
                .isEqualTo(201);
        Map<String, Object> version = new LinkedHashMap<>();
        version.put("base_url", upstream.baseUrl());
        version.put("upstream_model", name + "-up");
        version.put("api_key", "sk-" + UUID.randomUUID());
        version.put("timeout_ms", 5000);
        version.put("retry", Map.of("max_attempts", 1, "initial_backoff_ms", 10, "max_backoff_ms", 100));
        version.put("max_output_tokens", 64);
        Http.Reply reply = admin.postJson("/admin/models/" + name + "/versions", version);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    }

    private static void gguf(String name, String task, Path file, String config) throws IOException {
        assertThat(admin.postJson("/admin/models", Map.of("name", name, "task", task, "engine", "llama")).status())
                .isEqualTo(201);
        Http.Reply upload = admin.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("gguf", Files.readAllBytes(file), "config",
                config.getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    // ---- every path, every way it can end -----------------------------------------------------------------------

    @TestFactory
    Stream<DynamicTest> everyPath_everyOutcome_exactlyOneRecord_chargeWithinReservation_reservationReleased() {
        List<DynamicTest> tests = new ArrayList<>();
        for (EngineKind kind : EngineKind.values()) {
            Engine engine = server.atrium().registry().engine(kind).orElseThrow();
            for (Endpoint endpoint : Endpoint.values()) {
                if (!endpoint.servedBy(engine)) {
                    continue;
                }
                String path = endpoint + " on " + kind.wireName();
                Driver driver = driver(endpoint, kind);
                if (driver == null) {
                    tests.add(DynamicTest.dynamicTest(path, () -> fail("no driver for the serving path " + path
                            + ": add one here so that its calls are checked like every other's")));
                    continue;
                }
                for (Case c : Case.values()) {
                    tests.add(DynamicTest.dynamicTest(path + ": " + c, () -> {
                        Optional<Call> call = driver.call(c);
                        if (call.isEmpty()) {
                            System.out.println("ServingPathTest: " + path + " cannot end as " + c + ": "
                                    + driver.whyNot(c));
                            return;
                        }
                        check(path + ": " + c, c, call.get());
                    }));
                }
            }
        }
        tests.add(DynamicTest.dynamicTest("no charge exceeded its reservation", () ->
                assertThat(server.http().get("/metrics").text()).doesNotContain("atrium_budget_overruns_total{")));
        return tests.stream();
    }

    private static void check(String name, Case c, Call call) throws Exception {
        upstream.reset();
        if (call.upstream() != null) {
            upstream.then(call.upstream());
        }
        String id = "serving-" + UUID.randomUUID();
        switch (c) {
            case CLIENT_GONE_BEFORE_FIRST_BYTE -> rawCall(call, id, false);
            case CLIENT_GONE_AFTER_FIRST_BYTE -> rawCall(call, id, true);
            default -> {
              if (call.afterFirstEvent() != null) {
                // a stream that something happens to once it has begun (its model unloaded under it, say)
                var request = member.request(call.path()).header("X-Request-Id", id)
                        .header("Content-Type", "application/json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                                Json.MAPPER.writeValueAsBytes(call.body()))).build();
                var response = java.net.http.HttpClient.newHttpClient().send(request,
                        java.net.http.HttpResponse.BodyHandlers.ofLines());
                assertThat(response.statusCode()).as(name).isEqualTo(call.status());
                StringBuilder text = new StringBuilder();
                boolean happened = false;
                for (java.util.Iterator<String> lines = response.body().iterator(); lines.hasNext(); ) {
                    String line = lines.next();
                    text.append(line).append('\n');
                    if (!happened && line.startsWith("data: ")) {
                        call.afterFirstEvent().run();
                        happened = true;
                    }
                }
                assertThat(happened).as(name + ": the stream's first event").isTrue();
                assertThat(text.toString()).as(name + ": an error event").contains("\"error\"");
              } else {
                Http.Reply reply = member.send(member.request(call.path()).header("X-Request-Id", id)
                        .header("Content-Type", call.contentType())
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(call.bytes())).build());
                assertThat(reply.status()).as(name + ": " + reply).isEqualTo(call.status());
                if (call.stream() && call.status() == 200) {
                    assertThat(reply.text()).as(name).endsWith("data: [DONE]\n\n");
                    if (!call.outcomes().contains("ok")) {
                        assertThat(reply.text()).as(name + ": an error event").contains("\"error\"");
                    }
                }
              }
            }
        }
        awaitIdle();
        JsonNode records = admin.get("/admin/usage/records?request_id=" + id).json().path("data");
        assertThat(records.size()).as(name + ": records of the call").isEqualTo(1);
        JsonNode record = records.get(0);
        assertThat(record.path("outcome").asString()).as(name + ": " + record).isIn(call.outcomes());
        assertThat(new BigDecimal(record.path("charge").asString())).as(name).isNotNegative();
        JsonNode standing = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(new BigDecimal(standing.path("reserved").asString())).as(name + ": reserved after the call")
                .isEqualByComparingTo("0");
    }

    /** Sends the call on a raw socket and resets it: at once, or once the first event of the answer has come. */
    private static void rawCall(Call call, String id, boolean afterFirstByte) throws IOException {
        byte[] body = call.bytes();
        try (Socket socket = new Socket("127.0.0.1", server.atrium().port())) {
            socket.getOutputStream().write(("POST " + call.path() + " HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + memberKey + "\r\nX-Request-Id: " + id + "\r\n"
                    + "Content-Type: " + call.contentType() + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
            if (!afterFirstByte) {
                // leave once the call is in the server, before any answer could be read
                // (no request of the test's own in between, which would count as in flight too); a call that ends
                // before it is seen is answered into the void, which is as good
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (server.atrium().requestsInFlight() == 0 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                if (body.length > 64 * 1024) {
                    // a large body is in flight while it is still read: a client leaving then is refused before the
                    // model (no record); leave once the audio or images are on the model instead
                    sleepQuietly(300);
                }
            } else {
                InputStream in = socket.getInputStream();
                StringBuilder received = new StringBuilder();
                while (!received.toString().contains("data: ")) {
                    int b = in.read();
                    assertThat(b).as("the stream's first event").isNotNegative();
                    received.append((char) b);
                }
            }
            socket.setSoLinger(true, 0);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until no request is in flight and no upstream exchange open. */
    private static void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((server.atrium().requestsInFlight() > 0 || server.atrium().remoteEngine().openExchanges() > 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(server.atrium().requestsInFlight()).as("requests in flight").isZero();
    }

    // ---- drivers: how each path's calls are made to end each way ------------------------------------------------

    private static Driver driver(Endpoint endpoint, EngineKind kind) {
        return switch (kind) {
            case ONNX -> switch (endpoint) {
                case EMBEDDINGS -> local(c -> c == Case.OK || c == Case.CLIENT_GONE_BEFORE_FIRST_BYTE
                        ? new Call("/v1/embeddings", Map.of("model", EMBEDDER, "input", List.of("a sentence", "two")),
                                false, null, outcomes(c), 200) : null,
                        c -> switch (c) {
                            case ENGINE_FAILURE -> "the bundled embedding model cannot be made to fail";
                            case DEADLINE -> "a sentence embeds in milliseconds, far inside any deadline";
                            default -> "an embedding answer is not streamed";
                        });
                case INFER -> local(c -> switch (c) {
                    case OK, CLIENT_GONE_BEFORE_FIRST_BYTE -> new Call("/v2/models/reshaper/infer", infer(2, 2), false,
                            null, outcomes(c), 200);
                    case ENGINE_FAILURE -> new Call("/v2/models/reshaper/infer", infer(3, 3), false, null,
                            Set.of("error"), 400);
                    default -> null;
                }, c -> c == Case.DEADLINE ? "the test model runs in microseconds, far inside any deadline"
                        : "a tensor answer is not streamed");
                case CLASSIFICATIONS -> images ? local(c -> c == Case.OK || c == Case.CLIENT_GONE_BEFORE_FIRST_BYTE
                        ? new Call("/v1/classifications", Map.of("model", "photos", "input", List.of(photo(), photo())),
                                false, null, outcomes(c), 200) : null,
                        c -> switch (c) {
                            case ENGINE_FAILURE -> "a decodable image always runs on the classifier (undecodable ones"
                                    + " are refused before it, with no record)";
                            case DEADLINE -> "two images classify in milliseconds, far inside any deadline";
                            default -> "a classification answer is not streamed";
                        }) : unavailable("needs " + IMAGE_MODEL);
                case TRANSCRIPTIONS -> speech ? local(c -> switch (c) {
                    case OK, CLIENT_GONE_BEFORE_FIRST_BYTE -> Call.form("/v1/audio/transcriptions", audioForm(clip),
                            outcomes(c), 200);
                    // a streamed transcription: its first event comes once the windows are planned, before any runs
                    case CLIENT_GONE_AFTER_FIRST_BYTE -> Call.form("/v1/audio/transcriptions", audioForm(clip, true),
                            Set.of("client_cancelled", "ok"), 200);
                    // three minutes of windows cannot all start within the deadline: those left are cut
                    case DEADLINE -> Call.form("/v1/audio/transcriptions", audioForm(longRecording),
                            Set.of("deadline"), 504);
                    default -> null;
                }, c -> c == Case.ENGINE_FAILURE ? "decodable audio always runs on the model (undecodable audio is"
                        + " refused before it, with no record)" : "a local model has no upstream")
                        : unavailable("needs " + WHISPER + ", " + VAD + " and pocketsphinx-testdata");
                case PREDICTIONS -> local(c -> c == Case.OK || c == Case.CLIENT_GONE_BEFORE_FIRST_BYTE
                        ? new Call("/v1/predictions", Map.of("model", "rows", "dataframe_split", Map.of(
                                "columns", List.of("a", "b"), "data", List.of(List.of(1, 2), List.of(3, 4)))),
                                false, null, outcomes(c), 200) : null,
                        c -> switch (c) {
                            case ENGINE_FAILURE -> "rows that fit the schema always run on the model (others are"
                                    + " refused before it, with no record)";
                            case DEADLINE -> "two rows predict in microseconds, far inside any deadline";
                            default -> "a prediction answer is not streamed";
                        });
                default -> null;
            };
            case LLAMA -> {
                if (!llama) {
                    yield unavailable("needs the GGUF models in shared/models");
                }
                yield switch (endpoint) {
                    case CHAT_COMPLETIONS -> generation("/v1/chat/completions", "dreams", true, 40);
                    case COMPLETIONS -> generation("/v1/completions", "long", false, 500);
                    default -> null;
                };
            }
            case REMOTE -> switch (endpoint) {
                case EMBEDDINGS -> remoteEmbeddings();
                case CLASSIFICATIONS -> remoteZeroShot();
                case CHAT_COMPLETIONS -> remoteGeneration("/v1/chat/completions", true);
                case COMPLETIONS -> remoteGeneration("/v1/completions", false);
                default -> null;
            };
        };
    }

    private static Set<String> outcomes(Case c) {
        return c == Case.OK ? Set.of("ok") : Set.of("ok", "client_cancelled");
    }

    private static Map<String, Object> infer(long rows, long columns) {
        return Map.of("inputs", List.of(
                Map.of("name", "x", "shape", List.of(4), "datatype", "FP32", "data", List.of(1, 2, 3, 4)),
                Map.of("name", "shape", "shape", List.of(2), "datatype", "INT64", "data", List.of(rows, columns))));
    }

    private static final Set<Case> UPSTREAM_CASES = EnumSet.of(Case.UPSTREAM_FAILURE_BEFORE_FIRST_CHUNK,
            Case.UPSTREAM_FAILURE_AFTER_FIRST_CHUNK, Case.ABSURD_UPSTREAM_USAGE);

    private static Driver local(java.util.function.Function<Case, Call> calls, String otherwise) {
        return local(calls, c -> otherwise);
    }

    private static Driver local(java.util.function.Function<Case, Call> calls,
            java.util.function.Function<Case, String> otherwise) {
        return new Driver() {
            @Override
            public Optional<Call> call(Case c) {
                return Optional.ofNullable(calls.apply(c));
            }

            @Override
            public String whyNot(Case c) {
                return UPSTREAM_CASES.contains(c) ? "a local model has no upstream" : otherwise.apply(c);
            }
        };
    }

    private static Driver unavailable(String why) {
        return new Driver() {
            @Override
            public Optional<Call> call(Case c) {
                return Optional.empty();
            }

            @Override
            public String whyNot(Case c) {
                return why;
            }
        };
    }

    private static Driver generation(String path, String model, boolean chat, int maxTokens) {
        return local(c -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("model", model);
            if (chat) {
                body.put("messages", List.of(Map.of("role", "user", "content", "Tell me a dream.")));
            } else {
                body.put("prompt", "Once upon a time");
            }
            body.put("max_tokens", c == Case.OK ? 16 : maxTokens);
            body.put("temperature", 0);
            return switch (c) {
                case OK -> new Call(path, body, false, null, Set.of("ok"), 200);
                // the model's one slot is taken by another long completion first: this one cannot be done within the
                // deadline however fast the machine is
                case DEADLINE -> chat ? null : occupied(model, body, new Call(path, body, false, null,
                        Set.of("deadline"), 504));
                case CLIENT_GONE_BEFORE_FIRST_BYTE -> new Call(path, streamed(body), true, null,
                        Set.of("ok", "client_cancelled"), 200);
                // the tiny chat model can write its whole 40-token answer (7 ms measured) before the reset reaches
                // the server: then it was answered, and recorded so; the completion model's 500 tokens cannot
                case CLIENT_GONE_AFTER_FIRST_BYTE -> new Call(path, streamed(body), true, null,
                        chat ? Set.of("client_cancelled", "ok") : Set.of("client_cancelled"), 200);
                // the model is unloaded under the running stream: the engine cuts it with a failure (the chat model
                // writes its whole 128-token context in milliseconds, sooner than an unload reaches it)
                case ENGINE_FAILURE -> chat ? null : new Call(path, streamed(body), true, null, Set.of("error"), 200, () -> {
                    Http.Reply unloaded = admin.post("/admin/models/" + model + "/versions/1/unload",
                            "application/json", new byte[0]);
                    assertThat(unloaded.status()).as(unloaded.toString()).isEqualTo(200);
                });
                default -> null;
            };
        }, c -> c == Case.DEADLINE ? "the chat model's 128-token context is generated well inside the deadline"
                : "the chat model's 128-token context is generated sooner than an unload can cut it");
    }

    /** Starts another long completion on the model, waits until it is running, and hands back the call. */
    private static Call occupied(String model, Map<String, Object> body, Call call) {
        Thread.ofVirtual().start(() -> admin.postJson("/v1/completions", body));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.atrium().requestsInFlight() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        sleepQuietly(100);
        return call;
    }

    private static Map<String, Object> streamed(Map<String, Object> body) {
        Map<String, Object> stream = new LinkedHashMap<>(body);
        stream.put("stream", true);
        stream.put("stream_options", Map.of("include_usage", true));
        return stream;
    }

    private static Driver remoteEmbeddings() {
        Map<String, Object> body = Map.of("model", "remote-embedder", "input", List.of("one", "two"));
        return new Driver() {
            @Override
            public Optional<Call> call(Case c) {
                return Optional.ofNullable(switch (c) {
                    case OK -> new Call("/v1/embeddings", body, false,
                            exchange -> exchange.json(200, embeddings(3)), outcomes(c), 200);
                    case CLIENT_GONE_BEFORE_FIRST_BYTE -> new Call("/v1/embeddings", body, false, exchange -> {
                        Thread.sleep(300);
                        exchange.json(200, embeddings(3));
                    }, outcomes(c), 200);
                    case UPSTREAM_FAILURE_BEFORE_FIRST_CHUNK -> new Call("/v1/embeddings", body, false,
                            exchange -> exchange.json(500, "{\"error\":{\"message\":\"down\"}}"),
                            Set.of("upstream_error"), 502);
                    case ABSURD_UPSTREAM_USAGE -> new Call("/v1/embeddings", body, false,
                            exchange -> exchange.json(200, embeddings(9_223_372_036_854_775_807L)),
                            Set.of("upstream_error"), 502);
                    case DEADLINE -> new Call("/v1/embeddings", body, false, exchange -> {
                        Thread.sleep(DEADLINE_MILLIS * 2L);
                        exchange.json(200, embeddings(3));
                    }, Set.of("deadline"), 504);
                    default -> null;
                });
            }

            @Override
            public String whyNot(Case c) {
                return c == Case.ENGINE_FAILURE ? "a remote model's failures are its upstream's"
                        : "an embedding answer is not streamed";
            }
        };
    }

    /** Zero-shot classification by a remote embedding model: the inputs and the labels in one upstream call. */
    private static Driver remoteZeroShot() {
        Map<String, Object> body = Map.of("model", "remote-embedder", "input", List.of("one", "two"),
                "labels", List.of("x", "y"));
        return new Driver() {
            @Override
            public Optional<Call> call(Case c) {
                return Optional.ofNullable(switch (c) {
                    case OK -> new Call("/v1/classifications", body, false,
                            exchange -> exchange.json(200, embeddings(4, 4)), outcomes(c), 200);
                    case CLIENT_GONE_BEFORE_FIRST_BYTE -> new Call("/v1/classifications", body, false, exchange -> {
                        Thread.sleep(300);
                        exchange.json(200, embeddings(4, 4));
                    }, outcomes(c), 200);
                    case UPSTREAM_FAILURE_BEFORE_FIRST_CHUNK -> new Call("/v1/classifications", body, false,
                            exchange -> exchange.json(500, "{\"error\":{\"message\":\"down\"}}"),
                            Set.of("upstream_error"), 502);
                    case ABSURD_UPSTREAM_USAGE -> new Call("/v1/classifications", body, false,
                            exchange -> exchange.json(200, embeddings(4, Long.MAX_VALUE)), Set.of("upstream_error"), 502);
                    case DEADLINE -> new Call("/v1/classifications", body, false, exchange -> {
                        Thread.sleep(DEADLINE_MILLIS * 2L);
                        exchange.json(200, embeddings(4, 4));
                    }, Set.of("deadline"), 504);
                    default -> null;
                });
            }

            @Override
            public String whyNot(Case c) {
                return c == Case.ENGINE_FAILURE ? "a remote model's failures are its upstream's"
                        : "a classification answer is not streamed";
            }
        };
    }

    /** An upstream's embeddings answer of {@code count} vectors. */
    private static String embeddings(int count, long promptTokens) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < count; i++) {
            data.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i)
                    .append(",\"embedding\":[0.").append(i + 1).append(",0.2]}");
        }
        return "{\"object\":\"list\",\"data\":[" + data + "],\"model\":\"up\",\"usage\":{\"prompt_tokens\":"
                + promptTokens + ",\"total_tokens\":" + promptTokens + "}}";
    }

    private static String photo() {
        try {
            return java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(PHOTO));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String embeddings(long promptTokens) {
        return "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,0.2]},"
                + "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.3,0.4]}],\"model\":\"up\","
                + "\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"total_tokens\":" + promptTokens + "}}";
    }

    private static Driver remoteGeneration(String path, boolean chat) {
        Map<String, Object> plain = new LinkedHashMap<>();
        plain.put("model", "remote-chat");
        if (chat) {
            plain.put("messages", List.of(Map.of("role", "user", "content", "Hello")));
        } else {
            plain.put("prompt", "Hello");
        }
        Map<String, Object> stream = streamed(plain);
        return new Driver() {
            @Override
            public Optional<Call> call(Case c) {
                return Optional.ofNullable(switch (c) {
                    case OK -> new Call(path, plain, false, exchange -> exchange.json(200, whole(chat, "7")),
                            Set.of("ok"), 200);
                    case CLIENT_GONE_BEFORE_FIRST_BYTE -> new Call(path, stream, true, exchange -> {
                        Thread.sleep(300);
                        upstreamStream(exchange, chat, 50, "3", true);
                    }, Set.of("ok", "client_cancelled"), 200);
                    case CLIENT_GONE_AFTER_FIRST_BYTE -> new Call(path, stream, true,
                            exchange -> upstreamStream(exchange, chat, 2000, "3", true), Set.of("client_cancelled"), 200);
                    case UPSTREAM_FAILURE_BEFORE_FIRST_CHUNK -> new Call(path, stream, true,
                            exchange -> exchange.json(503, "{\"error\":{\"message\":\"down\"}}"),
                            Set.of("upstream_error"), 502);
                    case UPSTREAM_FAILURE_AFTER_FIRST_CHUNK -> new Call(path, stream, true, exchange -> {
                        exchange.startStream();
                        exchange.event(piece(chat, "partial", null));
                        // the chunk reaches the client before the connection breaks
                        Thread.sleep(200);
                        exchange.resetConnection();
                    }, Set.of("upstream_error"), 200);
                    case ABSURD_UPSTREAM_USAGE -> new Call(path, plain, false,
                            exchange -> exchange.json(200, whole(chat, "100000000000000000000000000000")),
                            Set.of("upstream_error"), 502);
                    case DEADLINE -> new Call(path, stream, true, exchange -> upstreamStream(exchange, chat, 1000, "3",
                            true), Set.of("deadline"), 200);
                    case ENGINE_FAILURE -> null;
                });
            }

            @Override
            public String whyNot(Case c) {
                return "a remote model's failures are its upstream's";
            }
        };
    }

    private static String whole(boolean chat, String promptTokens) {
        String choice = chat ? "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},"
                + "\"finish_reason\":\"stop\"}" : "{\"index\":0,\"text\":\"Hi there\",\"finish_reason\":\"stop\"}";
        return "{\"id\":\"up\",\"object\":\"" + (chat ? "chat.completion" : "text_completion") + "\",\"created\":1,"
                + "\"model\":\"up\",\"choices\":[" + choice + "],\"usage\":{\"prompt_tokens\":" + promptTokens
                + ",\"completion_tokens\":2,\"total_tokens\":9}}";
    }

    private static String piece(boolean chat, String text, String finish) {
        String choice = chat ? "{\"index\":0,\"delta\":{" + (text == null ? "" : "\"content\":\"" + text + "\"") + "}"
                : "{\"index\":0,\"text\":\"" + (text == null ? "" : text) + "\"";
        return "{\"id\":\"up\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                + "\",\"created\":1,\"model\":\"up\",\"choices\":[" + choice + ",\"finish_reason\":"
                + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    /** A stream of pieces, slowly enough for a client to leave in the middle, then the usage and [DONE]. */
    private static void upstreamStream(FakeUpstream.Exchange exchange, boolean chat, int pieces, String promptTokens,
            boolean slow) throws IOException, InterruptedException {
        exchange.startStream();
        try {
            for (int i = 0; i < pieces; i++) {
                exchange.event(piece(chat, "w" + i + " ", null));
                if (slow) {
                    Thread.sleep(2);
                }
            }
            exchange.event(piece(chat, null, "length"));
            exchange.event("{\"id\":\"up\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\","
                    + "\"choices\":[],\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":"
                    + pieces + ",\"total_tokens\":1}}");
            exchange.event("[DONE]");
            exchange.endStream();
        } catch (IOException e) {
            // the server closed the stream when its client left
        }
    }

    // ---- bursts against budgets ---------------------------------------------------------------------------------

    /** One meter priced at a time. */
    enum Meter { PER_TOKEN, PER_REQUEST, PER_COMPUTE_SECOND, PER_ROW }

    @ParameterizedTest
    @EnumSource(Meter.class)
    void burstOf64Threads_againstABudget_neverSpendsPastIt(Meter meter) throws Exception {
        String burst = tenants.tenant("burst-" + meter.name().toLowerCase(java.util.Locale.ROOT));
        Http caller = admin.withKey(tenants.key(burst, "member").secret());
        String model = meter == Meter.PER_ROW ? "rows" : EMBEDDER;
        Map<String, Object> price = new LinkedHashMap<>(Map.of("model", model, "tenant", burst, "currency", "USD"));
        String limit = switch (meter) {
            case PER_TOKEN -> {
                price.put("input_per_1m", "1000");
                yield "0.05";
            }
            case PER_REQUEST -> {
                price.put("per_request", "0.01");
                yield "0.2";
            }
            case PER_COMPUTE_SECOND -> {
                // each call reserves its whole deadline: a handful fit at once, the rest are refused
                price.put("per_compute_second", "0.001");
                yield "0.3";
            }
            case PER_ROW -> {
                // three rows a call: a task model's own unit
                price.put("per_row", "0.001");
                yield "0.1";
            }
        };
        assertThat(admin.postJson("/admin/prices", price).status()).isEqualTo(201);
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", burst, "monthly_limit", limit, "currency", "USD"))
                .status()).isEqualTo(200);
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger served = new AtomicInteger();
        List<Future<Http.Reply>> replies = new ArrayList<>();
        try (ExecutorService threads = Executors.newFixedThreadPool(64)) {
            for (int i = 0; i < 256; i++) {
                int n = i;
                replies.add(threads.submit(() -> {
                    go.await();
                    Http.Reply reply = meter == Meter.PER_ROW
                            ? caller.postJson("/v1/predictions", Map.of("model", "rows", "instances",
                                    List.of(List.of(n, 1), List.of(2, n), List.of(3, 3))))
                            : caller.postJson("/v1/embeddings", Map.of("model", EMBEDDER,
                                    "input", "burst number " + n + " of the " + meter));
                    if (reply.status() == 200) {
                        served.incrementAndGet();
                    }
                    return reply;
                }));
            }
            go.countDown();
            for (Future<Http.Reply> reply : replies) {
                int status = reply.get().status();
                assertThat(status).as(reply.get().toString()).isIn(200, 429);
            }
        }
        awaitIdle();
        BigDecimal charged = BigDecimal.ZERO;
        JsonNode records = admin.get("/admin/usage/records?tenant=" + burst + "&limit=1000").json().path("data");
        for (JsonNode record : records) {
            charged = charged.add(new BigDecimal(record.path("charge").asString()));
        }
        assertThat(records.size()).isEqualTo(served.get());
        assertThat(served.get()).as("some calls fit the budget").isPositive();
        assertThat(charged).as("charged in all").isLessThanOrEqualTo(new BigDecimal(limit));
        JsonNode standing = admin.get("/admin/budgets?tenant=" + burst).json().path("budgets").get(0);
        assertThat(new BigDecimal(standing.path("spent").asString())).isEqualByComparingTo(charged);
        assertThat(new BigDecimal(standing.path("reserved").asString())).isEqualByComparingTo("0");
    }
}
