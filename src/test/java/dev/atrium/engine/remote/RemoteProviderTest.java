package dev.atrium.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.atrium.testing.FakeUpstream;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Remote models against hand-written local upstreams: answers plain and streamed, retries, Retry-After,
 * timeouts, malformed chunks, resets and fallbacks. After every case, nothing is left open: no exchange, no
 * reader thread, no request in flight, no connection beyond the one idle connection the client pool may keep.
 */
class RemoteProviderTest {
    static final String SECRET = "sk-upstream-" + UUID.randomUUID();
    private static final String BACKUP_SECRET = "sk-backup-" + UUID.randomUUID();
    private static TestServer server;
    private static FakeUpstream upstream;
    private static FakeUpstream backup;
    private static Http admin;
    private static Http member;
    private static String memberKey;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        upstream = new FakeUpstream();
        backup = new FakeUpstream();
        admin = server.http();
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status()).isEqualTo(201);
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + backup.port())).status()).isEqualTo(201);
        createRemote("gpt", "chat", upstream, "gpt-up", SECRET, List.of(), 3);
        createRemote("embedder", "embedding", upstream, "embed-up", SECRET, List.of(), 3);
        createRemote("backup", "chat", backup, "backup-up", BACKUP_SECRET, List.of(), 1);
        createRemote("gone", "chat", backup, "gone-up", BACKUP_SECRET, List.of(), 1);
        createRemote("primary", "chat", upstream, "primary-up", SECRET, List.of("gone", "backup"), 1);
        // a fallback deleted since is skipped
        assertThat(admin.delete("/admin/models/gone").status()).isEqualTo(204);
        Tenants tenants = new Tenants(admin);
        memberKey = tenants.key(tenants.tenant("callers"), "member").secret();
        member = admin.withKey(memberKey);
    }

    static void createRemote(String name, String task, FakeUpstream target, String upstreamModel, String secret,
            List<String> fallbacks, int attempts) {
        Http.Reply created = admin.postJson("/admin/models", Map.of("name", name, "task", task, "engine", "remote"));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        Map<String, Object> version = new LinkedHashMap<>();
        version.put("base_url", target.baseUrl());
        version.put("upstream_model", upstreamModel);
        version.put("api_key", secret);
        version.put("timeout_ms", 1000);
        version.put("retry", Map.of("max_attempts", attempts, "initial_backoff_ms", 10, "max_backoff_ms", 3000));
        version.put("fallbacks", fallbacks);
        Http.Reply reply = admin.postJson("/admin/models/" + name + "/versions", version);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        upstream.close();
        backup.close();
    }

    @BeforeEach
    void clearScripts() {
        upstream.reset();
        backup.reset();
    }

    @AfterEach
    void nothingLeaks() throws InterruptedException {
        RemoteEngine engine = server.atrium().remoteEngine();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while ((engine.openExchanges() > 0 || engine.activeReaders() > 0 || server.atrium().requestsInFlight() > 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.openExchanges()).as("upstream exchanges still open").isZero();
        assertThat(engine.activeReaders()).as("upstream reader threads still running").isZero();
        assertThat(server.atrium().requestsInFlight()).as("requests still in flight").isZero();
        assertThat(upstream.awaitOpenConnectionsAtMost(1, Duration.ofSeconds(3))).as("connections to the upstream")
                .isLessThanOrEqualTo(1);
        assertThat(backup.awaitOpenConnectionsAtMost(1, Duration.ofSeconds(3))).as("connections to the backup")
                .isLessThanOrEqualTo(1);
        for (Map.Entry<Thread, StackTraceElement[]> thread : Thread.getAllStackTraces().entrySet()) {
            if (thread.getKey() == Thread.currentThread()) {
                continue;
            }
            for (StackTraceElement frame : thread.getValue()) {
                assertThat(frame.getClassName()).as("platform thread %s is stuck in Atrium's remote path",
                        thread.getKey().getName()).doesNotStartWith("dev.atrium.engine.remote")
                        .doesNotStartWith("dev.atrium.openai");
            }
        }
    }

    // ---- success ------------------------------------------------------------------------------------------------

    @Test
    void chat_plain_goesToTheModelsUpstreamWithItsKey_andComesBackAsTheAtriumModel() {
        upstream.then(exchange -> exchange.json(200, completion("Hello there", 11, 3)));
        Map<String, Object> body = new LinkedHashMap<>(chat("gpt", false));
        body.put("logit_bias", Map.of("42", -100));
        body.put("base_url", "http://evil.example");
        Http.Reply reply = member.send(member.request("/v1/chat/completions").header("X-Request-Id", "plain-1")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(dev.atrium.server.Json.MAPPER.writeValueAsBytes(body)))
                .build());
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        JsonNode answer = reply.json();
        assertThat(answer.path("model").asString()).isEqualTo("gpt");
        assertThat(answer.path("id").asString()).startsWith("chatcmpl-");
        assertThat(answer.path("choices").get(0).path("message").path("content").asString()).isEqualTo("Hello there");
        assertThat(answer.path("usage").path("prompt_tokens").asInt()).isEqualTo(11);

        FakeUpstream.Request sent = upstream.requests().getFirst();
        assertThat(sent.path()).isEqualTo("/v1/chat/completions");
        assertThat(sent.header("authorization")).isEqualTo("Bearer " + SECRET);
        assertThat(sent.json().path("model").asString()).isEqualTo("gpt-up");
        assertThat(sent.json().path("logit_bias").path("42").asInt()).as("fields Atrium does not read pass through")
                .isEqualTo(-100);
        assertThat(sent.json().has("stream_options")).isFalse();

        JsonNode record = record("plain-1");
        assertThat(record.path("model").asString()).isEqualTo("gpt");
        assertThat(record.path("outcome").asString()).isEqualTo("ok");
        assertThat(record.path("input_tokens").asLong()).isEqualTo(11);
        assertThat(record.path("output_tokens").asLong()).isEqualTo(3);
    }

    @Test
    void chat_withTheOpenAiSdk_plainAndStreamed() {
        upstream.then(exchange -> exchange.json(200, completion("Plain answer", 9, 2)),
                exchange -> stream(exchange, List.of("Stre", "amed ", "answer"), true));
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(memberKey)
                .maxRetries(0).build();
        try {
            ChatCompletion plain = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("gpt").addUserMessage("Say something").build());
            assertThat(plain.choices().getFirst().message().content()).contains("Plain answer");
            assertThat(plain.usage().orElseThrow().completionTokens()).isEqualTo(2);

            StringBuilder text = new StringBuilder();
            List<Long> usage = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                    ChatCompletionCreateParams.builder().model("gpt").addUserMessage("Say something")
                            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
                stream.stream().forEach(chunk -> {
                    chunk.choices().forEach(choice -> choice.delta().content().ifPresent(text::append));
                    chunk.usage().ifPresent(u -> usage.add(u.completionTokens()));
                });
            }
            assertThat(text.toString()).isEqualTo("Streamed answer");
            assertThat(usage).containsExactly(3L);
        } finally {
            client.close();
        }
        JsonNode streamed = upstream.requests().get(1).json();
        assertThat(streamed.path("stream").asBoolean()).isTrue();
        assertThat(streamed.path("stream_options").path("include_usage").asBoolean())
                .as("usage is always asked for, so the ledger has it").isTrue();
    }

    @Test
    void stream_withoutUpstreamUsage_isCounted_andTheUsageChunkOnlyWhenAsked() {
        upstream.then(exchange -> stream(exchange, List.of("one ", "two ", "three"), false),
                exchange -> stream(exchange, List.of("four"), true));
        Http.Reply counted = streamRequest("gpt", "counted-1", true);
        assertThat(counted.status()).as(counted.toString()).isEqualTo(200);
        List<String> events = events(counted.text());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        JsonNode usageChunk = dev.atrium.server.Json.MAPPER.readTree(events.get(events.size() - 2));
        int prompt = TokenCounter.countChat(List.of("Say something"));
        int completion = TokenCounter.count("one two three");
        assertThat(usageChunk.path("usage").path("prompt_tokens").asInt()).isEqualTo(prompt);
        assertThat(usageChunk.path("usage").path("completion_tokens").asInt()).isEqualTo(completion);
        assertThat(usageChunk.path("model").asString()).isEqualTo("gpt");
        JsonNode record = record("counted-1");
        assertThat(record.path("input_tokens").asLong()).isEqualTo(prompt);
        assertThat(record.path("output_tokens").asLong()).isEqualTo(completion);

        Http.Reply quiet = streamRequest("gpt", "quiet-1", false);
        List<String> quietEvents = events(quiet.text());
        assertThat(quietEvents).as("no usage chunk, no usage fields, when the client did not ask")
                .noneMatch(event -> event.contains("\"usage\""));
        assertThat(record("quiet-1").path("output_tokens").asLong()).as("the upstream's own count").isEqualTo(3);
    }

    @Test
    void completions_andEmbeddings_passThrough() {
        upstream.then(exchange -> exchange.json(200, """
                        {"id":"x","object":"text_completion","created":1,"model":"gpt-up",
                         "choices":[{"index":0,"text":" world","finish_reason":"stop","logprobs":null}],
                         "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"""),
                exchange -> exchange.json(200, """
                        {"object":"list","model":"embed-up","data":[
                          {"object":"embedding","index":0,"embedding":[0.1,0.2]},
                          {"object":"embedding","index":1,"embedding":[0.3,0.4]}],
                         "usage":{"prompt_tokens":4,"total_tokens":4}}"""));
        Http.Reply completion = member.postJson("/v1/completions", Map.of("model", "gpt", "prompt", "hello"));
        assertThat(completion.status()).as(completion.toString()).isEqualTo(200);
        assertThat(completion.json().path("choices").get(0).path("text").asString()).isEqualTo(" world");
        assertThat(upstream.requests().getFirst().path()).isEqualTo("/v1/completions");

        Http.Reply embeddings = member.postJson("/v1/embeddings", Map.of("model", "embedder",
                "input", List.of("a", "b")));
        assertThat(embeddings.status()).as(embeddings.toString()).isEqualTo(200);
        assertThat(embeddings.json().path("model").asString()).isEqualTo("embedder");
        // the upstream's numbers come back as the float32 vectors they stand for (written exactly, not shortest)
        assertThat((float) embeddings.json().path("data").get(1).path("embedding").get(1).asDouble()).isEqualTo(0.4f);
        assertThat(embeddings.json().path("usage").path("prompt_tokens").asInt()).isEqualTo(4);
        assertThat(upstream.requests().get(1).json().path("model").asString()).isEqualTo("embed-up");
    }

    // ---- retries ------------------------------------------------------------------------------------------------

    @Test
    void upstream500_thenSuccess_isRetried() {
        upstream.then(exchange -> exchange.json(500, "{\"error\":{\"message\":\"boom\"}}"),
                exchange -> exchange.json(200, completion("after a retry", 5, 3)));
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.json().path("choices").get(0).path("message").path("content").asString()).isEqualTo("after a retry");
        assertThat(upstream.requests()).hasSize(2);
    }

    @Test
    void upstream429_withRetryAfter_isRetriedNoSooner() {
        upstream.then(exchange -> exchange.json(429, "{\"error\":{\"message\":\"slow down\"}}", "Retry-After", "1"),
                exchange -> exchange.json(200, completion("patience", 5, 1)));
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        List<FakeUpstream.Request> requests = upstream.requests();
        assertThat(requests).hasSize(2);
        long waitedMillis = TimeUnit.NANOSECONDS.toMillis(requests.get(1).receivedAtNanos() - requests.get(0).receivedAtNanos());
        assertThat(waitedMillis).as("the retry came after Retry-After").isGreaterThanOrEqualTo(1000);
    }

    @Test
    void upstream429_askingLongerThanThePolicyAllows_isPassedOnWithItsRetryAfter() {
        upstream.then(exchange -> exchange.json(429, "{\"error\":{\"message\":\"quota\"}}", "Retry-After", "30"));
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(429);
        assertThat(reply.header("retry-after")).isEqualTo("30");
        assertThat(reply.json().path("error").path("code").asString()).isEqualTo("upstream_rate_limited");
        assertThat(upstream.requests()).as("not retried sooner than it asked").hasSize(1);
    }

    @Test
    void upstreamFailingEveryAttempt_givesACleanBadGateway() {
        upstream.otherwise(exchange -> exchange.json(503, "not json at all"));
        try {
            Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(502);
            assertOpenAiError(reply, "upstream_error");
            assertThat(upstream.requests()).as("three attempts").hasSize(3);
        } finally {
            upstream.otherwise(exchange -> exchange.json(500, "{}"));
        }
    }

    @Test
    void upstreamRefusingTheRequest_isA400WithItsMessage_andNotRetried() {
        upstream.then(exchange -> exchange.json(400, "{\"error\":{\"message\":\"bad temperature " + SECRET + "\"}}"));
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
        assertThat(reply.json().path("error").path("message").asString()).contains("bad temperature")
                .doesNotContain(SECRET);
        assertThat(upstream.requests()).hasSize(1);
    }

    // ---- untrusted answers --------------------------------------------------------------------------------------

    @Test
    void upstreamThatNeverAnswers_timesOut_andItsConnectionIsClosed() throws InterruptedException {
        CountDownLatch closedByClient = new CountDownLatch(1);
        upstream.then(exchange -> {
            exchange.stallUntilClientCloses();
            closedByClient.countDown();
        });
        long started = System.nanoTime();
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(504);
        assertOpenAiError(reply, "upstream_timeout");
        assertThat(tookMillis).as("no retry of a timed-out request").isLessThan(3000);
        assertThat(closedByClient.await(3, TimeUnit.SECONDS)).as("Atrium closed the stalled connection").isTrue();
    }

    @Test
    void streamThatStalls_endsWithAnErrorEvent_andItsConnectionIsClosed() throws InterruptedException {
        CountDownLatch closedByClient = new CountDownLatch(1);
        upstream.then(exchange -> {
            exchange.startStream();
            exchange.event(chunk("first", null));
            exchange.stallUntilClientCloses();
            closedByClient.countDown();
        });
        Http.Reply reply = streamRequest("gpt", "stall-1", true);
        assertThat(reply.status()).isEqualTo(200);
        List<String> events = events(reply.text());
        assertThat(events.getFirst()).contains("first");
        assertThat(events.get(events.size() - 2)).contains("upstream_timeout");
        assertThat(events.getLast()).isEqualTo("[DONE]");
        assertThat(closedByClient.await(3, TimeUnit.SECONDS)).as("Atrium closed the stalled connection").isTrue();
        JsonNode record = record("stall-1");
        assertThat(record.path("outcome").asString()).isEqualTo("upstream_error");
        assertThat(record.path("output_tokens").asLong()).as("what the client got is billed").isEqualTo(
                TokenCounter.count("first"));
    }

    @Test
    void malformedChunk_midStream_endsWithAnErrorEvent() throws InterruptedException {
        CountDownLatch closedByClient = new CountDownLatch(1);
        upstream.then(exchange -> {
            exchange.startStream();
            exchange.event(chunk("fine", null));
            exchange.event("{\"choices\": [ not json");
            exchange.stallUntilClientCloses();
            closedByClient.countDown();
        });
        Http.Reply reply = streamRequest("gpt", "malformed-1", false);
        List<String> events = events(reply.text());
        assertThat(events.getFirst()).contains("fine");
        JsonNode error = dev.atrium.server.Json.MAPPER.readTree(events.get(events.size() - 2));
        assertThat(error.path("error").path("code").asString()).isEqualTo("upstream_error");
        assertThat(error.path("error").path("message").asString()).contains("malformed");
        assertThat(events.getLast()).isEqualTo("[DONE]");
        assertThat(closedByClient.await(3, TimeUnit.SECONDS)).as("Atrium closed the connection").isTrue();
    }

    @Test
    void malformedFirstChunk_isACleanBadGateway_beforeAnythingIsSent() {
        upstream.then(exchange -> {
            exchange.startStream();
            exchange.event("<html>oops</html>");
            exchange.endStream();
        });
        Http.Reply reply = streamRequest("gpt", "malformed-2", true);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(502);
        assertOpenAiError(reply, "upstream_error");
    }

    @Test
    void connectionResetMidStream_endsWithAnErrorEvent() throws Exception {
        CountDownLatch clientHasFirstChunk = new CountDownLatch(1);
        upstream.then(exchange -> {
            exchange.startStream();
            exchange.event(chunk("partial", null));
            // reset only once the first chunk reached the client: a reset discards what was not yet read
            clientHasFirstChunk.await(5, TimeUnit.SECONDS);
            exchange.resetConnection();
        });
        java.net.http.HttpResponse<java.util.stream.Stream<String>> response = java.net.http.HttpClient.newHttpClient()
                .send(member.request("/v1/chat/completions").header("Content-Type", "application/json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                                dev.atrium.server.Json.MAPPER.writeValueAsBytes(chat("gpt", true)))).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> events = new ArrayList<>();
        response.body().filter(line -> line.startsWith("data: ")).forEach(line -> {
            events.add(line.substring(6));
            clientHasFirstChunk.countDown();
        });
        assertThat(events.getFirst()).contains("partial");
        assertThat(events.get(events.size() - 2)).contains("upstream_error");
        assertThat(events.getLast()).isEqualTo("[DONE]");
    }

    @Test
    void streamThatStopsWithoutFinishing_isAnError() {
        upstream.then(exchange -> {
            exchange.startStream();
            exchange.event(chunk("half", null));
            exchange.endStream();
        });
        List<String> events = events(streamRequest("gpt", "cut-1", false).text());
        assertThat(events.get(events.size() - 2)).contains("stopped before it finished");
    }

    @Test
    void resetBeforeAnswering_isRetried() {
        upstream.then(FakeUpstream.Exchange::resetConnection,
                exchange -> exchange.json(200, completion("second time", 2, 2)));
        Http.Reply reply = member.postJson("/v1/chat/completions", chat("gpt", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(upstream.requests()).hasSize(2);
    }

    // ---- fallbacks ----------------------------------------------------------------------------------------------

    @Test
    void failingModel_fallsBackToTheNextModelItSees() {
        upstream.then(exchange -> exchange.json(503, "{}"));
        backup.then(exchange -> exchange.json(200, completion("from the backup", 4, 3)));
        Http.Reply reply = member.send(member.request("/v1/chat/completions").header("X-Request-Id", "fallback-1")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                        dev.atrium.server.Json.MAPPER.writeValueAsBytes(chat("primary", false)))).build());
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.json().path("model").asString()).isEqualTo("backup");
        assertThat(reply.json().path("choices").get(0).path("message").path("content").asString()).isEqualTo("from the backup");
        assertThat(backup.requests().getFirst().header("authorization")).isEqualTo("Bearer " + BACKUP_SECRET);
        assertThat(backup.requests().getFirst().json().path("model").asString()).isEqualTo("backup-up");
        JsonNode record = record("fallback-1");
        assertThat(record.path("model").asString()).as("the model that answered is billed").isEqualTo("backup");
        assertThat(records("fallback-1")).as("one record per request").hasSize(1);
    }

    @Test
    void failingStream_fallsBackBeforeTheFirstChunk() {
        upstream.then(exchange -> exchange.json(500, "{}"));
        backup.then(exchange -> stream(exchange, List.of("backup ", "stream"), true));
        Http.Reply reply = streamRequest("primary", "fallback-2", true);
        assertThat(reply.status()).isEqualTo(200);
        List<String> events = events(reply.text());
        assertThat(String.join("", events)).contains("backup ").contains("\"model\":\"backup\"");
        assertThat(events.getLast()).isEqualTo("[DONE]");
    }

    @Test
    void fallbackOutsideTheCallersAllowlist_isNeverUsed() {
        Tenants tenants = new Tenants(admin);
        Http narrow = admin.withKey(tenants.key(tenants.tenant("narrow"), "member", Tenants.models("primary")).secret());
        upstream.then(exchange -> exchange.json(503, "{}"));
        Http.Reply reply = narrow.postJson("/v1/chat/completions", chat("primary", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(502);
        assertThat(backup.requests()).isEmpty();
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static Map<String, Object> chat(String model, boolean stream) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("messages", List.of(Map.of("role", "user", "content", "Say something")));
        if (stream) {
            body.put("stream", true);
        }
        return body;
    }

    private static Http.Reply streamRequest(String model, String requestId, boolean includeUsage) {
        Map<String, Object> body = chat(model, true);
        if (includeUsage) {
            body.put("stream_options", Map.of("include_usage", true));
        }
        return member.send(member.request("/v1/chat/completions").header("X-Request-Id", requestId)
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(dev.atrium.server.Json.MAPPER.writeValueAsBytes(body)))
                .build());
    }

    /** The data of each server-sent event, in order. */
    static List<String> events(String body) {
        List<String> events = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.startsWith("data: ")) {
                events.add(event.substring(6));
            }
        }
        return events;
    }

    private static JsonNode record(String clientRequestId) {
        List<JsonNode> found = records(clientRequestId);
        assertThat(found).as("the usage record of " + clientRequestId).hasSize(1);
        return found.getFirst();
    }

    private static List<JsonNode> records(String clientRequestId) {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode record : admin.get("/admin/usage/records?limit=1000").json().path("data")) {
            if (record.path("client_request_id").asString().equals(clientRequestId)) {
                found.add(record);
            }
        }
        return found;
    }

    private static void assertOpenAiError(Http.Reply reply, String code) {
        JsonNode error = reply.json().path("error");
        assertThat(error.path("code").asString()).isEqualTo(code);
        assertThat(error.path("type").asString()).isNotEmpty();
        assertThat(error.path("message").asString()).doesNotContain(SECRET).doesNotContain("Exception")
                .doesNotContain("127.0.0.1");
    }

    static String completion(String content, int prompt, int completion) {
        return "{\"id\":\"up-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-up\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":"
                + completion + ",\"total_tokens\":" + (prompt + completion) + "}}";
    }

    static String chunk(String content, String finishReason) {
        return "{\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-up\","
                + "\"choices\":[{\"index\":0,\"delta\":{" + (content == null ? "" : "\"content\":\"" + content + "\"")
                + "},\"finish_reason\":" + (finishReason == null ? "null" : "\"" + finishReason + "\"") + "}]}";
    }

    /** A whole OpenAI stream: the role, the pieces, the finish, the usage if reported, and [DONE]. */
    static void stream(FakeUpstream.Exchange exchange, List<String> pieces, boolean reportUsage) throws java.io.IOException {
        exchange.startStream();
        exchange.event("{\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-up\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}");
        for (String piece : pieces) {
            exchange.event(chunk(piece, null));
        }
        exchange.event(chunk(null, "stop"));
        if (reportUsage) {
            exchange.event("{\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-up\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
                    + "\"total_tokens\":10}}");
        }
        exchange.event("[DONE]");
        exchange.endStream();
    }
}
