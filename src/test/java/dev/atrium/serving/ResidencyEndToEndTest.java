package dev.atrium.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.llama.LlamaNatives;
import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Six models (copies of the bundled MiniLM, the MobileNet image classifier from ../shared/models and, where
 * llama.cpp is here, a GGUF model) behind a memory budget that fits three of the largest, called in turn and at
 * once: every request is answered, the loaded memory stays within the budget at every look (and the process's
 * resident memory with it), a version with work in flight and a pinned one are never evicted, evictions and cold
 * starts are counted in {@code /metrics}, twenty load and evict cycles leave resident memory flat, and a
 * keep-alive unloads an idle version.
 *
 * <p>The budget is calibrated first: a server without one loads each model once and reads what each measured;
 * the server under test then runs over the same data directory with a budget of three MiniLMs and a half.
 */
class ResidencyEndToEndTest {
    private static final Path IMAGE_MODEL = Path.of("../shared/models/mobilenetv3-small-3class.onnx");
    private static final Path PHOTO = Path.of("../shared/models/images/meal_1.jpg");
    private static final Path GGUF = Path.of("../shared/models/random-15M-q8_0.gguf");
    private static final long MIB = 1 << 20;
    /** Models copied from MiniLM; the first is pinned. */
    private static final List<String> MINILMS = List.of("mini-1", "mini-2", "mini-3", "mini-4");
    private static TestServer server;
    private static Http admin;
    private static List<String> models;
    private static boolean gguf;
    private static long budget;
    private static long residentBefore;
    private static String photo;

