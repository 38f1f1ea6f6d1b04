package dev.atrium.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A load generator for {@code POST /v1/embeddings}, recording every latency in an HdrHistogram, after a 3 s
 * warm-up. Two modes:
 * <ul>
 *   <li>{@code closed}: LOAD virtual threads each send one request after another (throughput at a concurrency);
 *   <li>{@code open}: requests start at a fixed rate of LOAD per second, each on its own virtual thread, whatever
 *       the answers; latency counts from when a request was due, not when it was sent, so a server that falls
 *       behind shows it (no coordinated omission).
 * </ul>
 * Prints one line of key=value results: 200s per second, answers refused (429/503) and errors (anything else).
 *
 * <p>Usage: {@code LoadGenerator URL MODEL closed|open LOAD SECONDS sentence|paragraph|sentence*8}, with the API
 * key in {@code ATRIUM_API_KEY} ({@code sentence*8} sends eight sentences in each request).
 */
public final class LoadGenerator {
    private static final long WARMUP_NANOS = 3_000_000_000L;

    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0] + "/v1/embeddings");
        String model = args[1];
        boolean open = args[2].equals("open");
        double load = Double.parseDouble(args[3]);
        int seconds = Integer.parseInt(args[4]);
        // "sentence" or "paragraph": one input per request; "sentence*8": the eight sentences in one request
        boolean grouped = args[5].endsWith("*8");
        List<String> texts = Texts.of(grouped ? args[5].substring(0, args[5].length() - 2) : args[5]);
        List<byte[]> bodies = new ArrayList<>();
        if (grouped) {
            bodies.add(("{\"model\":\"" + model + "\",\"input\":[\"" + String.join("\",\"", texts.subList(0, 8))
                    + "\"]}").getBytes(StandardCharsets.UTF_8));
        }
        for (String text : grouped ? List.<String>of() : texts) {
            bodies.add(("{\"model\":\"" + model + "\",\"input\":\"" + text + "\"}").getBytes(StandardCharsets.UTF_8));
        }
        String key = System.getenv("ATRIUM_API_KEY");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        Recorder latencies = new Recorder(3);
        AtomicLong ok = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long warmupEnd = System.nanoTime() + WARMUP_NANOS;
        long end = warmupEnd + seconds * 1_000_000_000L;
        Call call = (body, due) -> {
            HttpRequest request = HttpRequest.newBuilder(url)
                    .header("Content-Type", "application/json")
                    .header("Authorization", "Bearer " + key)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .timeout(Duration.ofSeconds(60))
                    .build();
            int status;
            try {
                status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (Exception e) {
                status = -1;
            }
            long now = System.nanoTime();
            if (due >= warmupEnd && due < end) {
                if (status == 200) {
                    latencies.recordValue(now - due);
                    ok.incrementAndGet();
                } else if (status == 429 || status == 503) {
                    refused.incrementAndGet();
                } else {
                    errors.incrementAndGet();
                }
            }
        };
        List<Thread> threads = new ArrayList<>();
        if (open) {
            long interval = (long) (1e9 / load);
            long next = System.nanoTime();
            int n = 0;
            while (next < end) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                byte[] body = bodies.get(n++ % bodies.size());
                long due = next;
                threads.add(Thread.ofVirtual().start(() -> call.send(body, due)));
                next += interval;
            }
        } else {
            for (int c = 0; c < (int) load; c++) {
                int offset = c;
                threads.add(Thread.ofVirtual().start(() -> {
                    int next = offset;
                    while (true) {
                        long start = System.nanoTime();
                        if (start >= end) {
                            return;
                        }
                        call.send(bodies.get(next++ % bodies.size()), start);
                    }
                }));
            }
        }
        for (Thread thread : threads) {
            thread.join();
        }
        Histogram histogram = latencies.getIntervalHistogram();
        System.out.printf("mode=%s load=%s requests_per_s=%.1f refused=%d errors=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f"
                        + " p999_ms=%.2f%n", open ? "open" : "closed", args[3], ok.get() / (double) seconds,
                refused.get(), errors.get(), histogram.getValueAtPercentile(50) / 1e6,
                histogram.getValueAtPercentile(90) / 1e6, histogram.getValueAtPercentile(99) / 1e6,
                histogram.getValueAtPercentile(99.9) / 1e6);
    }

    @FunctionalInterface
    private interface Call {
        void send(byte[] body, long due);
    }
}
