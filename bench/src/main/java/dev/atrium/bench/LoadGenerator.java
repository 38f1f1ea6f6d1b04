package dev.atrium.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A closed-loop load generator for {@code POST /v1/embeddings}: CONCURRENCY virtual threads each send one
 * request after another for SECONDS (after a warm-up), recording every latency in an HdrHistogram. Prints one
 * line of key=value results; any non-200 answer is counted as an error.
 *
 * <p>Usage: {@code LoadGenerator URL MODEL CONCURRENCY SECONDS sentence|paragraph}, with the API key in
 * {@code ATRIUM_API_KEY}.
 */
public final class LoadGenerator {
    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0] + "/v1/embeddings");
        String model = args[1];
        int concurrency = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        List<String> texts = Texts.of(args[4]);
        List<byte[]> bodies = new ArrayList<>();
        for (String text : texts) {
            bodies.add(("{\"model\":\"" + model + "\",\"input\":\"" + text + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String key = System.getenv("ATRIUM_API_KEY");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        Recorder latencies = new Recorder(3);
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long warmupEnd = System.nanoTime() + 3_000_000_000L;
        long end = warmupEnd + seconds * 1_000_000_000L;
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            int offset = c;
            clients.add(Thread.ofVirtual().start(() -> {
                int next = offset;
                while (true) {
                    long start = System.nanoTime();
                    if (start >= end) {
                        return;
                    }
                    HttpRequest request = HttpRequest.newBuilder(url)
                            .header("Content-Type", "application/json")
                            .header("Authorization", "Bearer " + key)
                            .POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(next++ % bodies.size())))
                            .timeout(Duration.ofSeconds(60))
                            .build();
                    int status;
                    try {
                        status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                    } catch (Exception e) {
                        status = -1;
                    }
                    long now = System.nanoTime();
                    if (start >= warmupEnd) {
                        if (status == 200) {
                            latencies.recordValue(now - start);
                            ok.incrementAndGet();
                        } else {
                            errors.incrementAndGet();
                        }
                    }
                }
            }));
        }
        for (Thread thread : clients) {
            thread.join();
        }
        Histogram histogram = latencies.getIntervalHistogram();
        System.out.printf("concurrency=%d requests_per_s=%.1f errors=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f%n",
                concurrency, ok.get() / (double) seconds, errors.get(),
                histogram.getValueAtPercentile(50) / 1e6, histogram.getValueAtPercentile(90) / 1e6,
                histogram.getValueAtPercentile(99) / 1e6, histogram.getValueAtPercentile(99.9) / 1e6);
    }
}
