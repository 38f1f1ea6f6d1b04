package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A version's monitoring on a real classifier: a tenant's topic classifier (the bundled embedding model and a head
 * of class centroids computed in-process by LangChain4j), its baseline its first 60 outputs. Its usual inputs (a
 * mix of the three topics) keep its PSI near zero and raise nothing; inputs of another distribution (recipes only)
 * move its PSI over the threshold and raise exactly one {@code model.drift} audit event and metric, however long
 * they go on. The view shows its calls, error rate, latency percentiles and units too, only to its own tenant, and
 * its baseline survives a restart. A tabular classifier trained by a fine-tuning job starts from the classes it
 * predicted for its validation rows, and drifts the same way when fed rows of one region of its input space.
 */
class MonitoringTest {
    private static final List<String> LABELS = List.of("sports", "cooking", "computers");
    private static final Map<String, List<String>> CENTROIDS = Map.of(
            "sports", List.of("The striker scored twice in the second half.", "She won the marathon in record time.",
                    "The team lost the championship final on penalties.", "He trains at the tennis court every day."),
            "cooking", List.of("Simmer the tomato sauce for twenty minutes.", "Knead the dough and let it rise.",
                    "Season the soup with salt, pepper and fresh basil.", "Roast the chicken until the skin is crisp."),
            "computers", List.of("The laptop needs more memory to compile the code.",
                    "Install the operating system update and reboot.", "The database server crashed under load.",
                    "Write a function that sorts the list in place."));
    /** What the classifier usually sees: two sentences of each topic per request. */
    private static final List<String> USUAL = List.of(
            "The goalkeeper saved a penalty in the last minute.", "Chop the onions and fry them in olive oil.",
            "The program throws an exception when the file is missing.", "The cyclists raced up the mountain stage.",
            "Bake the cake at 180 degrees for forty minutes.", "Upgrade the graphics card driver to fix the crash.");
    /** More of the usual, in other words: what it sees after its baseline. */
    private static final List<String> USUAL_LATER = List.of(
            "The referee showed him a red card.", "Peel the potatoes and boil them in salted water.",
            "The compiler reports a syntax error on line ten.", "The swimmers lined up for the relay final.",
            "Melt the butter and stir in the flour.", "Restart the router when the network drops.");
    /** Another distribution: recipes only. */
    private static final List<String> RECIPES = List.of(
            "Whisk the eggs with sugar until pale.", "Grill the fish with lemon and thyme.",
            "Marinate the beef overnight in soy sauce.", "Stir the risotto and add stock slowly.",
            "Blanch the beans and toss them in butter.", "Fold the cream gently into the chocolate.");
    private static final String MONITORING = "/admin/models/topics/versions/1/monitoring";

