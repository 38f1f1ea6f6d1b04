package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Training as a service through the official OpenAI SDK: a tenant uploads a labelled set (four topics, 400 sentences
 * made from templates), creates a fine-tuning job on the bundled embedding model, polls it to {@code succeeded}, reads
 * its events and checkpoints, and the {@code fine_tuned_model} classifies held-out sentences (with wording the
 * templates never used) through {@code /v1/classifications}.
 */
class FineTuningEndToEndTest {
    private static final Map<String, List<String>> TOPICS = Map.of(
            "sports", List.of("the team won the %s match", "the striker scored in the %s game",
                    "fans cheered at the %s stadium", "the coach praised the %s defence"),
            "cooking", List.of("simmer the %s sauce slowly", "bake the %s bread until golden",
                    "season the %s soup with herbs", "chop the %s onions finely"),
            "computers", List.of("the %s laptop needs more memory", "install the %s software update",
                    "the %s server crashed overnight", "debug the %s program carefully"),
            "weather", List.of("a %s storm is coming tonight", "expect %s rain tomorrow morning",
                    "the %s wind blew all day", "a %s heatwave hit the city"));
    private static final List<String> WORDS = List.of("big", "small", "new", "old", "local", "famous", "quiet",
            "busy", "strange", "early", "late", "cold", "warm", "green", "final");
    private static final Map<String, String> HELD_OUT = Map.of(
            "The goalkeeper made a brilliant save in extra time.", "sports",
            "Whisk the eggs and fold in the flour.", "cooking",
            "My keyboard stopped working after the driver update.", "computers",
            "Thunder and lightning kept us awake all night.", "weather");

    private static TestServer server;
    private static Http admin;
    private static OpenAIClient client;
    private static Http member;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("trainers");
        String key = tenants.key(tenant, "member").secret();
        member = admin.withKey(key);
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(key).build();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String dataset() {
        Random random = new Random(7);
        List<String> lines = new ArrayList<>();
        for (Map.Entry<String, List<String>> topic : TOPICS.entrySet()) {
            for (int i = 0; i < 100; i++) {
                String template = topic.getValue().get(random.nextInt(topic.getValue().size()));
                String text = template.formatted(WORDS.get(random.nextInt(WORDS.size())));
                lines.add("{\"text\": \"" + text + "\", \"label\": \"" + topic.getKey() + "\"}");
            }
        }
        java.util.Collections.shuffle(lines, random);
        return String.join("\n", lines) + "\n";
    }

    @Test
    void sdk_uploadTrainPoll_theFineTunedModelClassifies() throws Exception {
        FileObject file = client.files().create(FileCreateParams.builder()
                .file(dataset().getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build());
        FineTuningJob job = client.fineTuning().jobs().create(JobCreateParams.builder()
                .model("all-minilm-l6-v2").trainingFile(file.id()).suffix("topics").seed(11).build());
        assertThat(job.status()).isEqualTo(FineTuningJob.Status.VALIDATING_FILES);
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!List.of(FineTuningJob.Status.SUCCEEDED, FineTuningJob.Status.FAILED, FineTuningJob.Status.CANCELLED)
                .contains(job.status()) && System.nanoTime() < deadline) {
            Thread.sleep(200);
            job = client.fineTuning().jobs().retrieve(job.id());
        }
        assertThat(job.status()).as(member.get("/v1/fine_tuning/jobs/" + job.id() + "/events").text())
                .isEqualTo(FineTuningJob.Status.SUCCEEDED);
        String model = job.fineTunedModel().orElseThrow();
        assertThat(model).isEqualTo("topics:1");
        assertThat(client.fineTuning().jobs().list().data()).extracting(FineTuningJob::id).contains(job.id());

        List<FineTuningJobEvent> events = client.fineTuning().jobs().listEvents(job.id()).data();
        assertThat(events).extracting(FineTuningJobEvent::message)
                .anyMatch(message -> message.startsWith("Epoch 30/30"))
                .anyMatch(message -> message.contains("successfully completed"));
        List<FineTuningJobCheckpoint> checkpoints = client.fineTuning().jobs().checkpoints().list(job.id()).data();
        assertThat(checkpoints).hasSize(20);
        assertThat(checkpoints.getFirst().stepNumber()).isEqualTo(30);

        JsonNode retrieved = member.get("/v1/fine_tuning/jobs/" + job.id()).json();
        assertThat(retrieved.path("metrics").path("accuracy").asDouble()).isGreaterThanOrEqualTo(0.9);

        List<String> texts = new ArrayList<>(HELD_OUT.keySet());
        Http.Reply classified = member.postJson("/v1/classifications", Map.of("model", model, "input", texts));
        assertThat(classified.status()).as(classified.text()).isEqualTo(200);
        int right = 0;
        for (int i = 0; i < texts.size(); i++) {
            String top = classified.json().path("data").get(i).path("labels").get(0).path("label").asString();
            right += top.equals(HELD_OUT.get(texts.get(i))) ? 1 : 0;
        }
        assertThat(right).as(classified.text()).isGreaterThanOrEqualTo(3);
        JsonNode version = member.get("/admin/models/topics/versions/1").json();
        assertThat(version.toString()).contains("all-minilm-l6-v2:1");
        JsonNode lineage = version.path("lineage");
        assertThat(lineage.path("base_model").path("model").asString()).isEqualTo("all-minilm-l6-v2");
        assertThat(lineage.path("base_model").path("sha256").asString()).hasSize(64);
        assertThat(lineage.path("dataset").path("labels").asInt()).isEqualTo(TOPICS.size());
        assertThat(lineage.path("hyperparameters").path("n_epochs").asInt()).isEqualTo(30);

        // the version scored on a file through the serving path, as any version can be
        Http.Reply scored = member.postJson("/v1/evaluations", Map.of("model", "topics", "file", file.id()));
        assertThat(scored.status()).as(scored.text()).isEqualTo(200);
        assertThat(scored.json().path("model").asString()).isEqualTo("topics:1");
        assertThat(scored.json().path("metrics").path("accuracy").asDouble()).isGreaterThanOrEqualTo(0.9);
        assertThat(scored.json().path("metrics").path("validation_examples").asInt()).isEqualTo(100 * TOPICS.size());
        assertThat(scored.json().path("metrics").path("confusion_matrix").path("labels")).hasSize(TOPICS.size());
    }

