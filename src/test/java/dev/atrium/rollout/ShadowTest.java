package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Shadow traffic on real models: an embedding model whose production version pools by the mean and whose candidate
 * pools by the first token (the bundled MiniLM, uploaded twice), and a tabular classifier trained twice with other
 * settings. Mirrored requests answer exactly as unmirrored ones, each caller request has one charged record, each
 * mirror one free record of the owner's internal usage, and the agreement reported is the one the test computes from
 * both versions' own answers.
 */
class ShadowTest {
    @TempDir
    static Path files;
    private static TestServer server;
    private static Http admin;
    private static Http owner;
    private static Http member;
    private static String tenant;
    private static String memberKeyId;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none", "default-rpm", "1000000"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        tenant = tenants.tenant("shadowers");
        owner = admin.withKey(tenants.key(tenant, "owner").secret());
        Tenants.Key memberKey = tenants.key(tenant, "member");
        memberKeyId = memberKey.id();
        member = admin.withKey(memberKey.secret());
        assertThat(owner.postJson("/admin/models", Map.of("name", "searcher", "task", "embedding")).status())
                .isEqualTo(201);
        byte[] onnx = Files.readAllBytes(BundledFiles.onnx(files));
        byte[] tokenizer = Files.readAllBytes(BundledFiles.tokenizer(files));
        for (String pooling : List.of("mean", "cls")) {
            Map<String, byte[]> parts = new LinkedHashMap<>();
            parts.put("onnx", onnx);
            parts.put("tokenizer", tokenizer);
            parts.put("config", ("{\"pooling\": \"" + pooling + "\", \"normalize\": true}")
                    .getBytes(StandardCharsets.UTF_8));
            Http.Reply uploaded = owner.post("/admin/models/searcher/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(parts));
            assertThat(uploaded.status()).as(uploaded.text()).isEqualTo(201);
        }
        assertThat(owner.putJson("/admin/models/searcher/aliases/production", Map.of("version", 1)).status())
                .isEqualTo(200);
        assertThat(admin.postJson("/admin/prices", Map.of("model", "searcher", "tenant", tenant,
                "input_per_1m", "100", "currency", "USD")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static List<float[]> embed(Http who, String model, List<String> input) {
        Http.Reply reply = who.postJson("/v1/embeddings", Map.of("model", model, "input", input));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(reply.header("x-atrium-model-version")).isEqualTo(model.contains(":2") ? "2" : "1");
        List<float[]> vectors = new ArrayList<>();
        reply.json().path("data").forEach(item -> vectors.add(Vectors.of(item.path("embedding"))));
        return vectors;
    }

    private static List<String> sentences(int request) {
        return List.of("Request " + request + " asks about the weather in spring.",
                "A shadow version " + (request % 3 == 0 ? "answers beside" : "is compared with") + " the primary.");
    }

    private static JsonNode awaitAgreement(String model, Predicate<JsonNode> done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode shadow = owner.get("/admin/models/" + model + "/aliases/production/shadow").json();
        while (!done.test(shadow.path("agreement")) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            shadow = owner.get("/admin/models/" + model + "/aliases/production/shadow").json();
        }
        return shadow;
    }

    private static List<JsonNode> records(String key, String model) {
        JsonNode page = admin.get("/admin/usage/records?tenant=" + tenant + "&model=" + model + "&limit=1000")
                .json().path("data");
        List<JsonNode> found = new ArrayList<>();
        page.forEach(record -> {
            if (record.path("key").asString().equals(key)) {
                found.add(record);
            }
        });
        return found;
    }

    @Test
    void embeddings_mirroredToTheCandidate_answersAndChargesUnchanged_cosineReported() throws Exception {
        int requests = 20;
        // the answers without a shadow, and each version's own, called by version (never mirrored)
        List<List<float[]>> unmirrored = new ArrayList<>();
        double expectedSum = 0;
        for (int r = 0; r < requests; r++) {
            unmirrored.add(embed(member, "searcher", sentences(r)));
            List<float[]> first = embed(owner, "searcher:1", sentences(r));
            List<float[]> second = embed(owner, "searcher:2", sentences(r));
            for (int i = 0; i < first.size(); i++) {
                expectedSum += Vectors.cosine(first.get(i), second.get(i));
            }
        }
        double expected = expectedSum / (2 * requests);
        assertThat(expected).as("mean and first-token pooling differ").isLessThan(0.99);
        String memberKey = memberKeyId;
        int charged = records(memberKey, "searcher").size();
        assertThat(records("shadow", "searcher")).as("no mirror without a shadow").isEmpty();

        Http.Reply set = owner.putJson("/admin/models/searcher/aliases/production/shadow", Map.of("version", 2));
        assertThat(set.status()).as(set.text()).isEqualTo(200);
        assertThat(set.json().path("fraction").decimalValue()).isEqualByComparingTo(BigDecimal.ONE);
        assertThat(java.time.Instant.parse(set.json().path("set_at").asString()))
                .isBeforeOrEqualTo(java.time.Instant.now());
        for (int r = 0; r < requests; r++) {
            List<float[]> answered = embed(member, "searcher", sentences(r));
            for (int i = 0; i < answered.size(); i++) {
                assertThat(Vectors.cosine(answered.get(i), unmirrored.get(r).get(i))).as("request " + r)
                        .isCloseTo(1.0, within(1e-6));
            }
        }
        JsonNode shadow = awaitAgreement("searcher", agreement -> agreement.path("compared").asLong()
                + agreement.path("failed").asLong() + agreement.path("dropped").asLong() >= requests);
        JsonNode agreement = shadow.path("agreement");
        System.out.println("embedding shadow: " + shadow);
        assertThat(agreement.path("measure").asString()).isEqualTo("cosine");
        assertThat(agreement.path("compared").asLong()).isEqualTo(requests);
        assertThat(agreement.path("failed").asLong()).isZero();
        assertThat(agreement.path("inputs").asLong()).isEqualTo(2L * requests);
        // within 1%: the quantized model's activations are scaled per batch, and mirrors batch with each other
        assertThat(agreement.path("mean").asDouble()).isCloseTo(expected, within(0.01));

        // the caller: one charged record per request; the owner: one free record per mirror, on the candidate
        List<JsonNode> callerRecords = records(memberKey, "searcher");
        assertThat(callerRecords).hasSize(charged + requests);
        assertThat(callerRecords).allSatisfy(record -> {
            assertThat(record.path("version").asInt()).isEqualTo(1);
            assertThat(new BigDecimal(record.path("charge").asString())).isPositive();
        });
        List<JsonNode> mirrors = records("shadow", "searcher");
        assertThat(mirrors).hasSize(requests);
        assertThat(mirrors).allSatisfy(record -> {
            assertThat(record.path("version").asInt()).isEqualTo(2);
            assertThat(record.path("tenant").asString()).isEqualTo(tenant);
            assertThat(record.path("outcome").asString()).isEqualTo("ok");
            assertThat(record.path("input_tokens").asLong()).isPositive();
            assertThat(new BigDecimal(record.path("charge").asString())).isZero();
        });

        // the tenant's invoice is what its callers' records charge, the mirrors adding nothing
        BigDecimal callers = BigDecimal.ZERO;
        for (JsonNode record : admin.get("/admin/usage/records?tenant=" + tenant + "&limit=1000").json()
                .path("data")) {
            callers = callers.add(record.path("key").asString().equals("shadow") ? BigDecimal.ZERO
                    : new BigDecimal(record.path("charge").asString()));
        }
        JsonNode invoice = admin.get("/admin/invoices?tenant=" + tenant + "&month="
                + java.time.YearMonth.now(java.time.ZoneOffset.UTC)).json();
        assertThat(new BigDecimal(invoice.path("subtotals").path("USD").asString())).isEqualByComparingTo(callers);

        // the shadow's end
        assertThat(owner.delete("/admin/models/searcher/aliases/production/shadow").status()).isEqualTo(204);
        assertThat(owner.get("/admin/models/searcher/aliases/production/shadow").status()).isEqualTo(404);
        Thread.sleep(5_100); // replicas may use a shadow for up to five seconds after it changed
        embed(member, "searcher", sentences(0));
        Thread.sleep(200);
        assertThat(records("shadow", "searcher")).hasSize(requests);
    }

    @Test
    void predictions_partOfTheTraffic_mirrored_exactMatchOfLabelsReported() throws Exception {
        // two versions trained on rows labelled by boundaries that cross: they disagree on about a third of rows
        Random random = new Random(11);
        for (double slope : List.of(0.5, -1.0)) {
            StringBuilder csv = new StringBuilder("x1,x2,segment\n");
            for (int i = 0; i < 300; i++) {
                double x1 = random.nextDouble() * 4 - 2;
                double x2 = random.nextDouble() * 4 - 2;
                String segment = x1 + slope * x2 + random.nextGaussian() * 0.2 > 0 ? "high" : "low";
                csv.append(x1).append(',').append(x2).append(',').append(segment).append('\n');
            }
            String file = member.uploadTrainingFile("segments.csv", csv.toString()).json().path("id").asString();
            Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "linear", "training_file", file,
                    "suffix", "segmenter", "method", Map.of("type", "tabular-classification"),
                    "hyperparameters", Map.of("target", "segment")));
            assertThat(job.status()).as(job.text()).isEqualTo(200);
            assertThat(member.awaitJobEnd(job.json().path("id").asString(), Duration.ofMinutes(2))
                    .path("status").asString()).isEqualTo("succeeded");
        }
        assertThat(owner.putJson("/admin/models/segmenter/aliases/production", Map.of("version", 1)).status())
                .isEqualTo(200);
        List<List<Double>> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(List.of(random.nextDouble() * 4 - 2, random.nextDouble() * 4 - 2));
        }
        // each version's labels for each row, by version
        List<String> first = predict("segmenter:1", rows);
        List<String> second = predict("segmenter:2", rows);
        assertThat(owner.putJson("/admin/models/segmenter/aliases/production/shadow", Map.of("version", 2,
                "fraction", "0.5")).status()).isEqualTo(200);

        int requests = 200;
        for (int r = 0; r < requests; r++) {
            assertThat(predict("segmenter", List.of(rows.get(r % rows.size())), "row-" + r))
                    .containsExactly(first.get(r % rows.size()));
        }
        JsonNode shadow = awaitAgreement("segmenter", agreement -> agreement.path("compared").asLong()
                + agreement.path("failed").asLong() >= agreement.path("mirrored").asLong());
        JsonNode agreement = shadow.path("agreement");
        long disagreeing = java.util.stream.IntStream.range(0, rows.size())
                .filter(i -> !first.get(i).equals(second.get(i))).count();
        System.out.println("prediction shadow at 0.5: " + shadow + "; the versions' labels differ on " + disagreeing
                + " of " + rows.size() + " rows");
        // p = 0.5 over 200: mean 100, σ ≈ 7.1; 99.9% two-sided within ±3.29σ
        long mirrored = agreement.path("mirrored").asLong();
        assertThat(mirrored).isBetween(77L, 123L);
        assertThat(agreement.path("measure").asString()).isEqualTo("exact_match");
        assertThat(agreement.path("failed").asLong()).isZero();
        assertThat(agreement.path("compared").asLong()).isEqualTo(mirrored);

        // which requests were mirrored, from the records: each mirror's record names the request it mirrored
        Map<String, String> clientIds = new LinkedHashMap<>();
        String memberKey = memberKeyId;
        records(memberKey, "segmenter").forEach(record -> clientIds.put(record.path("request_id").asString(),
                record.path("client_request_id").asString()));
        List<JsonNode> mirrors = records("shadow", "segmenter");
        assertThat(mirrors).hasSize((int) mirrored);
        int equal = 0;
        for (JsonNode mirror : mirrors) {
            String primary = mirror.path("request_id").asString().replaceFirst("-shadow$", "");
            String clientId = clientIds.get(primary);
            assertThat(clientId).as("the request mirror " + mirror + " mirrored").startsWith("row-");
            int row = Integer.parseInt(clientId.substring(4)) % rows.size();
            equal += first.get(row).equals(second.get(row)) ? 1 : 0;
            assertThat(new BigDecimal(mirror.path("charge").asString())).isZero();
            assertThat(mirror.path("rows").asLong()).isEqualTo(1);
        }
        assertThat(disagreeing).as("the versions disagree on some rows").isBetween(4L, 36L);
        assertThat(agreement.path("mean").asDouble()).isCloseTo((double) equal / mirrored, within(1e-9));

        // a candidate that cannot answer (its x2 is a category, not a number) changes nothing for the caller
        StringBuilder wider = new StringBuilder("x1,x2,segment\n");
        for (int i = 0; i < 100; i++) {
            wider.append(i % 7).append(',').append(List.of("red", "green", "blue").get(i % 3)).append(',')
                    .append(i % 2 == 0 ? "high" : "low").append('\n');
        }
        String file = member.uploadTrainingFile("categories.csv", wider.toString()).json().path("id").asString();
        Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "linear", "training_file", file,
                "suffix", "segmenter", "method", Map.of("type", "tabular-classification"),
                "hyperparameters", Map.of("target", "segment")));
        assertThat(member.awaitJobEnd(job.json().path("id").asString(), Duration.ofMinutes(2))
                .path("status").asString()).isEqualTo("succeeded");
        assertThat(owner.putJson("/admin/models/segmenter/aliases/production/shadow", Map.of("version", 3)).status())
                .isEqualTo(200);
        for (int r = 0; r < 10; r++) {
            assertThat(predict("segmenter", List.of(rows.get(r)))).containsExactly(first.get(r));
        }
        JsonNode failing = awaitAgreement("segmenter", counts -> counts.path("failed").asLong() >= 10).path("agreement");
        assertThat(failing.path("mirrored").asLong()).isEqualTo(10);
        assertThat(failing.path("failed").asLong()).isEqualTo(10);
        assertThat(failing.path("compared").asLong()).isZero();
    }

    private static List<String> predict(String model, List<List<Double>> rows) {
        return predict(model, rows, null);
    }

    private static List<String> predict(String model, List<List<Double>> rows, String requestId) {
        String body = tools.jackson.databind.json.JsonMapper.builder().build().writeValueAsString(Map.of("model",
                model, "dataframe_split", Map.of("columns", List.of("x1", "x2"), "data", rows)));
        java.net.http.HttpRequest.Builder request = member.request("/v1/predictions")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (requestId != null) {
            request.header("X-Request-Id", requestId);
        }
        Http.Reply reply = member.send(request.build());
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        List<String> labels = new ArrayList<>();
        reply.json().path("predictions").forEach(label -> labels.add(label.asString()));
        return labels;
    }
}