    private static TestServer server;
    private static Http admin;
    private static Http owner;
    private static Http member;
    private static Http stranger;
    private static String ownerSecret;
    private static String memberSecret;
    private static String strangerSecret;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("default-rpm", "100000"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("monitored");
        Tenants.Key ownerKey = tenants.key(tenant, "owner");
        Tenants.Key memberKey = tenants.key(tenant, "member");
        ownerSecret = ownerKey.secret();
        memberSecret = memberKey.secret();
        strangerSecret = tenants.key(tenants.tenant("elsewhere"), "owner").secret();
        connect();
        assertThat(owner.postJson("/admin/models", Map.of("name", "topics", "task", "text-classification")).status())
                .isEqualTo(201);
        Http.Reply upload = owner.post("/admin/models/topics/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", centroidHead(), "config", ("{\"embedding_model\":"
                + " \"all-minilm-l6-v2\", \"labels\": [\"sports\", \"cooking\", \"computers\"]}")
                .getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
    }

    /** The test's clients, on the server's port (which a restart changes). */
    private static void connect() {
        admin = server.http();
        owner = admin.withKey(ownerSecret);
        member = admin.withKey(memberSecret);
        stranger = admin.withKey(strangerSecret);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A head whose weights are the normalized class centroids: logits = 20 · cosine to each centroid. */
    private static byte[] centroidHead() {
        AllMiniLmL6V2QuantizedEmbeddingModel reference = new AllMiniLmL6V2QuantizedEmbeddingModel();
        int dimension = 384;
        float[] weights = new float[dimension * LABELS.size()];
        for (int c = 0; c < LABELS.size(); c++) {
            double[] sum = new double[dimension];
            for (String sentence : CENTROIDS.get(LABELS.get(c))) {
                float[] vector = reference.embed(sentence).content().vector();
                for (int i = 0; i < dimension; i++) {
                    sum[i] += vector[i];
                }
            }
            double norm = Math.sqrt(java.util.Arrays.stream(sum).map(v -> v * v).sum());
            for (int i = 0; i < dimension; i++) {
                weights[i * LABELS.size() + c] = (float) (20 * sum[i] / norm);
            }
        }
        return new OnnxModelWriter()
                .input("embedding", ElementType.FLOAT, -1, dimension)
                .initializer("weights", weights, dimension, LABELS.size())
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("probabilities"))
                .output("probabilities", ElementType.FLOAT, -1, LABELS.size())
                .toBytes();
    }

    private static void classify(List<String> sentences, int requests) {
        for (int i = 0; i < requests; i++) {
            Http.Reply reply = member.postJson("/v1/classifications", Map.of("model", "topics", "input", sentences));
            assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        }
    }

    private static JsonNode driftEvents(Http http) {
        return driftEvents(http, "topics:1");
    }

    /** The trail's drift events of one version, as the key sees the trail. */
    private static JsonNode driftEvents(Http http, String version) {
        Http.Reply reply = http.get("/admin/audit?action=model.drift&limit=100");
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        tools.jackson.databind.node.ArrayNode events = tools.jackson.databind.node.JsonNodeFactory.instance
                .arrayNode();
        reply.json().path("data").forEach(event -> {
            if (event.path("target").asString().startsWith(version + " ")) {
                events.add(event);
            }
        });
        return events;
    }

    private static double metric(String name) {
        PrometheusText.Family family = PrometheusText.parse(admin.get("/metrics").text()).get(name);
        if (family == null) {
            return Double.NaN;
        }
        return family.samples().stream().filter(sample -> "topics".equals(sample.labels().get("model"))
                && "1".equals(sample.labels().get("version"))).mapToDouble(PrometheusText.Sample::value)
                .findFirst().orElse(Double.NaN);
    }

    @Test
    void aClassifier_fedAnotherDistribution_driftsOnce_andItsUsualInputsDoNot() {
        Http.Reply configured = owner.putJson(MONITORING, Map.of("baseline_size", 60, "window_size", 30,
                "threshold", 0.2));
        assertThat(configured.status()).as(configured.text()).isEqualTo(200);
        assertThat(configured.json().path("drift").path("baseline").path("state").asString())
                .isEqualTo("collecting");

        // the baseline: the first 60 outputs (ten requests of six)
        classify(USUAL, 10);
        JsonNode baselined = member.get(MONITORING).json().path("drift");
        assertThat(baselined.path("baseline").path("state").asString()).isEqualTo("complete");
        assertThat(baselined.path("baseline").path("source").asString()).isEqualTo("requests");
        assertThat(baselined.path("baseline").path("outputs").asLong()).isEqualTo(60);
        assertThat(java.time.Instant.parse(baselined.path("baseline").path("completed_at").asString()))
                .isBeforeOrEqualTo(java.time.Instant.now());
        assertThat(baselined.path("measure").asString()).isEqualTo("class");

        // more of the usual: the window fills, and its PSI stays far below the threshold
        classify(USUAL, 5);
        classify(USUAL_LATER, 5); // the window's 30 outputs
        JsonNode usual = member.get(MONITORING).json().path("drift");
        System.out.println("usual inputs: psi " + usual.path("psi") + ", bins " + usual.path("bins"));
        assertThat(usual.path("recent").path("outputs").asInt()).isEqualTo(30);
        assertThat(usual.path("psi").isNumber()).as(usual.toString()).isTrue();
        assertThat(usual.path("psi").asDouble()).isLessThan(0.05);
        assertThat(usual.path("drifting").asBoolean()).isFalse();
        assertThat(driftEvents(owner)).isEmpty();
        assertThat(metric("atrium_model_drift_psi")).isLessThan(0.05);

        // recipes only: the PSI goes over the threshold and one event is raised, however long it lasts
        classify(RECIPES, 10);
        JsonNode drifted = member.get(MONITORING).json().path("drift");
        System.out.println("recipes only: psi " + drifted.path("psi") + ", bins " + drifted.path("bins"));
        assertThat(drifted.path("psi").asDouble()).isGreaterThan(0.2);
        assertThat(drifted.path("drifting").asBoolean()).isTrue();
        assertThat(drifted.path("drift_events").asLong()).isEqualTo(1);
        assertThat(drifted.path("bins").get(LABELS.indexOf("cooking")).path("recent").asLong()).isEqualTo(30);
        JsonNode events = driftEvents(owner);
        assertThat(events).hasSize(1);
        JsonNode event = events.get(0);
        assertThat(event.path("action").asString()).isEqualTo("model.drift");
        assertThat(event.path("actor_prefix").asString()).isEqualTo("monitor");
        assertThat(event.path("target").asString()).startsWith("topics:1 psi ");
        assertThat(driftEvents(admin)).hasSize(1);
        assertThat(driftEvents(stranger)).as("another tenant's trail").isEmpty();
        assertThat(metric("atrium_model_drift_events_total")).isEqualTo(1.0);
        assertThat(metric("atrium_model_drift_psi")).isGreaterThan(0.2);

        // the view's traffic and units: 30 calls of 6 inputs each, none failed
        JsonNode view = member.get(MONITORING).json();
        JsonNode lastMinute = view.path("traffic").get(0);
        assertThat(lastMinute.path("window").asString()).isEqualTo("1m");
        assertThat(lastMinute.path("calls").asLong()).isEqualTo(30);
        assertThat(lastMinute.path("errors").asLong()).isZero();
        assertThat(lastMinute.path("error_rate").asDouble()).isZero();
        assertThat(lastMinute.path("calls_per_minute").asDouble()).isEqualTo(30.0);
        double p50 = lastMinute.path("p50_ms").asDouble();
        assertThat(p50).isPositive();
        assertThat(lastMinute.path("p90_ms").asDouble()).isGreaterThanOrEqualTo(p50);
        assertThat(lastMinute.path("p99_ms").asDouble()).isGreaterThanOrEqualTo(lastMinute.path("p90_ms").asDouble());
        long histogram = 0;
        for (JsonNode bin : view.path("latency_histogram")) {
            histogram += bin.path("calls").asLong();
        }
        assertThat(histogram).isEqualTo(30);
        assertThat(view.path("units").path("requests").asLong()).isEqualTo(30);
        assertThat(java.time.Instant.parse(view.path("units").path("since").asString()))
                .isBeforeOrEqualTo(java.time.Instant.now());
        assertThat(view.path("units").path("outputs").asLong()).isEqualTo(180);
        assertThat(view.path("units").path("input_tokens").asLong()).isPositive();

        // only its tenant sees it: another's answers as for a model that does not exist
        Http.Reply foreign = stranger.get(MONITORING);
        assertThat(foreign.status()).isEqualTo(404);
        assertThat(foreign.text()).isEqualTo(stranger.get("/admin/models/nowhere/versions/1/monitoring").text()
                .replace("nowhere", "topics"));
        assertThat(member.putJson(MONITORING, Map.of("threshold", 0.5)).status()).isEqualTo(403);

        // a public model's monitoring shows every tenant's traffic: the platform's alone; zero-shot classifications
        // count as their embedding model's outputs, the inputs' vectors (not the labels')
        String embedder = "/admin/models/all-minilm-l6-v2/versions/1/monitoring";
        long before = admin.get(embedder).json().path("units").path("outputs").asLong();
        assertThat(member.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input",
                List.of("one", "two", "three"))).status()).isEqualTo(200);
        assertThat(member.postJson("/v1/classifications", Map.of("model", "all-minilm-l6-v2", "input",
                List.of("a goal", "a cake"), "labels", List.of("sports", "cooking"))).status()).isEqualTo(200);
        Http.Reply platform = admin.get(embedder);
        assertThat(platform.status()).isEqualTo(200);
        assertThat(platform.json().path("drift").path("measure").asString()).isEqualTo("cosine_to_centroid");
        assertThat(platform.json().path("units").path("outputs").asLong() - before).isEqualTo(5);
        Http.Reply tenantView = owner.get(embedder);
        assertThat(tenantView.status()).isEqualTo(403);
        assertThat(tenantView.json().path("error").path("code").asString()).isEqualTo("permission_denied");

