package dev.atrium.training;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.registry.ModelScope;
import dev.atrium.testing.Http;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Text-classification jobs on a real server with the bundled all-MiniLM-L6-v2: a second job on the same file and
 * embedding model version takes its embeddings from the cache (its events say so, and the model's engine runs no
 * batch for it) and trains the very same head; another file, a new version of the model, a model uploaded again
 * under its name, or another tenant with identical bytes miss; deleting the file erases the entry and its blob; a
 * corrupt blob is embedded again.
 */
class EmbeddingCacheEndToEndTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static final int TEXTS = 60;
    private static final String EMBEDDED = "Embedding " + TEXTS + " texts with ";
    private static final String CACHED = "Embeddings of " + TEXTS + " texts taken from the cache";
    private static final Map<String, List<String>> TOPICS = new LinkedHashMap<>();
    private static final List<String> WORDS = List.of("big", "small", "new", "old", "local", "famous", "quiet",
            "busy", "strange", "early", "late", "cold", "warm", "green", "final");

    static {
        TOPICS.put("sports", List.of("the team won the %s match", "the striker scored in the %s game"));
        TOPICS.put("cooking", List.of("simmer the %s sauce slowly", "bake the %s bread until golden"));
        TOPICS.put("computers", List.of("the %s laptop needs more memory", "the %s server crashed overnight"));
        TOPICS.put("weather", List.of("a %s storm is coming tonight", "expect %s rain tomorrow morning"));
    }

    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A job as it ended: its status, its result and its events' messages, oldest first. */
    private record Job(String id, String status, String model, List<String> events) {}

    @Test
    void secondJob_onTheSameFileAndModel_takesTheEmbeddingsFromTheCache_andTrainsTheSameHead() {
        String tenant = tenant("again");
        Http member = member(tenant);
        String file = upload(member, "topics.jsonl", dataset(1));
        double before = embeddedRows(MODEL + ":1");

        Job first = train(member, MODEL, file, "topics");
        double afterFirst = embeddedRows(MODEL + ":1");
        assertThat(first.events()).contains(EMBEDDED + MODEL).doesNotContain(CACHED);
        assertThat(afterFirst - before).isGreaterThanOrEqualTo(TEXTS);
        assertThat(cache().entries(tenant)).singleElement().satisfies(entry -> {
            assertThat(entry.modelVersion()).isEqualTo(MODEL + ":1");
            assertThat(entry.modelSha256()).isEqualTo(server.atrium().registry().resolve(ModelScope.PLATFORM, MODEL)
                    .version().artifact().sha256());
            assertThat(entry.fileSha256()).isEqualTo(server.atrium().trainingFiles().get(tenant, file).sha256());
            assertThat(entry.rows()).isEqualTo(TEXTS);
            assertThat(entry.dimension()).isEqualTo(384);
        });

        Job second = train(member, MODEL, file, "topics");
        assertThat(second.events()).contains(CACHED).noneMatch(message -> message.startsWith("Embedding "));
        assertThat(embeddedRows(MODEL + ":1")).as("rows the embedding model ran for the second job")
                .isEqualTo(afterFirst);
        assertThat(second.model()).isEqualTo("topics:2");
        assertThat(headSha256(tenant, "topics:2")).isEqualTo(headSha256(tenant, "topics:1"));

        server.restart(); // as a job that goes on after a crash finds it
        admin = server.http();
        tenants = new Tenants(admin);
        Job third = train(member(tenant), MODEL, file, "topics");
        assertThat(third.events()).contains(CACHED);
        assertThat(headSha256(tenant, "topics:3")).isEqualTo(headSha256(tenant, "topics:1"));
    }

    @Test
    void anotherFile_aNewVersionOfTheModel_orTheModelUploadedAgainUnderItsName_miss() throws IOException {
        String tenant = tenant("misses");
        Http member = member(tenant);
        String file = upload(member, "topics.jsonl", dataset(2));
        String other = upload(member, "other.jsonl", dataset(3));
        assertThat(train(member, MODEL, file, "topics").events()).contains(EMBEDDED + MODEL);

        assertThat(train(member, MODEL, other, "topics").events()).as("another file").contains(EMBEDDED + MODEL);

        String copy = "minilm-copy-" + UUID.randomUUID().toString().substring(0, 8);
        assertThat(admin.postJson("/admin/models", Map.of("name", copy, "task", "embedding")).status())
                .isEqualTo(201);
        uploadVersion(copy, "/all-minilm-l6-v2-q.onnx", "/all-minilm-l6-v2-q-tokenizer.json");
        assertThat(train(member, copy, file, "copied").events()).contains(EMBEDDED + copy);
        uploadVersion(copy, "/all-minilm-l6-v2-q.onnx", "/all-minilm-l6-v2-q-tokenizer.json");
        assertThat(train(member, copy, file, "copied").events()).as("version 2, the same files")
                .contains(EMBEDDED + copy);
        assertThat(train(member, copy + ":1", file, "copied").events()).as("version 1 again").contains(CACHED);

        assertThat(admin.delete("/admin/models/" + copy).status()).isEqualTo(204);
        assertThat(admin.postJson("/admin/models", Map.of("name", copy, "task", "embedding")).status())
                .isEqualTo(201);
        uploadVersion(copy, "/bge-small-en-v1.5-q.onnx", "/bge-small-en-v1.5-q-tokenizer.json");
        assertThat(train(member, copy + ":1", file, "copied").events()).as("another model as version 1")
                .contains(EMBEDDED + copy + ":1");

        assertThat(cache().entries(tenant)).as("an entry for each miss").hasSize(5)
                .extracting(entry -> entry.modelVersion() + " " + entry.modelSha256() + " " + entry.fileSha256())
                .doesNotHaveDuplicates();
    }

    @Test
    void anotherTenant_uploadingIdenticalBytes_misses_andKeepsAnEntryOfItsOwn() {
        String mine = tenant("mine");
        String theirs = tenant("theirs");
        Http me = member(mine);
        Http them = member(theirs);
        String myFile = upload(me, "topics.jsonl", dataset(4));
        String theirFile = upload(them, "topics.jsonl", dataset(4));
        assertThat(train(me, MODEL, myFile, "topics").events()).contains(EMBEDDED + MODEL);

        assertThat(train(them, MODEL, theirFile, "topics").events()).contains(EMBEDDED + MODEL)
                .doesNotContain(CACHED);

        EmbeddingCache.Entry myEntry = cache().entries(mine).getFirst();
        EmbeddingCache.Entry theirEntry = cache().entries(theirs).getFirst();
        assertThat(theirEntry.fileSha256()).isEqualTo(myEntry.fileSha256());
        assertThat(theirEntry.blob()).isNotEqualTo(myEntry.blob());
        assertThat(train(them, MODEL, theirFile, "topics").events()).contains(CACHED);
    }

    @Test
    void deletingTheFile_removesItsEntryAndItsBlobFromDisk_onceNoOtherFileHasTheBytes() {
        String tenant = tenant("erasure");
        Http member = member(tenant);
        String file = upload(member, "topics.jsonl", dataset(5));
        String copy = upload(member, "copy.jsonl", dataset(5));
        train(member, MODEL, file, "topics");
        Path blob = blobPath(tenant, cache().entries(tenant).getFirst().blob());
        assertThat(blob).isRegularFile();

        assertThat(member.delete("/v1/files/" + file).status()).isEqualTo(200);
        assertThat(train(member, MODEL, copy, "topics").events()).as("the same bytes, in another file")
                .contains(CACHED);

        assertThat(member.delete("/v1/files/" + copy).status()).isEqualTo(200);
        assertThat(cache().entries(tenant)).isEmpty();
        assertThat(blob).doesNotExist();
    }

    @Test
    void aCorruptBlob_isNotUsed_andTheTextsAreEmbeddedAgain() throws IOException {
        String tenant = tenant("corrupt");
        Http member = member(tenant);
        String file = upload(member, "topics.jsonl", dataset(6));
        train(member, MODEL, file, "topics");
        Path blob = blobPath(tenant, cache().entries(tenant).getFirst().blob());
        byte[] bytes = Files.readAllBytes(blob);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(blob, bytes);

        Job again = train(member, MODEL, file, "topics");

        assertThat(again.events()).contains(EMBEDDED + MODEL).doesNotContain(CACHED);
        assertThat(blob).doesNotExist();
        assertThat(cache().entries(tenant)).hasSize(1);
        assertThat(train(member, MODEL, file, "topics").events()).contains(CACHED);
        assertThat(headSha256(tenant, "topics:3")).isEqualTo(headSha256(tenant, "topics:2"));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Fifteen sentences per topic, made from templates drawn by the seed: another seed, other bytes. */
    private static String dataset(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < TEXTS; i++) {
            Map.Entry<String, List<String>> topic = new ArrayList<>(TOPICS.entrySet()).get(i % TOPICS.size());
            String text = topic.getValue().get(random.nextInt(topic.getValue().size()))
                    .formatted(WORDS.get(random.nextInt(WORDS.size())));
            lines.append("{\"text\": \"").append(text).append("\", \"label\": \"").append(topic.getKey())
                    .append("\"}\n");
        }
        return lines.toString();
    }

    private static String tenant(String name) {
        return tenants.tenant(name + "-" + UUID.randomUUID().toString().substring(0, 8));
    }

    private static Http member(String tenant) {
        return server.http().withKey(tenants.key(tenant, "member").secret());
    }

    private static EmbeddingCache cache() {
        return server.atrium().trainingFiles().embeddings();
    }

    private static Path blobPath(String tenant, String blob) {
        return server.dataDir().resolve("tenant-files").resolve(tenant).resolve(blob);
    }

    private static String upload(Http member, String filename, String content) {
        String boundary = "--" + Http.BOUNDARY + "\r\n";
        byte[] body = (boundary + "Content-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                + boundary + "Content-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + Http.BOUNDARY + "--\r\n")
                .getBytes(UTF_8);
        Http.Reply reply = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY, body);
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return reply.json().path("id").asString();
    }

    /** Trains a classifier of the file over the embedding model, a few epochs with seed 7, to its end. */
    private static Job train(Http member, String model, String file, String suffix) {
        Http.Reply created = member.postJson("/v1/fine_tuning/jobs", Map.of("model", model, "training_file", file,
                "suffix", suffix, "seed", 7, "hyperparameters", Map.of("n_epochs", 5)));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        String id = created.json().path("id").asString();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        JsonNode job = created.json();
        while (!List.of("succeeded", "failed", "cancelled").contains(job.path("status").asString())
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            job = member.get("/v1/fine_tuning/jobs/" + id).json();
        }
        List<String> events = new ArrayList<>();
        member.get("/v1/fine_tuning/jobs/" + id + "/events?limit=100").json().path("data")
                .forEach(event -> events.addFirst(event.path("message").asString()));
        assertThat(job.path("status").asString()).as(String.join("\n", events)).isEqualTo("succeeded");
        return new Job(id, job.path("status").asString(), job.path("fine_tuned_model").asString(), events);
    }

    private static void uploadVersion(String name, String onnx, String tokenizer) throws IOException {
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", resource(onnx));
        parts.put("tokenizer", resource(tokenizer));
        parts.put("config", "{\"pooling\": \"mean\", \"normalize\": true, \"max_length\": 256}".getBytes(UTF_8));
        Http.Reply reply = admin.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(reply.status()).as(reply.text()).isEqualTo(201);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = EmbeddingCacheEndToEndTest.class.getResourceAsStream(name)) {
            assertThat(in).as("resource " + name).isNotNull();
            return in.readAllBytes();
        }
    }

    /** Rows the embedding model version's engine has run in batches since it loaded. */
    private static double embeddedRows(String version) {
        Map<String, PrometheusText.Family> metrics = PrometheusText.parse(admin.get("/metrics").text());
        PrometheusText.Family sizes = metrics.get("atrium_model_batch_size");
        if (sizes == null) {
            return 0;
        }
        return sizes.samples().stream()
                .filter(sample -> sample.name().equals("atrium_model_batch_size_sum")
                        && version.equals(sample.labels().get("model")))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }

    private static String headSha256(String tenant, String reference) {
        return server.atrium().registry().resolve(new ModelScope(tenant, name -> true), reference).version()
                .artifact().sha256();
    }
}