    @BeforeAll
    static void start() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(IMAGE_MODEL) && Files.isRegularFile(PHOTO),
                "needs " + IMAGE_MODEL.toAbsolutePath().normalize().getParent() + " (the shared models)");
        photo = Base64.getEncoder().encodeToString(Files.readAllBytes(PHOTO));
        gguf = Files.isRegularFile(GGUF) && LlamaNatives.defaults().present();
        if (!gguf) {
            System.out.println("ResidencyEndToEndTest: the GGUF model is left out: it needs the llama.cpp libraries in "
                    + LlamaNatives.defaults().path() + " (scripts/llama-natives.sh) and " + GGUF);
        }
        Path data = TempDirectories.create("atrium-residency-");
        Map<String, Long> measured = new LinkedHashMap<>();
        try (TestServer calibration = TestServer.start(data, Map.of("preload", "none", "memory-budget", "none"),
                Map.of())) {
            Http http = calibration.http();
            upload(http, data);
            for (String model : models) {
                assertThat(call(http, model).status()).isEqualTo(200);
            }
            for (JsonNode version : http.get("/admin/loaded").json().path("data")) {
                measured.put(version.path("model").asString(), version.path("bytes").asLong());
            }
        }
        long minilm = MINILMS.stream().mapToLong(measured::get).max().orElseThrow();
        budget = minilm * 7 / 2;
        System.out.println("ResidencyEndToEndTest: loads measured " + measured.entrySet().stream()
                .map(entry -> entry.getKey() + " " + entry.getValue() / MIB + " MiB").toList() + "; budget "
                + budget / MIB + " MiB");
        assertThat(measured.keySet()).containsExactlyInAnyOrderElementsOf(models);
        System.gc();
        residentBefore = residentBytes();
        server = TestServer.start(data, Map.of("preload", "none", "memory-budget", Long.toString(budget)), Map.of());
        admin = server.http();
        Http.Reply pinned = admin.putJson("/admin/models/mini-1/residency", Map.of("pinned", true));
        assertThat(pinned.status()).as(pinned.toString()).isEqualTo(200);
        assertThat(pinned.json().path("pinned").asBoolean()).isTrue();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void upload(Http http, Path data) throws IOException {
        Path files = Files.createDirectories(data.resolve("upload"));
        Map<String, byte[]> minilm = Map.of("onnx", Files.readAllBytes(BundledFiles.onnx(files)), "tokenizer",
                Files.readAllBytes(BundledFiles.tokenizer(files)));
        List<String> all = new ArrayList<>(MINILMS);
        for (String name : MINILMS) {
            assertThat(http.postJson("/admin/models", Map.of("name", name, "task", "embedding")).status())
                    .isEqualTo(201);
            assertThat(http.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(minilm)).status()).isEqualTo(201);
        }
        assertThat(http.postJson("/admin/models", Map.of("name", "photos", "task", "image-classification"))
                .status()).isEqualTo(201);
        assertThat(http.upload("/admin/models/photos/versions", Map.of("onnx", IMAGE_MODEL)).status()).isEqualTo(201);
        all.add("photos");
        String sixth = gguf ? "tiny-llm" : "mini-5";
        if (gguf) {
            assertThat(http.postJson("/admin/models", Map.of("name", sixth, "task", "completion", "engine", "llama"))
                    .status()).isEqualTo(201);
            Http.Reply reply = http.post("/admin/models/" + sixth + "/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(Map.of("gguf", Files.readAllBytes(GGUF), "config",
                    "{\"slots\": 2, \"context_per_slot\": 256}".getBytes(StandardCharsets.UTF_8))));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        } else {
            assertThat(http.postJson("/admin/models", Map.of("name", sixth, "task", "embedding")).status())
                    .isEqualTo(201);
            assertThat(http.post("/admin/models/" + sixth + "/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(minilm)).status()).isEqualTo(201);
        }
        all.add(sixth);
        models = List.copyOf(all);
    }

    private static Http.Reply call(Http http, String model) {
        if (model.equals("photos")) {
            return http.postJson("/v1/classifications", Map.of("model", model, "input", List.of(photo)));
        }
        if (model.equals("tiny-llm")) {
            return http.postJson("/v1/completions", Map.of("model", model, "prompt", "Once upon a time",
                    "max_tokens", 8));
        }
        return http.postJson("/v1/embeddings", Map.of("model", model, "input", "a sentence for " + model));
    }

    /** One look at {@code /admin/loaded}: each loaded model's version as listed. */
    /**
     * Each test's resident memory is measured from its own start (after a collection): the tests before it in this
     * JVM grow the heap and the native allocator's pools, which no test's models account for.
     */
    @org.junit.jupiter.api.BeforeEach
    void measureFromHere() {
        System.gc();
        residentBefore = residentBytes();
    }

    private record Look(long loadedBytes, long resident, Map<String, JsonNode> versions) {}

    private static Look look() {
        JsonNode loaded = admin.get("/admin/loaded").json();
        Map<String, JsonNode> versions = new LinkedHashMap<>();
        for (JsonNode version : loaded.path("data")) {
            versions.put(version.path("model").asString(), version);
        }
        return new Look(loaded.path("loaded_bytes").asLong(), residentBytes(), versions);
    }

    /** Looks at {@code /admin/loaded} every 20 ms on a thread of its own until stopped. */
    private static final class Watcher implements AutoCloseable {
        final ConcurrentLinkedQueue<Look> looks = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread = Thread.ofVirtual().start(() -> {
            while (running.get()) {
                looks.add(look());
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
            looks.add(look());
        }
    }

    private static void assertWithinTheBudget(List<Look> looks) {
        assertThat(looks).isNotEmpty();
        long most = looks.stream().mapToLong(Look::loadedBytes).max().orElseThrow();
        long mostResident = looks.stream().mapToLong(Look::resident).max().orElseThrow();
        System.out.println("ResidencyEndToEndTest: " + looks.size() + " looks, loaded at most " + most / MIB
                + " MiB of " + budget / MIB + " MiB; resident at most " + (mostResident - residentBefore) / MIB
                + " MiB above the start");
        for (Look look : looks) {
            assertThat(look.loadedBytes()).as("loaded bytes at a look: " + look.versions().keySet())
                    .isLessThanOrEqualTo(budget);
        }
        // the process's resident memory: the budget's models, plus the Java heap's growth and the calibration's
        // leftovers, never six models' worth
        assertThat(mostResident - residentBefore).isLessThan(budget + 320 * MIB);
    }

    /** The pinned model, once loaded, is never evicted: one load, seen at every look after. */
    private static void assertPinnedStays(List<Look> looks) {
        String loadedAt = null;
        for (Look look : looks) {
            JsonNode pinned = look.versions().get("mini-1");
            if (loadedAt == null && pinned != null) {
                loadedAt = pinned.path("loaded_at").asString();
                assertThat(pinned.path("pinned").asBoolean()).isTrue();
            } else if (loadedAt != null) {
                assertThat(pinned).as("the pinned model at a look: " + look.versions().keySet()).isNotNull();
                assertThat(pinned.path("loaded_at").asString()).isEqualTo(loadedAt);
            }
        }
        assertThat(loadedAt).as("the pinned model was loaded").isNotNull();
    }

    @Test
    void sixModelsInTurnAndAtOnce_withABudgetForThree_stayWithinIt_andEvictNeitherBusyNorPinnedOnes()
            throws Exception {
        double evictionsBefore = counter("atrium_model_evictions_total", "reason", "budget");
        List<Look> looks = new ArrayList<>();
        try (Watcher watcher = new Watcher(); ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            // in turn
            for (String model : models) {
                Http.Reply reply = call(admin, model);
                assertThat(reply.status()).as(model + ": " + reply).isEqualTo(200);
            }
            // at once: every model called by two callers, two rounds
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (String model : models) {
                    for (int caller = 0; caller < 2; caller++) {
                        replies.add(callers.submit(() -> call(admin, model)));
                    }
                }
            }
            for (Future<Http.Reply> reply : replies) {
                assertThat(reply.get().status()).as(reply.get().toString()).isEqualTo(200);
            }
            watcher.close();
            looks.addAll(watcher.looks);
        }
        assertWithinTheBudget(looks);
        assertPinnedStays(looks);
        double evictions = counter("atrium_model_evictions_total", "reason", "budget") - evictionsBefore;
        assertThat(evictions).as("evictions to make room").isGreaterThanOrEqualTo(models.size());
        assertThat(counter("atrium_model_load_seconds_count", "kind", "onnx")).isGreaterThanOrEqualTo(8);
        if (gguf) {
            assertThat(counter("atrium_model_load_seconds_count", "kind", "llama")).isGreaterThanOrEqualTo(1);
        }
        Map<String, PrometheusText.Family> metrics = PrometheusText.parse(admin.get("/metrics").text());
        assertThat(metrics.get("atrium_model_memory_budget_bytes").samples().getFirst().value())
                .isEqualTo((double) budget);
    }

    /**
     * A long request (hundreds of paragraphs) on one model while the others are called in turn, which evicts to
     * make room each time: while it is in flight its version is never evicted (the same load at every look), and
     * it is answered whole.
     */
    @Test
    void aVersionWithARequestInFlight_isNeverEvicted() throws Exception {
        String busy = "mini-2";
        assertThat(call(admin, busy).status()).isEqualTo(200);
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            inputs.add(("paragraph " + i + " of a long request that keeps one model busy while the others come and go,"
                    + " ").repeat(6));
        }
        List<Look> looks = new ArrayList<>();
        Http.Reply longReply;
        try (Watcher watcher = new Watcher(); ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Http.Reply> pending = callers.submit(() -> admin.postJson("/v1/embeddings", Map.of("model", busy,
                    "input", inputs)));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            // wait for it to reach the model, then churn the others around it
            while (!pending.isDone() && inFlight(look(), busy) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            int calls = 0;
            while (!pending.isDone() && System.nanoTime() < deadline) {
                for (String model : models) {
                    if (!model.equals(busy)) {
                        assertThat(call(admin, model).status()).isEqualTo(200);
                        calls++;
                    }
                }
            }
            longReply = pending.get();
            watcher.close();
            looks.addAll(watcher.looks);
            System.out.println("ResidencyEndToEndTest: " + calls + " calls to the other models while " + busy
                    + " served " + inputs.size() + " paragraphs");
            assertThat(calls).as("the other models were called while the long request ran").isGreaterThan(3);
        }
        assertThat(longReply.status()).as(longReply.toString()).isEqualTo(200);
        assertThat(longReply.json().path("data").size()).isEqualTo(inputs.size());
        // every look from the first that saw it in flight to the last: the same load, never gone
        int first = -1;
        int last = -1;
        for (int i = 0; i < looks.size(); i++) {
            JsonNode version = looks.get(i).versions().get(busy);
            if (version != null && version.path("in_flight").asInt() > 0) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        assertThat(first).as("a look saw the long request in flight").isGreaterThanOrEqualTo(0);
        String loadedAt = looks.get(first).versions().get(busy).path("loaded_at").asString();
        for (Look look : looks.subList(first, last + 1)) {
            assertThat(look.versions()).as("loaded while in flight").containsKey(busy);
            assertThat(look.versions().get(busy).path("loaded_at").asString()).isEqualTo(loadedAt);
        }
        assertWithinTheBudget(looks);
    }

    /**
     * Twenty cycles of loading a version and evicting another: the unpinned models and three more MiniLMs called in
     * turn, more than the budget holds even at their files' sizes, so that (least recently used going first) each
     * call finds its model evicted and loads it. Resident memory (after a collection, so that the Java heap's own
     * growth is not counted) stays flat over twenty cycles after two more of warm-up: the last five cycles' mean
     * within 64 MiB of the first five's.
     */
    @Test
    void twentyLoadAndEvictCycles_leaveResidentMemoryFlat() throws IOException {
        Path files = TempDirectories.create("atrium-residency-cycle-");
        byte[] onnx = Files.readAllBytes(BundledFiles.onnx(files));
        byte[] tokenizer = Files.readAllBytes(BundledFiles.tokenizer(files));
        List<String> cycle = new ArrayList<>(models.stream().filter(model -> !model.equals("mini-1")).toList());
        for (String name : List.of("cycle-1", "cycle-2", "cycle-3")) {
            assertThat(admin.postJson("/admin/models", Map.of("name", name, "task", "embedding")).status())
                    .isEqualTo(201);
            assertThat(admin.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(Map.of("onnx", onnx, "tokenizer", tokenizer))).status())
                    .isEqualTo(201);
            cycle.add(name);
        }
        // warm-up: every model of the cycle loaded once (the uploads' own garbage collected by the first cycles)
        for (String model : cycle) {
            assertThat(call(admin, model).status()).isEqualTo(200);
        }
        double evictionsBefore = counter("atrium_model_evictions_total", "reason", "budget");
        double loadsBefore = loads();
        int loadedBefore = look().versions().size();
        List<Long> resident = new ArrayList<>();
        int calls = 0;
        while (resident.size() < 22 && calls < 44) {
            String model = cycle.get(calls++ % cycle.size());
            JsonNode before = look().versions().get(model);
            Http.Reply reply = call(admin, model);
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            JsonNode after = look().versions().get(model);
            if (after != null && (before == null || !before.path("loaded_at").equals(after.path("loaded_at")))) {
                System.gc();
                resident.add(residentBytes());
            }
        }
        assertThat(resident).as("cold starts in " + calls + " calls").hasSize(22);
        // every load beyond what the budget held was paid for by an eviction: the small models (the image classifier,
        // the GGUF) can share the room one MiniLM left, so not every load evicts, but none unloads otherwise
        double loadsDuring = loads() - loadsBefore;
        int loadedGrowth = look().versions().size() - loadedBefore;
        assertThat(loadsDuring).as("loads").isGreaterThanOrEqualTo(22);
        assertThat(counter("atrium_model_evictions_total", "reason", "budget") - evictionsBefore)
                .as("evictions after " + loadsDuring + " loads, the loaded set grown by " + loadedGrowth)
                .isEqualTo(loadsDuring - loadedGrowth)
                .isGreaterThanOrEqualTo(22.0 - cycle.size());
        resident = resident.subList(2, 22);
        long firstFive = resident.subList(0, 5).stream().mapToLong(Long::longValue).sum() / 5;
        long lastFive = resident.subList(15, 20).stream().mapToLong(Long::longValue).sum() / 5;
        System.out.println("ResidencyEndToEndTest: resident memory over 20 load/evict cycles (" + calls + " calls) "
                + resident.stream().map(bytes -> bytes / MIB).toList() + " MiB; the last five "
                + (lastFive - firstFive) / MIB + " MiB from the first five");
        assertThat(lastFive - firstFive).isLessThan(64 * MIB);
    }

    /** Eight requests at once to an unloaded version, ONNX and GGUF: one load serves them all. */
    @Test
    void concurrentRequestsToAnUnloadedVersion_shareOneLoad() throws Exception {
        for (String model : gguf ? List.of("mini-3", "tiny-llm") : List.of("mini-3")) {
            String kind = model.equals("tiny-llm") ? "llama" : "onnx";
            assertThat(admin.post("/admin/models/" + model + "/versions/1/unload", "application/json", new byte[0])
                    .status()).isEqualTo(200);
            double loadsBefore = counter("atrium_model_load_seconds_count", "kind", kind);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 8; i++) {
                    replies.add(callers.submit(() -> call(admin, model)));
                }
                for (Future<Http.Reply> reply : replies) {
                    assertThat(reply.get().status()).as(model + ": " + reply.get()).isEqualTo(200);
                }
            }
            assertThat(counter("atrium_model_load_seconds_count", "kind", kind) - loadsBefore).as(model)
                    .isEqualTo(1);
        }
    }

    @Test
    void keepAlive_expired_unloadsAnIdleVersion() throws Exception {
        Http.Reply set = admin.putJson("/admin/models/photos/residency", Map.of("keep_alive", 1));
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(set.json().path("keep_alive").asLong()).isEqualTo(1);
        double before = counter("atrium_model_evictions_total", "reason", "keep_alive");
        try {
            assertThat(call(admin, "photos").status()).isEqualTo(200);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (look().versions().containsKey("photos") && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(look().versions()).doesNotContainKey("photos");
            assertThat(counter("atrium_model_evictions_total", "reason", "keep_alive") - before).isEqualTo(1);
        } finally {
            assertThat(admin.putJson("/admin/models/photos/residency", Map.of()).status()).isEqualTo(200);
        }
    }

    /** A tenant's key sees its own loaded versions only; the platform's are not among them. */
    @Test
    void loaded_byATenantsKey_showsOnlyItsOwnModels() {
        assertThat(call(admin, "mini-1").status()).isEqualTo(200);
        dev.atrium.testing.Tenants tenants = new dev.atrium.testing.Tenants(admin);
        Http owner = admin.withKey(tenants.key(tenants.tenant("residents"), "owner").secret());
        JsonNode loaded = owner.get("/admin/loaded").json();
        assertThat(loaded.path("data").size()).isZero();
        assertThat(loaded.path("loaded_bytes").asLong()).isZero();
        assertThat(owner.putJson("/admin/models/mini-1/residency", Map.of("pinned", false)).status())
                .isEqualTo(403);
        assertThat(admin.get("/admin/loaded").json().path("data").toString()).contains("mini-1");
    }

    private static int inFlight(Look look, String model) {
        JsonNode version = look.versions().get(model);
        return version == null ? 0 : version.path("in_flight").asInt();
    }

    /** Loads of every kind so far. */
    private static double loads() {
        return counter("atrium_model_load_seconds_count", "kind", "onnx")
                + counter("atrium_model_load_seconds_count", "kind", "llama");
    }

    private static double counter(String name, String label, String value) {
        Map<String, PrometheusText.Family> metrics = PrometheusText.parse(admin.get("/metrics").text());
        double total = 0;
        for (PrometheusText.Family family : metrics.values()) {
            for (PrometheusText.Sample sample : family.samples()) {
                if (sample.name().equals(name) && value.equals(sample.labels().get(label))) {
                    total += sample.value();
                }
            }
        }
        return total;
    }

    /** The server under test runs in this process: its resident memory is this JVM's. */
    private static long residentBytes() {
        try {
            String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
            return Long.parseLong(statm[1]) * 4096;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
