package dev.atrium.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * The cost of routing through a traffic split: a tabular model with two versions, one-row predictions one after
 * another, in rounds of 100 per variant — the plain alias, a 50/50 split drawn per request, the same split sticky
 * by user — so that all three see the same warm-up and the same machine. Prints p50 and p99 per variant.
 * Usage: {@code SplitBench URL ADMIN_KEY REQUESTS}.
 */
public final class SplitBench {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private SplitBench() {}

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String key = args[1];
        int requests = Integer.parseInt(args[2]);
        Random random = new Random(1);
        StringBuilder csv = new StringBuilder("x1,x2,y\n");
        for (int i = 0; i < 2000; i++) {
            double x1 = random.nextDouble();
            double x2 = random.nextDouble();
            csv.append(x1).append(',').append(x2).append(',').append(3 * x1 - x2 + random.nextGaussian() * 0.1)
                    .append('\n');
        }
        String boundary = "atrium-bench";
        byte[] form = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.csv\"\r\n\r\n"
                + csv + "\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        String file = send(key, HttpRequest.newBuilder(URI.create(url + "/v1/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(form))).path("id").asString();
        for (double l2 : List.of(0.001, 1.0)) {
            String job = send(key, json(url + "/v1/fine_tuning/jobs", "{\"model\": \"linear\", \"training_file\": \""
                    + file + "\", \"suffix\": \"routed\", \"method\": {\"type\": \"tabular-regression\"},"
                    + " \"hyperparameters\": {\"target\": \"y\", \"l2\": " + l2 + "}}")).path("id").asString();
            while (!send(key, HttpRequest.newBuilder(URI.create(url + "/v1/fine_tuning/jobs/" + job)).GET())
                    .path("status").asString().equals("succeeded")) {
                Thread.sleep(50);
            }
        }
        String[] variants = {"plain", "split", "sticky"};
        long[][] nanos = new long[3][requests];
        for (int from = 0; from < requests; from += 100) {
            for (int v = 0; v < 3; v++) {
                String alias = switch (v) {
                    case 0 -> "{\"version\": 1}";
                    case 1 -> "{\"split\": {\"1\": 50, \"2\": 50}}";
                    default -> "{\"split\": {\"1\": 50, \"2\": 50}, \"sticky\": \"user\"}";
                };
                send(key, HttpRequest.newBuilder(URI.create(url + "/admin/models/routed/aliases/production"))
                        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(alias)));
                for (int i = from; i < Math.min(requests, from + 100); i++) {
                    String body = "{\"model\": \"routed\", \"instances\": [{\"x1\": 0.5, \"x2\": 0.25}], \"user\":"
                            + " \"user-" + (i % 50) + "\"}";
                    long start = System.nanoTime();
                    send(key, json(url + "/v1/predictions", body));
                    nanos[v][i] = System.nanoTime() - start;
                }
            }
        }
        for (int v = 0; v < 3; v++) {
            long[] sorted = nanos[v].clone();
            Arrays.sort(sorted);
            System.out.printf("variant=%s requests=%d p50_us=%.0f p99_us=%.0f%n", variants[v], requests,
                    sorted[requests / 2] / 1e3, sorted[(int) (requests * 0.99)] / 1e3);
        }
    }

    private static HttpRequest.Builder json(String url, String body) {
        return HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static JsonNode send(String key, HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = HTTP.send(request.header("Authorization", "Bearer " + key).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(response.statusCode() + " " + response.body());
        }
        return JSON.readTree(response.body());
    }
}
