package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The shared MobileNetV3 image classifier served by the server: the six photos classified right through
 * {@code /v1/classifications} (JSON data URLs and base64, and multipart files) and through v2 infer with the images
 * as a {@code BYTES} tensor; bombs, truncated and non-image files refused with 400s; images on the invoice.
 */
class ImageClassificationsEndToEndTest {
    private static final String MODEL = "meals";
    private static TestServer server;
    private static Http http;
    private static List<Path> photos;

    @BeforeAll
    static void start() {
        photos = ImageFixtures.photos();
        server = TestServer.start();
        http = server.http();
        assertThat(http.postJson("/admin/models", Map.of("name", MODEL, "task", "image-classification")).status())
                .isEqualTo(201);
        // resized without antialiasing, as the model was trained (its README's scores)
        Http.Reply upload = http.post("/admin/models/" + MODEL + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", ImageFixtures.read(ImageFixtures.MODEL),
                "config", "{\"preprocessing\": {\"antialias\": false}}".getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void assertClassifiedRight(JsonNode body) {
        for (int i = 0; i < photos.size(); i++) {
            JsonNode labels = body.path("data").get(i).path("labels");
            assertThat(labels.get(0).path("label").asString()).as(photos.get(i).getFileName().toString())
                    .isEqualTo(ImageFixtures.expectedLabel(photos.get(i)));
            assertThat(labels.get(0).path("score").asDouble()).isGreaterThan(0.5);
        }
        assertThat(body.path("usage").path("images").asLong()).isEqualTo(photos.size());
    }

    @Test
    void classifications_json_dataUrlsAndBase64_classifyTheSixPhotos() {
        List<Object> inputs = new ArrayList<>();
        for (int i = 0; i < photos.size(); i++) {
            String base64 = Base64.getEncoder().encodeToString(ImageFixtures.read(photos.get(i)));
            inputs.add(i % 3 == 0 ? "data:image/jpeg;base64," + base64
                    : i % 3 == 1 ? base64 : Map.of("image_url", Map.of("url", "data:image/jpeg;base64," + base64)));
        }
        Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", MODEL, "input", inputs, "top_k", 3));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertClassifiedRight(reply.json());
        assertThat(reply.json().path("data").get(0).path("labels")).hasSize(3);
        assertThat(reply.header("x-atrium-model-version")).isEqualTo("1");
    }

    @Test
    void classifications_multipart_classifyTheSixPhotos() {
        Http.Reply reply = http.postForm("/v1/classifications", Map.of("model", MODEL),
                photos.stream().map(ImageFixtures::read).toList());
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertClassifiedRight(reply.json());
    }

    @Test
    void v2Infer_bytesTensorOfEncodedImages_givesTheModelsScores() {
        List<String> data = photos.stream().map(photo -> Base64.getEncoder().encodeToString(ImageFixtures.read(photo)))
                .toList();
        Http.Reply reply = http.postJson("/v2/models/" + MODEL + "/infer", Map.of(
                "inputs", List.of(Map.of("name", "input", "datatype", "BYTES", "shape", List.of(photos.size()),
                        "data", data)),
                "outputs", List.of(Map.of("name", "probs"))));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        JsonNode output = reply.json().path("outputs").get(0);
        assertThat(output.path("shape").get(0).asInt()).isEqualTo(photos.size());
        List<String> labels = List.of("food", "report", "other");
        for (int i = 0; i < photos.size(); i++) {
            int best = 0;
            for (int c = 1; c < 3; c++) {
                if (output.path("data").get(i * 3 + c).asDouble() > output.path("data").get(i * 3 + best).asDouble()) {
                    best = c;
                }
            }
            assertThat(labels.get(best)).isEqualTo(ImageFixtures.expectedLabel(photos.get(i)));
        }
    }

    @Test
    void v2Infer_binaryBytesTensor_asTritonsImageClientSendsIt() throws Exception {
        java.io.ByteArrayOutputStream images = new java.io.ByteArrayOutputStream();
        for (Path photo : photos) {
            byte[] bytes = ImageFixtures.read(photo);
            images.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putInt(bytes.length).array());
            images.writeBytes(bytes);
        }
        byte[] header = ("{\"inputs\": [{\"name\": \"input\", \"datatype\": \"BYTES\", \"shape\": [" + photos.size()
                + "], \"parameters\": {\"binary_data_size\": " + images.size() + "}}], \"outputs\": [{\"name\": \"probs\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.writeBytes(header);
        body.writeBytes(images.toByteArray());
        Http.Reply reply = http.send(http.request("/v2/models/" + MODEL + "/infer")
                .header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", Integer.toString(header.length))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        JsonNode output = reply.json().path("outputs").get(0);
        List<String> labels = List.of("food", "report", "other");
        for (int i = 0; i < photos.size(); i++) {
            int best = 0;
            for (int c = 1; c < 3; c++) {
                if (output.path("data").get(i * 3 + c).asDouble() > output.path("data").get(i * 3 + best).asDouble()) {
                    best = c;
                }
            }
            assertThat(labels.get(best)).isEqualTo(ImageFixtures.expectedLabel(photos.get(i)));
        }
    }

    @Test
    void badImages_are400s_andTheServerKeepsServing() {
        byte[] photo = ImageFixtures.read(photos.getFirst());
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("bomb", ImageDecoderTest.pngBomb());
        bad.put("truncated", java.util.Arrays.copyOf(photo, photo.length / 2));
        bad.put("not an image", "%PDF-1.4 not an image at all".getBytes(StandardCharsets.UTF_8));
        bad.put("empty", new byte[0]);
        for (Map.Entry<String, byte[]> image : bad.entrySet()) {
            Http.Reply json = http.postJson("/v1/classifications", Map.of("model", MODEL,
                    "input", List.of(Base64.getEncoder().encodeToString(image.getValue()))));
            assertThat(json.status()).as(image.getKey() + ": " + json.text()).isEqualTo(400);
            assertThat(json.json().path("error").path("message").asString()).doesNotContain("Exception", "/");
            Http.Reply multipart = http.postForm("/v1/classifications", Map.of("model", MODEL),
                    List.of(image.getValue()));
            assertThat(multipart.status()).as(image.getKey()).isEqualTo(400);
        }
        Http.Reply url = http.postJson("/v1/classifications", Map.of("model", MODEL,
                "input", "https://example.com/cat.jpg"));
        assertThat(url.status()).isEqualTo(400);
        Http.Reply text = http.postJson("/v1/classifications", Map.of("model", MODEL,
                "input", List.of(Map.of("text", "a text"))));
        assertThat(text.status()).isEqualTo(400);
        Http.Reply fine = http.postJson("/v1/classifications", Map.of("model", MODEL,
                "input", Base64.getEncoder().encodeToString(photo)));
        assertThat(fine.status()).isEqualTo(200);
    }

    /**
     * Many tiny images are refused by what they become (each 150 528 values at the model's 224 x 224), before any is
     * decoded: 446 PNGs of 2 x 2 pixels, some 70 bytes each, would be a 268 MB tensor.
     */
    @Test
    void tinyImages_moreThanTheTensorBoundHolds_are400sNamingTheLimit() throws Exception {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(2, 2, java.awt.image.BufferedImage.TYPE_INT_RGB),
                "png", png);
        String tiny = Base64.getEncoder().encodeToString(png.toByteArray());
        Http.Reply many = http.postJson("/v1/classifications", Map.of("model", MODEL,
                "input", java.util.Collections.nCopies(446, tiny)));
        assertThat(many.status()).as(many.text()).isEqualTo(400);
        assertThat(many.json().path("error").path("message").asString()).contains("446 images", "at most 445");
        Http.Reply v2 = http.postJson("/v2/models/" + MODEL + "/infer", Map.of("inputs", List.of(Map.of(
                "name", "input", "datatype", "BYTES", "shape", List.of(446), "data",
                java.util.Collections.nCopies(446, tiny)))));
        assertThat(v2.status()).as(v2.text()).isEqualTo(400);
        assertThat(v2.json().path("error").asString()).contains("at most 445");
        Http.Reply fewer = http.postJson("/v1/classifications", Map.of("model", MODEL,
                "input", java.util.Collections.nCopies(445, tiny)));
        assertThat(fewer.status()).as(fewer.text()).isEqualTo(200);
        assertThat(fewer.json().path("usage").path("images").asLong()).isEqualTo(445);
    }

    @Test
    void invoice_showsTheImagesClassified() {
        dev.atrium.testing.Tenants tenants = new dev.atrium.testing.Tenants(http);
        String tenant = tenants.tenant("photographers");
        Http member = http.withKey(tenants.key(tenant, "member").secret());
        assertThat(http.postJson("/admin/prices", Map.of("model", MODEL, "per_image", "0.002", "currency", "USD"))
                .status()).isEqualTo(201);
        assertThat(member.postForm("/v1/classifications", Map.of("model", MODEL),
                photos.stream().map(ImageFixtures::read).toList()).status()).isEqualTo(200);
        JsonNode invoice = http.get("/admin/invoices?tenant=" + tenant + "&month=" + YearMonth.now(ZoneOffset.UTC))
                .json();
        JsonNode line = invoice.path("lines").get(0);
        assertThat(line.path("meter").asString()).isEqualTo("images");
        assertThat(line.path("quantity").asString()).isEqualTo("6");
        assertThat(new java.math.BigDecimal(line.path("amount").asString()))
                .isEqualByComparingTo(new java.math.BigDecimal("0.012"));
    }

}
