package dev.atrium.v2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The binary tensor data extension, framed as Triton's clients frame it: the JSON object, then the tensors' raw
 * little-endian bytes, the JSON's length in {@code Inference-Header-Content-Length}; outputs asked for as binary come
 * back the same way. The answers must equal the JSON ones.
 */
class V2BinaryDataTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        http = server.http();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static byte[] longs(long... values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long value : values) {
            bytes.putLong(value);
        }
        return bytes.array();
    }

    private static HttpResponse<byte[]> send(String json, byte[]... binary) throws Exception {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.writeBytes(header);
        for (byte[] part : binary) {
            body.writeBytes(part);
        }
        HttpRequest request = http.request("/v2/models/" + MODEL + "/infer")
                .header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", Integer.toString(header.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        return java.net.http.HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static final String INPUTS = """
            {"inputs": [
              {"name": "input_ids", "shape": [1, 4], "datatype": "INT64", "parameters": {"binary_data_size": 32}},
              {"name": "attention_mask", "shape": [1, 4], "datatype": "INT64", "parameters": {"binary_data_size": 32}},
              {"name": "token_type_ids", "shape": [1, 4], "datatype": "INT64", "parameters": {"binary_data_size": 32}}
            ], "outputs": [{"name": "last_hidden_state", "parameters": {"binary_data": %s}}]}""";

    @Test
    void infer_binaryInputsAndOutputs_equalTheJsonAnswer() throws Exception {
        JsonNode json = http.postJson("/v2/models/" + MODEL + "/infer", Map.of("inputs", java.util.List.of(
                Map.of("name", "input_ids", "shape", java.util.List.of(1, 4), "datatype", "INT64",
                        "data", java.util.List.of(101, 7592, 2088, 102)),
                Map.of("name", "attention_mask", "shape", java.util.List.of(1, 4), "datatype", "INT64",
                        "data", java.util.List.of(1, 1, 1, 1)),
                Map.of("name", "token_type_ids", "shape", java.util.List.of(1, 4), "datatype", "INT64",
                        "data", java.util.List.of(0, 0, 0, 0))),
                "outputs", java.util.List.of(Map.of("name", "last_hidden_state")))).json();
        float[] expected = new float[json.path("outputs").get(0).path("data").size()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (float) json.path("outputs").get(0).path("data").get(i).asDouble();
        }

        HttpResponse<byte[]> binary = send(INPUTS.formatted("true"), longs(101, 7592, 2088, 102), longs(1, 1, 1, 1),
                longs(0, 0, 0, 0));
        assertThat(binary.statusCode()).as(new String(binary.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        int headerLength = Integer.parseInt(binary.headers().firstValue("Inference-Header-Content-Length")
                .orElseThrow());
        JsonNode header = dev.atrium.server.Json.MAPPER.readTree(new String(binary.body(), 0, headerLength,
                StandardCharsets.UTF_8));
        JsonNode output = header.path("outputs").get(0);
        assertThat(output.has("data")).isFalse();
        int size = output.path("parameters").path("binary_data_size").asInt();
        assertThat(size).isEqualTo(expected.length * 4);
        assertThat(binary.body().length).isEqualTo(headerLength + size);
        ByteBuffer floats = ByteBuffer.wrap(binary.body(), headerLength, size).slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < expected.length; i++) {
            assertThat(floats.getFloat(i * 4)).as("element " + i).isEqualTo(expected[i]);
        }

        HttpResponse<byte[]> jsonOut = send(INPUTS.formatted("false"), longs(101, 7592, 2088, 102),
                longs(1, 1, 1, 1), longs(0, 0, 0, 0));
        assertThat(jsonOut.statusCode()).isEqualTo(200);
        assertThat(jsonOut.headers().firstValue("Inference-Header-Content-Length")).isEmpty();
        assertThat(dev.atrium.server.Json.MAPPER.readTree(jsonOut.body()).path("outputs").get(0).path("data").size())
                .isEqualTo(expected.length);
    }

    @Test
    void infer_binaryThatDoesNotAddUp_is400() throws Exception {
        // sizes claiming more than came, bytes left over, a header length past the body, a size that is not the shape's
        assertThat(send(INPUTS.formatted("true"), longs(101, 7592, 2088, 102), longs(1, 1, 1, 1)).statusCode())
                .isEqualTo(400);
        assertThat(send(INPUTS.formatted("true"), longs(101, 7592, 2088, 102), longs(1, 1, 1, 1), longs(0, 0, 0, 0),
                new byte[] {1}).statusCode()).isEqualTo(400);
        String mismatch = INPUTS.replaceFirst("\"binary_data_size\": 32", "\"binary_data_size\": 24")
                .replaceFirst("\"binary_data_size\": 32}}\\s*,\\s*\\{\"name\": \"token_type_ids\"",
                        "\"binary_data_size\": 40}}, {\"name\": \"token_type_ids\"");
        HttpResponse<byte[]> wrongSize = send(mismatch.formatted("true"), longs(101, 7592, 2088, 102),
                longs(1, 1, 1, 1), longs(0, 0, 0, 0));
        assertThat(wrongSize.statusCode()).isEqualTo(400);
        assertThat(new String(wrongSize.body(), StandardCharsets.UTF_8)).contains("input_ids");
        HttpRequest badHeader = http.request("/v2/models/" + MODEL + "/infer")
                .header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", "99999")
                .POST(HttpRequest.BodyPublishers.ofByteArray("{}".getBytes(StandardCharsets.UTF_8))).build();
        assertThat(java.net.http.HttpClient.newHttpClient().send(badHeader, HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(400);
    }

    @Test
    void serverMetadata_namesTheExtension() {
        assertThat(http.get("/v2").json().path("extensions").toString()).contains("binary_tensor_data");
    }
}
