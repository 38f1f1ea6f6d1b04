package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** A real GGUF model (aidreams260K, from ../shared/models) served through /v1 chat and completions. */
class LlamaEndToEndTest {
    private static final Path MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");
    /** Random weights, but a context of 512 and slower tokens: long enough streams to leave in the middle of. */
    private static final Path LONG_MODEL = Path.of("../shared/models/random-15M-q8_0.gguf");
    private static TestServer server;
    private static Http member;
    private static String memberKey;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        // the model file lives in the workspace's shared/models beside the project (as in CI), not in git
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(MODEL)
                        && java.nio.file.Files.isRegularFile(LONG_MODEL),
                "needs " + MODEL.toAbsolutePath().normalize().getParent() + " (the shared models beside the project)");
        LlamaCppTest.openOrSkip("LlamaEndToEndTest");
        server = TestServer.start(Map.of("preload", "none"));
        Http admin = server.http();
        assertThat(admin.postJson("/admin/models", Map.of("name", "dreams", "task", "chat", "engine", "llama")).status())
                .isEqualTo(201);
        Http.Reply upload = admin.post("/admin/models/dreams/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("gguf", read(MODEL), "config",
                        "{\"slots\": 4, \"context_per_slot\": 128}".getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
        assertThat(admin.postJson("/admin/models", Map.of("name", "long", "task", "completion", "engine", "llama"))
                .status()).isEqualTo(201);
        assertThat(admin.post("/admin/models/long/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("gguf", read(LONG_MODEL), "config",
                        "{\"slots\": 2, \"context_per_slot\": 512}".getBytes(StandardCharsets.UTF_8)))).status())
                .isEqualTo(201);
        Tenants tenants = new Tenants(admin);
        memberKey = tenants.key(tenants.tenant("dreamers"), "member").secret();
        member = admin.withKey(memberKey);
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(memberKey).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            client.close();
            server.close();
        }
    }

    /**
     * GGUF files whose header reads well but whose body llama.cpp cannot load (cut short, tensor offsets pointing
     * past the end, garbage where the tensors are): each is refused with 422 by the child process that tries it,
     * and the server keeps serving.
     */
    @Test
    void hostileGgufUploads_areRefused_andTheServerKeepsServing() throws Exception {
        byte[] real = read(LONG_MODEL);
        Http admin = server.http();
        assertThat(admin.postJson("/admin/models", Map.of("name", "hostile", "task", "completion", "engine", "llama"))
                .status()).isEqualTo(201);
        java.util.List<byte[]> files = new java.util.ArrayList<>();
        files.add(java.util.Arrays.copyOf(real, real.length / 2)); // the tensors cut short
        files.add(java.util.Arrays.copyOf(real, 4096)); // little more than the header
        byte[] scrambled = real.clone(); // the tensor data region overwritten with a pattern
        for (int i = real.length / 3; i < real.length; i += 7) {
            scrambled[i] = (byte) 0xFF;
        }
        files.add(scrambled);
        byte[] shiftedOffsets = real.clone(); // the tensor-info region's bytes shifted: offsets and shapes nonsense
        for (int i = 2048; i < 65536 && i < real.length; i += 13) {
            shiftedOffsets[i] = (byte) (shiftedOffsets[i] ^ 0x5A);
        }
        files.add(shiftedOffsets);
        int refused = 0;
        for (byte[] file : files) {
            Http.Reply reply = admin.post("/admin/models/hostile/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                    Http.multipart(Map.of("gguf", file)));
            assertThat(reply.status()).as(reply.toString()).isIn(201, 422);
            if (reply.status() == 422) {
                refused++;
                assertThat(reply.text()).doesNotContain(server.dataDir().toString()).doesNotContain("0x7f");
            } else {
                // a file llama.cpp does load (scrambled weights are still weights) must also serve without a crash
                Http.Reply served = member.postJson("/v1/completions", Map.of("model", "hostile:"
                        + reply.json().path("version").asInt(), "prompt", "Once", "max_tokens", 4));
                assertThat(served.status()).as(served.toString()).isIn(200, 400, 500);
            }
            assertThat(member.postJson("/v1/completions", Map.of("model", "long", "prompt", "Once upon a time",
                    "max_tokens", 4)).status()).isEqualTo(200);
        }
        assertThat(refused).as("the cut files at least are refused").isGreaterThanOrEqualTo(2);
    }

    /** Unloading frees the llama.cpp model and context: twenty unload and reload cycles leave memory flat. */
    @Test
    void unloadAndServeAgain_twentyTimes_leavesResidentMemoryFlat() throws Exception {
        Http admin = server.http();
        Map<String, Object> completion = Map.of("model", "long", "prompt", "Once upon a time", "max_tokens", 4);
        assertThat(member.postJson("/v1/completions", completion).status()).isEqualTo(200);
        System.gc();
        long before = LlamaCppTest.residentBytes();
        for (int i = 0; i < 20; i++) {
            Http.Reply unloaded = admin.post("/admin/models/long/versions/1/unload", "application/json", new byte[0]);
            assertThat(unloaded.status()).as(unloaded.toString()).isEqualTo(200);
            assertThat(unloaded.json().path("loaded").asBoolean()).isFalse();
            assertThat(admin.get("/admin/models/long/versions/1").json().path("loaded").asBoolean()).isFalse();
            Http.Reply served = member.postJson("/v1/completions", completion);
            assertThat(served.status()).as(served.toString()).isEqualTo(200);
            assertThat(admin.get("/admin/models/long/versions/1").json().path("loaded").asBoolean()).isTrue();
        }
        System.gc();
        long grown = LlamaCppTest.residentBytes() - before;
        System.out.println("LlamaEndToEndTest: 20 unload/reload cycles of a 26 MB model grew resident memory by "
                + grown / 1024 + " KiB");
        // an instance kept per cycle (the old binding's leak) would add the model's 26 MB each time
        assertThat(grown).isLessThan(java.nio.file.Files.size(LONG_MODEL) * 2);
    }

    @Test
    void upload_readsTheGgufMetadata() {
        JsonNode version = server.http().get("/admin/models/dreams/versions/1").json();
        assertThat(version.path("artifact").path("role").asString()).isEqualTo("gguf");
        assertThat(member.get("/v1/models/dreams").json().path("context_length").asInt()).isEqualTo(128);
        assertThat(member.get("/v2/models/dreams").json().path("platform").asString()).isEqualTo("llama_cpp_gguf");
        Http.Reply notGguf = server.http().post("/admin/models/dreams/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("gguf", "not a model".getBytes(StandardCharsets.UTF_8))));
        assertThat(notGguf.status()).isEqualTo(422);
        assertThat(notGguf.json().path("error").path("message").asString()).contains("GGUF");
    }

    @Test
    void upload_whoseHeaderIsFineButWhichDoesNotLoad_isRefused() {
        byte[] whole = read(MODEL);
        // the header and metadata are intact; the tensor data is cut off
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length / 2);
        Http.Reply refused = server.http().post("/admin/models/dreams/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("gguf", cut)));
        assertThat(refused.status()).as(refused.toString()).isEqualTo(422);
        assertThat(refused.json().path("error").path("message").asString()).contains("does not load")
                .doesNotContain(server.dataDir().toString());
        assertThat(server.http().get("/admin/models/dreams").json().path("versions").toString()).isEqualTo("[1]");
    }

    @Test
    void chat_plainAndStreamed_giveTheSameText_andUsageCountsTheTokens() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("dreams")
                .addUserMessage("Tell me about your dream.")
                .maxCompletionTokens(20)
                .temperature(0.0)
                .seed(7)
                .build();
        ChatCompletion plain = client.chat().completions().create(params);
        String text = plain.choices().getFirst().message().content().orElseThrow();
        long completionTokens = plain.usage().orElseThrow().completionTokens();
        assertThat(completionTokens).isBetween(1L, 20L);
        assertThat(plain.usage().orElseThrow().totalTokens())
                .isEqualTo(plain.usage().orElseThrow().promptTokens() + completionTokens);

        StringBuilder streamed = new StringBuilder();
        int chunks = 0;
        Long streamedTokens = null;
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                if (!chunk.choices().isEmpty()) {
                    var choice = chunk.choices().getFirst();
                    choice.delta().content().filter(c -> !c.isEmpty()).ifPresent(streamed::append);
                    if (choice.delta().content().filter(c -> !c.isEmpty()).isPresent()) {
                        // counted below: one text chunk per token
                    }
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get().asString();
                    }
                }
                if (chunk.usage().isPresent()) {
                    streamedTokens = chunk.usage().get().completionTokens();
                }
                chunks++;
            }
        }
        assertThat(streamed.toString()).isEqualTo(text);
        assertThat(streamedTokens).isEqualTo(completionTokens);
        assertThat(finish).isEqualTo(plain.choices().getFirst().finishReason().asString());
        assertThat(chunks).isGreaterThan(2);
    }

    @Test
    void completions_plainAndStreamed_andTheLedgerHasThem() throws Exception {
        CompletionCreateParams params = CompletionCreateParams.builder().model("dreams").prompt("Once upon a time")
                .maxTokens(12).temperature(0.0).seed(3).build();
        Completion plain = client.completions().create(params);
        String text = plain.choices().getFirst().text();
        assertThat(text).isNotEmpty();
        StringBuilder streamed = new StringBuilder();
        try (var stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(choice -> streamed.append(choice.text())));
        }
        assertThat(streamed.toString()).isEqualTo(text);
        assertThat(plain.usage().orElseThrow().completionTokens()).isEqualTo(12);
        assertThat(plain.choices().getFirst().finishReason().asString()).isEqualTo("length");

        JsonNode records = server.http().get("/admin/usage/records?model=dreams&limit=1000").json().path("data");
        assertThat(records.size()).isGreaterThanOrEqualTo(2);
        JsonNode record = records.get(0);
        assertThat(record.path("endpoint").asString()).isEqualTo("/v1/completions");
        assertThat(record.path("output_tokens").asLong()).isEqualTo(12);
        assertThat(record.path("input_tokens").asLong()).isEqualTo(plain.usage().orElseThrow().promptTokens());
    }

    @Test
    void overLongPromptOrMaxTokens_is400NamingTheLimit() {
        Http.Reply longPrompt = member.postJson("/v1/completions", Map.of("model", "dreams", "prompt",
                "once upon a time ".repeat(100), "max_tokens", 4));
        assertThat(longPrompt.status()).isEqualTo(400);
        assertThat(longPrompt.json().path("error").path("code").asString()).isEqualTo("context_length_exceeded");
        assertThat(longPrompt.json().path("error").path("message").asString()).contains("128");
        Http.Reply tooMany = member.postJson("/v1/completions", Map.of("model", "dreams", "prompt", "hi",
                "max_tokens", 500));
        assertThat(tooMany.status()).isEqualTo(400);
        assertThat(tooMany.json().path("error").path("param").asString()).isEqualTo("max_tokens");
        assertThat(tooMany.json().path("error").path("message").asString()).contains("128");
        assertThat(member.postJson("/v1/chat/completions", Map.of("model", "dreams", "messages", List.of(),
                "max_tokens", 4)).status()).isEqualTo(400);
        assertThat(member.postJson("/v1/chat/completions", Map.of("model", "dreams", "n", 2, "messages",
                List.of(Map.of("role", "user", "content", "hi")))).status()).isEqualTo(400);
        assertThat(member.postJson("/v1/chat/completions", Map.of("model", "all-minilm-l6-v2", "messages",
                List.of(Map.of("role", "user", "content", "hi")))).status()).isEqualTo(400);
    }

    @Test
    void eightStreamsOnFourSlots_allComplete() throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Http.Reply>> streams = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                streams.add(threads.submit(() -> member.postJson("/v1/completions", Map.of("model", "dreams",
                        "prompt", "Dream number " + n, "max_tokens", 40, "stream", true))));
            }
            for (Future<Http.Reply> stream : streams) {
                Http.Reply reply = stream.get();
                assertThat(reply.status()).isEqualTo(200);
                assertThat(reply.text()).endsWith("data: [DONE]\n\n");
            }
        }
    }

    /** Sixteen streams at temperature 0 on four slots at once: each writes the text it writes alone. */
    @Test
    void sixteenStreamsAtTemperatureZero_giveTheTextEachGivesAlone() throws Exception {
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            alone.add(streamedText(member.postJson("/v1/completions", greedy(i))));
        }
        assertThat(alone).allSatisfy(text -> assertThat(text).isNotBlank());
        assertThat(new java.util.HashSet<>(alone)).as("the prompts lead to different texts").hasSizeGreaterThan(1);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Http.Reply>> streams = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int n = i;
                streams.add(threads.submit(() -> member.postJson("/v1/completions", greedy(n))));
            }
            for (int i = 0; i < 16; i++) {
                assertThat(streamedText(streams.get(i).get())).as("stream " + i).isEqualTo(alone.get(i));
            }
        }
    }

    private static Map<String, Object> greedy(int n) {
        return Map.of("model", "dreams", "prompt", "Dream number " + n, "max_tokens", 32, "temperature", 0,
                "stream", true);
    }

    /** The text of a streamed completion, its events joined. */
    private static String streamedText(Http.Reply reply) {
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (String line : reply.text().split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode choices = tools.jackson.databind.json.JsonMapper.builder().build().readTree(line.substring(6))
                        .path("choices");
                if (!choices.isEmpty()) {
                    text.append(choices.get(0).path("text").asString());
                }
            }
        }
        return text.toString();
    }

    @Test
    void clientGoingAwayMidStream_stopsTheGeneration_andItsPartialUsageIsRecorded() throws Exception {
        // a raw socket, closed with a reset right after the first event: an HTTP client library might instead
        // drain the rest of the response in the background to keep its connection
        String body = "{\"model\": \"long\", \"prompt\": \"Once\", \"max_tokens\": 500, \"stream\": true,"
                + " \"temperature\": 0}";
        long closedAt;
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.atrium().port())) {
            socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + memberKey + "\r\nX-Request-Id: goes-away\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            StringBuilder received = new StringBuilder();
            while (!received.toString().contains("data: ")) {
                int b = in.read();
                assertThat(b).isNotNegative();
                received.append((char) b);
            }
            socket.setSoLinger(true, 0);
            closedAt = System.nanoTime();
        }
        JsonNode record = null;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (record == null && System.nanoTime() < deadline) {
            JsonNode data = server.http().get("/admin/usage/records?request_id=goes-away").json().path("data");
            record = data.isEmpty() ? null : data.get(0);
            if (record == null) {
                Thread.sleep(2);
            }
        }
        long freedMillis = (System.nanoTime() - closedAt) / 1_000_000;
        System.out.println("slot freed and usage recorded " + freedMillis + " ms after the client went away");
        assertThat(record).as("a record of the abandoned stream").isNotNull();
        assertThat(record.path("outcome").asString()).isEqualTo("client_cancelled");
        assertThat(record.path("output_tokens").asLong()).isBetween(1L, 499L);
        // measured here 27-34 ms, the record query included
        assertThat(freedMillis).isLessThan(100);
        // the slots are free again: four streams still run at once
        eightStreamsOnFourSlots_allComplete();
    }

    @Test
    void queuedStreamWhoseClientLeaves_neverReachesTheModel() throws Exception {
        LlamaEngine engine = (LlamaEngine) server.atrium().registry().engine(dev.atrium.engine.EngineKind.LLAMA)
                .orElseThrow();
        // both slots of "long" busy with long streams, read slowly so that they last
        List<java.net.Socket> busy = new java.util.ArrayList<>();
        long base = engine.generationsStarted();
        try {
            for (int i = 0; i < 2; i++) {
                busy.add(rawStream("{\"model\": \"long\", \"prompt\": \"Once\", \"max_tokens\": 500,"
                        + " \"stream\": true, \"temperature\": 0}", "busy-" + i));
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (engine.generationsStarted() - base < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            long startedBefore = engine.generationsStarted();
            // a third waits for a slot; its client leaves while it waits
            try (java.net.Socket queued = rawStream("{\"model\": \"long\", \"prompt\": \"Waiting\","
                    + " \"max_tokens\": 20, \"stream\": true}", "queued-leaves")) {
                while (engine.queueDepth() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                assertThat(engine.queueDepth()).as("the third stream waits for a slot").isEqualTo(1);
                queued.setSoLinger(true, 0);
            }
            JsonNode record = awaitRecord("queued-leaves");
            long generated = engine.generationsStarted() - startedBefore;
            System.out.println("queued stream dropped; generations started meanwhile: " + generated
                    + ", queue depth " + engine.queueDepth());
            assertThat(record.path("outcome").asString()).isEqualTo("client_cancelled");
            assertThat(record.path("output_tokens").asLong()).isZero();
            assertThat(engine.queueDepth()).as("it left the queue").isZero();
        } finally {
            for (java.net.Socket socket : busy) {
                socket.setSoLinger(true, 0);
                socket.close();
            }
        }
        // once the busy streams are gone, the slots take work again, and the dropped one never ran
        long before = engine.generationsStarted();
        Thread.sleep(500);
        assertThat(engine.generationsStarted()).as("the dropped stream never reached the model").isEqualTo(before);
        eightStreamsOnFourSlots_allComplete();
    }

    private static java.net.Socket rawStream(String body, String requestId) throws java.io.IOException {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", server.atrium().port());
        socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                + "Authorization: Bearer " + memberKey + "\r\nX-Request-Id: " + requestId + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return socket;
    }

    private static JsonNode awaitRecord(String requestId) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode data = server.http().get("/admin/usage/records?request_id=" + requestId).json().path("data");
            if (!data.isEmpty()) {
                return data.get(0);
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no record of " + requestId);
    }

    private static byte[] read(Path file) {
        try {
            return java.nio.file.Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
