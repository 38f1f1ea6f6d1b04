package dev.atrium.bench;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Training throughput through the server: for each trainer, a dataset uploaded to {@code /v1/files} and a job run
 * from its creation to {@code succeeded}, timed by the client (validation, embedding or preprocessing, training,
 * evaluation and publishing included). Prints one key=value line per trainer: rows, seconds, rows per second.
 * Usage: {@code TrainBench URL KEY}.
 */
public final class TrainBench {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private TrainBench() {}

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String key = args[1];
        Random random = new Random(1);

        StringBuilder text = new StringBuilder();
        List<String> topics = List.of("football match goal striker team", "bread oven flour dough butter",
                "laptop software bug code server", "rain storm wind cloud thunder");
        List<String> labels = List.of("sports", "baking", "computing", "weather");
        int textRows = 2000;
        for (int i = 0; i < textRows; i++) {
            String[] words = topics.get(i % 4).split(" ");
            text.append("{\"text\": \"the ").append(words[random.nextInt(5)]).append(" near the ")
                    .append(words[random.nextInt(5)]).append(" today\", \"label\": \"").append(labels.get(i % 4))
                    .append("\"}\n");
        }
        run(url, key, "text-classification", "all-minilm-l6-v2", "text.jsonl", text.toString(), textRows, "{}");

        StringBuilder csv = new StringBuilder("x1,x2,colour,y\n");
        int tabularRows = 20_000;
        List<String> colours = List.of("red", "green", "blue");
        for (int i = 0; i < tabularRows; i++) {
            double x1 = random.nextDouble() * 6 - 3;
            double x2 = random.nextDouble() * 4 - 2;
            String colour = colours.get(random.nextInt(3));
            double y = 3 * Math.sin(x1) + x2 * x2 / 4 + (colour.equals("red") ? 2 : 0) + random.nextGaussian() * 0.5;
            csv.append(x1).append(',').append(x2).append(',').append(colour).append(',').append(y).append('\n');
        }
        run(url, key, "tabular-regression", "gradient-boosted-trees", "rows.csv", csv.toString(), tabularRows,
                "{\"target\": \"y\"}");
        run(url, key, "tabular-regression", "linear", "rows.csv", csv.toString(), tabularRows, "{\"target\": \"y\"}");
        // AutoML over both families: a random search of 10 configurations, and successive halving of 27
        run(url, key, "tabular-regression", "auto", "rows.csv", csv.toString(), tabularRows,
                "{\"target\": \"y\", \"search\": {\"max_trials\": 10}}");
        run(url, key, "tabular-regression", "auto", "rows.csv", csv.toString(), tabularRows,
                "{\"target\": \"y\", \"search\": {\"strategy\": \"successive_halving\", \"max_trials\": 27}}");
        run(url, key, "text-classification", "all-minilm-l6-v2", "text.jsonl", text.toString(), textRows,
                "{\"search\": {\"max_trials\": 6}}");

        Path mnist = Path.of("/usr/share/datasets/fashion-mnist");
        if (Files.exists(mnist)) {
            int imageRows = 10_000;
            StringBuilder images = new StringBuilder();
            try (DataInputStream pixels = new DataInputStream(new GZIPInputStream(Files.newInputStream(
                    mnist.resolve("train-images-idx3-ubyte.gz"))));
                    InputStream classes = new GZIPInputStream(Files.newInputStream(
                            mnist.resolve("train-labels-idx1-ubyte.gz")))) {
                pixels.readNBytes(16);
                classes.readNBytes(8);
                for (int i = 0; i < imageRows; i++) {
                    BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
                    image.getRaster().setDataElements(0, 0, 28, 28, pixels.readNBytes(784));
                    ByteArrayOutputStream png = new ByteArrayOutputStream();
                    ImageIO.write(image, "png", png);
                    images.append("{\"image\": \"").append(Base64.getEncoder().encodeToString(png.toByteArray()))
                            .append("\", \"label\": \"c").append(classes.read()).append("\"}\n");
                }
            }
            run(url, key, "image-classification", "linear", "images.jsonl", images.toString(), imageRows, "{}");
        }
    }

    private static void run(String url, String key, String method, String model, String filename, String content,
            int rows, String hyperparameters) throws Exception {
        String boundary = "atrium-bench";
        byte[] form = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n\r\n"
                + content + "\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        JsonNode file = send(HttpRequest.newBuilder(URI.create(url + "/v1/files")).header("Authorization", "Bearer " + key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(form)).build());
        String body = "{\"model\": \"" + model + "\", \"training_file\": \"" + file.path("id").asString()
                + "\", \"method\": {\"type\": \"" + method + "\"}, \"seed\": 1, \"hyperparameters\": " + hyperparameters
                + ", \"suffix\": \"bench-" + method + "-" + model + "\"}";
        long start = System.nanoTime();
        JsonNode job = send(HttpRequest.newBuilder(URI.create(url + "/v1/fine_tuning/jobs"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        String id = job.path("id").asString();
        while (!List.of("succeeded", "failed", "cancelled").contains(job.path("status").asString())) {
            Thread.sleep(50);
            job = send(HttpRequest.newBuilder(URI.create(url + "/v1/fine_tuning/jobs/" + id))
                    .header("Authorization", "Bearer " + key).GET().build());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonNode metrics = job.path("metrics").deepCopy();
        if (metrics.isObject()) {
            ((tools.jackson.databind.node.ObjectNode) metrics).remove("confusion_matrix");
        }
        String search = "";
        JsonNode board = job.path("leaderboard");
        if (board.isArray() && !board.isEmpty()) {
            double trialSeconds = 0;
            for (JsonNode trial : board) {
                trialSeconds += trial.path("seconds").asDouble();
            }
            search = String.format(" trials=%d seconds_per_trial=%.3f best=%s:%s", board.size(),
                    trialSeconds / board.size(), board.get(0).path("family").asString(),
                    board.get(0).path("hyperparameters").toString().replace(' ', '_'));
        }
        System.out.printf("method=%s model=%s status=%s rows=%d seconds=%.2f rows_per_second=%.0f metrics=%s%s%n",
                method, model, job.path("status").asString(), rows, seconds, rows / seconds,
                metrics.toString().replace(' ', '_'), search);
    }

    private static JsonNode send(HttpRequest request) throws Exception {
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(response.statusCode() + " " + response.body());
        }
        return JSON.readTree(response.body());
    }
}
