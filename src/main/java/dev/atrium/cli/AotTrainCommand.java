package dev.atrium.cli;

import dev.atrium.Atrium;
import dev.atrium.config.ServerConfigLoader;
import dev.atrium.registry.BundledModel;
import dev.atrium.tenancy.AdminKeyBootstrap;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code atrium aot-train}: the training run of the JVM's AOT cache (JDK 25, JEP 483/514/515). Run under
 * {@code -XX:AOTCacheOutput=FILE}, it starts a server on a throwaway data directory and a loopback port, serves it
 * the hot path's load (one-sentence embeddings, {@code float} and {@code base64}, 32 callers at once) and a few
 * other calls, then exits; the JVM writes into the cache the classes it loaded and the method profiles it
 * gathered, so that a server started with {@code -XX:AOTCache=FILE} links no class at its start and compiles its
 * serving path from those profiles, without profiling it first. {@code ./atrium} runs it once per build.
 */
@Command(name = "aot-train",
        mixinStandardHelpOptions = true,
        description = {"Serve a representative load to a throwaway server, for the JVM's AOT cache to record.",
                "Run as java -XX:AOTCacheOutput=FILE -jar atrium.jar aot-train (./atrium does, once per build)."})
final class AotTrainCommand implements Callable<Integer> {
    private static final int CALLERS = 32;
    private static final String[] SUBJECTS = {"The quarterly report", "A small red bicycle", "Our support team",
        "The new embedding model", "Every tenant's invoice", "The river near the old mill", "A cup of green tea",
        "The night train to Vienna"};
    private static final String[] PREDICATES = {"arrived two days later than anyone expected",
        "was left outside in the rain all weekend", "answers most questions within an hour",
        "turns short sentences into vectors of numbers", "lists every request with its exact price",
        "floods the meadow each spring after the snow melts", "tastes best when the water is not boiling",
        "leaves at ten and crosses three borders before dawn"};

    @Spec
    CommandSpec spec;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "20",
            description = "seconds of load (default ${DEFAULT-VALUE}: about as long as the JIT takes to compile the"
                    + " serving path on 2 cores)")
    int seconds;

    @Override
    public Integer call() throws Exception {
        if (seconds < 1 || seconds > 600) {
            spec.commandLine().getErr().println("atrium: --seconds must be between 1 and 600");
            return 2;
        }
        Path data = Files.createTempDirectory("atrium-aot-train");
        try (Atrium atrium = Atrium.start(ServerConfigLoader.load(Map.of("data-dir", data.toString(), "port", "0",
                "bind", "127.0.0.1", "default-rpm", "1000000000", "default-tpm", "1000000000"), Map.of()))) {
            String key = Files.readString(data.resolve(AdminKeyBootstrap.FILE_NAME)).strip();
            Load load = new Load("http://127.0.0.1:" + atrium.port(), key);
            load.others();
            long answered = load.embeddings(Duration.ofSeconds(seconds));
            spec.commandLine().getErr().printf("atrium: aot-train served %d embedding requests in %d s%n", answered,
                    seconds);
            return answered > 0 ? 0 : 1;
        } finally {
            RunCommand.deleteTree(data);
        }
    }

    /** The training load: plain HTTP/1.1 calls, as a client sends them. */
    private record Load(String base, String key, HttpClient client) {
        Load(String base, String key) {
            this(base, key, HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build());
        }

        /** Embeddings from {@link #CALLERS} callers at once until the time is up; the answers that were 200. */
        long embeddings(Duration time) throws InterruptedException {
            long end = System.nanoTime() + time.toNanos();
            AtomicLong answered = new AtomicLong();
            List<Thread> callers = new ArrayList<>();
            for (int c = 0; c < CALLERS; c++) {
                int caller = c;
                callers.add(Thread.ofVirtual().start(() -> {
                    for (int i = caller; System.nanoTime() < end; i += CALLERS) {
                        String sentence = SUBJECTS[i % SUBJECTS.length] + " "
                                + PREDICATES[(i / SUBJECTS.length) % PREDICATES.length] + ".";
                        String encoding = (i / 7) % 2 == 0 ? "float" : "base64";
                        String body = "{\"model\":\"" + BundledModel.NAME + "\",\"input\":\"" + sentence
                                + "\",\"encoding_format\":\"" + encoding + "\"}";
                        if (send("POST", "/v1/embeddings", body) == 200) {
                            answered.incrementAndGet();
                        }
                    }
                }));
            }
            for (Thread caller : callers) {
                caller.join();
            }
            return answered.get();
        }

        /** A few calls beside the hot path: the model list, a refused body, a v2 model's metadata. */
        void others() {
            for (int i = 0; i < 50; i++) {
                send("GET", "/v1/models", null);
                send("POST", "/v1/embeddings", "{\"model\":\"" + BundledModel.NAME + "\"}");
                send("GET", "/v2/models/" + BundledModel.NAME, null);
            }
        }

        /** One call; its status, or -1 when it was not answered. */
        int send(String method, String path, String body) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                    .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(30));
            if (body == null) {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                request.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(body));
            }
            try {
                return client.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
    }
}