    @Test
    void hyperparametersAuto_searchesTheHeadsHyperparameters() throws Exception {
        String file = member.uploadTrainingFile("topics.jsonl", dataset()).json().path("id").asString();
        Http.Reply created = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", file, "suffix", "searched-topics", "hyperparameters", "auto"));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        assertThat(created.json().path("hyperparameters").path("search").asString()).isEqualTo("auto");
        String id = created.json().path("id").asString();
        JsonNode job = member.awaitJobEnd(id, Duration.ofMinutes(2));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.path("leaderboard")).hasSize(10);
        assertThat(job.path("leaderboard").get(0).path("family").asString()).isEqualTo("softmax-head");
        assertThat(job.path("leaderboard").get(0).path("metric").asString()).isEqualTo("log_loss");
        assertThat(job.path("metrics").path("accuracy").asDouble()).isGreaterThanOrEqualTo(0.9);
        assertThat(job.path("metrics").path("log_loss").asDouble())
                .isEqualTo(job.path("leaderboard").get(0).path("value").asDouble());
    }

    @Test
    void badDataset_failsTheJobNamingTheLine() throws Exception {
        String one = "{\"text\": \"only one label here\", \"label\": \"a\"}\n".repeat(10);
        FileObject file = client.files().create(FileCreateParams.builder()
                .file(one.getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build());
        FineTuningJob job = client.fineTuning().jobs().create(JobCreateParams.builder()
                .model("all-minilm-l6-v2").trainingFile(file.id()).build());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (job.status() != FineTuningJob.Status.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(100);
            job = client.fineTuning().jobs().retrieve(job.id());
        }
        assertThat(job.status()).isEqualTo(FineTuningJob.Status.FAILED);
        assertThat(job.error().orElseThrow().message()).contains("label");
        assertThat(job.fineTunedModel()).isEmpty();

        // a zip (of image folders, say) is not a text dataset: said so, not "line 1 is not valid JSON"
        java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(zip)) {
            out.putNextEntry(new java.util.zip.ZipEntry("a/1.txt"));
            out.write("hello".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        Http.Reply uploaded = member.uploadTrainingFile("texts.zip", zip.toByteArray());
        assertThat(uploaded.status()).as(uploaded.text()).isEqualTo(200);
        Http.Reply created = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", uploaded.json().path("id").asString()));
        JsonNode zipped = member.awaitJobEnd(created.json().path("id").asString(), Duration.ofSeconds(30));
        assertThat(zipped.path("status").asString()).isEqualTo("failed");
        assertThat(zipped.path("error").path("message").asString()).contains("not a zip");
    }

    @Test
    void create_badRequests_are4xx() {
        Http.Reply missingFile = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", "file-000000000000000000000000"));
        assertThat(missingFile.status()).isEqualTo(404);
        Http.Reply notEmbedding = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", "x", "method", Map.of("type", "supervised")));
        assertThat(notEmbedding.status()).isEqualTo(400);
        Http.Reply unknown = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", "x", "colour", "red"));
        assertThat(unknown.status()).isEqualTo(400);
        Http.Reply badSuffix = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", "x", "suffix", "Not A Name!"));
        assertThat(badSuffix.status()).isEqualTo(400);
        assertThat(member.get("/v1/fine_tuning/jobs/ftjob-000000000000000000000000").status()).isEqualTo(404);
    }
}