        // a restart keeps the baseline and the settings; the window starts again
        server.restart();
        connect();
        JsonNode kept = owner.get(MONITORING).json().path("drift");
        assertThat(kept.path("baseline").path("state").asString()).isEqualTo("complete");
        assertThat(kept.path("baseline").path("outputs").asLong()).isEqualTo(60);
        assertThat(kept.path("window_size").asInt()).isEqualTo(30);
        assertThat(kept.path("recent").path("outputs").asInt()).isZero();
        assertThat(kept.path("bins").get(0).path("baseline").asLong())
                .isEqualTo(baselined.path("bins").get(0).path("baseline").asLong());
    }

    /** Rows of two features, labelled by which side of x1 + x2 = 0 they fall, drawn from a square. */
    private static List<Map<String, Object>> rows(int count, long seed, double from, double to, boolean labelled) {
        Random random = new Random(seed);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double x1 = from + random.nextDouble() * (to - from);
            double x2 = from + random.nextDouble() * (to - from);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("x1", x1);
            row.put("x2", x2);
            if (labelled) {
                row.put("level", x1 + x2 > 0 ? "high" : "low");
            }
            rows.add(row);
        }
        return rows;
    }

    @Test
    void aTrainedTabularClassifier_startsFromItsValidationRows_andDriftsOnRowsOfOneRegion() throws Exception {
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("tabular-monitored");
        Http trainer = admin.withKey(tenants.key(tenant, "member").secret());
        Http manager = admin.withKey(tenants.key(tenant, "owner").secret());
        StringBuilder csv = new StringBuilder("x1,x2,level\n");
        rows(400, 1, -2, 2, true).forEach(row -> csv.append(row.get("x1")).append(',').append(row.get("x2"))
                .append(',').append(row.get("level")).append('\n'));
        Http.Reply file = trainer.uploadTrainingFile("levels.csv", csv.toString());
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        Http.Reply created = trainer.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees",
                "training_file", file.json().path("id").asString(), "suffix", "levels", "method",
                Map.of("type", "tabular-classification"), "hyperparameters", Map.of("target", "level"), "seed", 5));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        JsonNode job = trainer.awaitJobEnd(created.json().path("id").asString(), Duration.ofMinutes(2));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");

        // the baseline: the classes its evaluation predicted for the validation rows, before any request
        JsonNode confusion = trainer.get("/admin/models/levels/versions/1").json().path("lineage").path("metrics")
                .path("confusion_matrix");
        String monitoring = "/admin/models/levels/versions/1/monitoring";
        JsonNode drift = trainer.get(monitoring).json().path("drift");
        assertThat(drift.path("baseline").path("source").asString()).as(drift.toString()).isEqualTo("validation");
        assertThat(drift.path("baseline").path("state").asString()).isEqualTo("complete");
        assertThat(drift.path("measure").asString()).isEqualTo("class");
        for (int c = 0; c < confusion.path("labels").size(); c++) {
            long predicted = 0;
            for (JsonNode row : confusion.path("counts")) {
                predicted += row.get(c).asLong();
            }
            assertThat(drift.path("bins").get(c).path("label").asString())
                    .isEqualTo(confusion.path("labels").get(c).asString());
            assertThat(drift.path("bins").get(c).path("baseline").asLong()).isEqualTo(predicted);
        }
        assertThat(manager.putJson(monitoring, Map.of("window_size", 100)).status()).isEqualTo(200);

        // rows of the square it learnt on keep it below the threshold; rows of its upper corner alone do not
        Http.Reply usual = trainer.postJson("/v1/predictions", Map.of("model", "levels",
                "dataframe_records", rows(100, 2, -2, 2, false)));
        assertThat(usual.status()).as(usual.text()).isEqualTo(200);
        JsonNode steady = trainer.get(monitoring).json().path("drift");
        assertThat(steady.path("psi").asDouble()).as(steady.toString()).isLessThan(0.1);
        assertThat(driftEvents(manager, "levels:1")).isEmpty();
        for (int i = 0; i < 3; i++) {
            Http.Reply corner = trainer.postJson("/v1/predictions", Map.of("model", "levels",
                    "dataframe_records", rows(50, 3 + i, 1, 2, false)));
            assertThat(corner.status()).as(corner.text()).isEqualTo(200);
        }
        JsonNode moved = trainer.get(monitoring).json().path("drift");
        System.out.println("tabular classifier, upper corner only: psi " + moved.path("psi") + ", bins "
                + moved.path("bins"));
        assertThat(moved.path("psi").asDouble()).isGreaterThan(0.2);
        assertThat(moved.path("drifting").asBoolean()).isTrue();
        assertThat(driftEvents(manager, "levels:1")).hasSize(1);
        assertThat(trainer.get(monitoring).json().path("units").path("rows").asLong()).isEqualTo(250);
    }
}
