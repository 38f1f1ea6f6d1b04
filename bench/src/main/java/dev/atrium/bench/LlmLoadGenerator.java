package dev.atrium.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;

/**
 * Streams generations from the server's {@code /v1/completions}: STREAMS at once, ROUNDS rounds, each of at most
 * MAX_TOKENS tokens (one text event per token). Prints tokens/s over all streams and time to first token; the
 * API key comes from {@code ATRIUM_API_KEY}.
 *
 * <p>Usage: {@code LlmLoadGenerator URL MODEL STREAMS MAX_TOKENS ROUNDS [EXTRA_FIELDS [PREFIX_WORDS shared|unshared]]},
 * EXTRA_FIELDS being JSON members added to every body (a peer's own sampling switches, e.g.
 * {@code "top_k":0,"min_p":0} for llama-server, whose defaults otherwise differ from OpenAI's); PREFIX_WORDS words
 * of a fixed system text go before every prompt ({@code shared}: the same start for all, which a prompt cache can
 * reuse) or after its own first words ({@code unshared}: the same length, nothing to reuse).
 */
public final class LlmLoadGenerator {
    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0] + "/v1/completions");
        String model = args[1];
        int streams = Integer.parseInt(args[2]);
        int maxTokens = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        String extra = args.length > 5 && !args[5].isBlank() ? "," + args[5] : "";
        int prefixWords = args.length > 6 ? Integer.parseInt(args[6]) : 0;
        boolean shared = args.length <= 7 || args[7].equals("shared");
        String prefix = prefixWords == 0 ? "" : String.join(" ", java.util.Collections.nCopies(prefixWords / 10,
                "You are a careful storyteller who writes for children every day.")) + " ";
        String key = System.getenv("ATRIUM_API_KEY");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Recorder ttft = new Recorder(3);
        AtomicLong tokens = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long start = 0;
        for (int round = -1; round < rounds; round++) {
                if (round == 0) {
                    // round -1 warmed up (JIT, connections, llama.cpp's first batches): measure from here
                    ttft.reset();
                    tokens.set(0);
                    start = System.nanoTime();
                }
            List<Thread> threads = new ArrayList<>();
            for (int s = 0; s < streams; s++) {
                int n = (round + 1) * streams + s;
                threads.add(Thread.ofVirtual().start(() -> {
                    String story = "Story " + n + ": ";
                    String prompt = shared ? prefix + story + "once upon a time" : story + prefix + "once upon a time";
                    String body = "{\"model\":\"" + model + "\",\"prompt\":\"" + prompt + "\","
                            + "\"max_tokens\":" + maxTokens + ",\"temperature\":0.8,\"top_p\":1,\"seed\":" + n + ",\"stream\":true"
                            + extra + "}";
                    HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(5))
                            .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    long began = System.nanoTime();
                    try {
                        HttpResponse<java.io.InputStream> response = client.send(request,
                                HttpResponse.BodyHandlers.ofInputStream());
                        if (response.statusCode() != 200) {
                            errors.incrementAndGet();
                            response.body().close();
                            return;
                        }
                        boolean first = true;
                        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(),
                                StandardCharsets.UTF_8))) {
                            String line;
                            while ((line = lines.readLine()) != null) {
                                if (line.startsWith("data: {") && line.contains("\"text\":\"") && !line.contains("\"text\":\"\"")) {
                                    if (first) {
                                        ttft.recordValue(System.nanoTime() - began);
                                        first = false;
                                    }
                                    tokens.incrementAndGet();
                                }
                            }
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }));
            }
            for (Thread thread : threads) {
                thread.join();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        var histogram = ttft.getIntervalHistogram();
        System.out.printf("streams=%d tokens_per_s=%.1f ttft_p50_ms=%.2f ttft_p99_ms=%.2f tokens=%d errors=%d%n", streams,
                tokens.get() / seconds, histogram.getValueAtPercentile(50) / 1e6,
                histogram.getValueAtPercentile(99) / 1e6, tokens.get(), errors.get());
    }
}
