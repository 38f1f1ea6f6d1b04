package dev.atrium.v2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** Open Inference Protocol v2 over REST against real ONNX models. */
class V2EndToEndTest {
    private static final List<Long> HELLO_WORLD = List.of(101L, 7592L, 2088L, 102L);

    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start(@TempDir Path directory) throws Exception {
        server = TestServer.start();
        http = server.http();
        List<ElementType> types = List.of(ElementType.BOOL, ElementType.UINT8, ElementType.INT8, ElementType.INT16,
                ElementType.INT32, ElementType.INT64, ElementType.FLOAT16, ElementType.FLOAT, ElementType.DOUBLE,
                ElementType.STRING);
        Path identity = OnnxModelWriter.identities(types, -1, 2).write(directory.resolve("identity.onnx"));
        assertThat(http.postJson("/admin/models", Map.of("name", "identity", "task", "tensor")).status()).isEqualTo(201);
        Http.Reply upload = http.upload("/admin/models/identity/versions", Map.of("onnx", identity));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void serverEndpoints_answerAsTheProtocolSays() {
        JsonNode metadata = http.get("/v2").json();
        assertThat(metadata.path("name").asString()).isEqualTo("atrium");
        assertThat(metadata.path("extensions").isArray()).isTrue();
        assertThat(http.get("/v2/health/live").status()).isEqualTo(200);
        Http.Reply ready = http.get("/v2/health/ready");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().path("ready").asBoolean()).isTrue();
    }

    @Test
    void modelMetadata_listsVersionsAndTensorsWithDynamicDimensions() {
        JsonNode metadata = http.get("/v2/models/all-minilm-l6-v2").json();
        assertThat(metadata.path("name").asString()).isEqualTo("all-minilm-l6-v2");
        assertThat(metadata.path("versions").get(0).asString()).isEqualTo("1");
        assertThat(metadata.path("platform").asString()).isEqualTo("onnxruntime_onnx");
        assertThat(names(metadata.path("inputs"))).containsExactly("input_ids", "attention_mask", "token_type_ids");
        JsonNode output = metadata.path("outputs").get(0);
        assertThat(output.path("name").asString()).isEqualTo("last_hidden_state");
        assertThat(output.path("datatype").asString()).isEqualTo("FP32");
        assertThat(output.path("shape").toString()).isEqualTo("[-1,-1,384]");
        assertThat(http.get("/v2/models/all-minilm-l6-v2/versions/1").json().path("name").asString())
                .isEqualTo("all-minilm-l6-v2");
        assertThat(http.get("/v2/models/all-minilm-l6-v2/versions/9").status()).isEqualTo(404);
    }

    @Test
    void modelReady_isTrueForAServableVersion() {
        Http.Reply ready = http.get("/v2/models/all-minilm-l6-v2/ready");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().path("ready").asBoolean()).isTrue();
        assertThat(http.get("/v2/models/all-minilm-l6-v2/versions/1/ready").status()).isEqualTo(200);
        assertThat(http.get("/v2/models/no-such-model/ready").status()).isEqualTo(404);
    }

    @Test
    void infer_tokenIds_returnsLastHiddenStateThatPoolsToTheEmbedding() {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("id", "request-42");
        request.put("parameters", Map.of("anything", 1));
        request.put("inputs", List.of(
                tensor("input_ids", "INT64", List.of(1, 4), List.of(HELLO_WORLD)),
                tensor("attention_mask", "INT64", List.of(1, 4), List.of(1, 1, 1, 1)),
                tensor("token_type_ids", "INT64", List.of(1, 4), List.of(0, 0, 0, 0))));
        request.put("outputs", List.of(Map.of("name", "last_hidden_state")));
        Http.Reply reply = http.postJson("/v2/models/all-minilm-l6-v2/infer", request);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        JsonNode response = reply.json();
        assertThat(response.path("model_name").asString()).isEqualTo("all-minilm-l6-v2");
        assertThat(response.path("model_version").asString()).isEqualTo("1");
        assertThat(response.path("id").asString()).isEqualTo("request-42");
        JsonNode hidden = response.path("outputs").get(0);
        assertThat(hidden.path("shape").toString()).isEqualTo("[1,4,384]");
        assertThat(hidden.path("datatype").asString()).isEqualTo("FP32");
        assertThat(hidden.path("data").size()).isEqualTo(4 * 384);

        float[] pooled = new float[384];
        for (int t = 0; t < 4; t++) {
            for (int d = 0; d < 384; d++) {
                pooled[d] += hidden.path("data").get(t * 384 + d).floatValue() / 4;
            }
        }
        JsonNode embedding = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2",
                "input", List.of(HELLO_WORLD))).json().path("data").get(0).path("embedding");
        double dot = 0;
        double norm = 0;
        for (int d = 0; d < 384; d++) {
            dot += pooled[d] * embedding.get(d).floatValue();
            norm += (double) pooled[d] * pooled[d];
        }
        assertThat(dot / Math.sqrt(norm)).isGreaterThan(0.99999);
    }

    @Test
    void infer_byVersionPathAndByReference_reachTheSameVersion() {
        Map<String, Object> request = Map.of("inputs", List.of(tensor("x_int32", "INT32", List.of(1, 2), List.of(7, 8)),
                        tensor("x_bool", "BOOL", List.of(1, 2), List.of(true, false)),
                        tensor("x_uint8", "UINT8", List.of(1, 2), List.of(0, 255)),
                        tensor("x_int8", "INT8", List.of(1, 2), List.of(-128, 127)),
                        tensor("x_int16", "INT16", List.of(1, 2), List.of(-32768, 32767)),
                        tensor("x_int64", "INT64", List.of(1, 2), List.of(Long.MIN_VALUE, Long.MAX_VALUE)),
                        tensor("x_float16", "FP16", List.of(1, 2), List.of(0.5, -2.0)),
                        tensor("x_float", "FP32", List.of(1, 2), List.of(1.5, -0.25)),
                        tensor("x_double", "FP64", List.of(1, 2), List.of(1.0e300, -1.0e-300)),
                        tensor("x_string", "BYTES", List.of(1, 2), List.of("héllo", ""))),
                "outputs", List.of(Map.of("name", "y_int32")));
        for (String path : List.of("/v2/models/identity/versions/1/infer", "/v2/models/identity:1/infer",
                "/v2/models/identity:latest/infer")) {
            Http.Reply reply = http.postJson(path, request);
            assertThat(reply.status()).as(path + " " + reply).isEqualTo(200);
            assertThat(reply.json().path("outputs")).hasSize(1);
            assertThat(reply.json().path("outputs").get(0).path("data").toString()).isEqualTo("[7,8]");
        }
    }

    @Test
    void infer_everyDatatypeTheOnnxEngineExchanges_roundTrips() {
        List<Object> inputs = new ArrayList<>();
        inputs.add(tensor("x_bool", "BOOL", List.of(2, 2), List.of(List.of(true, false), List.of(false, true))));
        inputs.add(tensor("x_uint8", "UINT8", List.of(1, 2), List.of(0, 255)));
        inputs.add(tensor("x_int8", "INT8", List.of(1, 2), List.of(-128, 127)));
        inputs.add(tensor("x_int16", "INT16", List.of(1, 2), List.of(-32768, 32767)));
        inputs.add(tensor("x_int32", "INT32", List.of(1, 2), List.of(Integer.MIN_VALUE, Integer.MAX_VALUE)));
        inputs.add(tensor("x_int64", "INT64", List.of(1, 2), List.of(Long.MIN_VALUE, Long.MAX_VALUE)));
        inputs.add(tensor("x_float16", "FP16", List.of(1, 2), List.of(0.5, -2.0)));
        inputs.add(tensor("x_float", "FP32", List.of(1, 2), List.of(1.5, -0.25)));
        inputs.add(tensor("x_double", "FP64", List.of(1, 2), List.of(1.0e300, -1.0e-300)));
        inputs.add(tensor("x_string", "BYTES", List.of(1, 2), List.of("héllo", "")));
        Http.Reply reply = http.postJson("/v2/models/identity/infer", Map.of("inputs", inputs));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        Map<String, JsonNode> outputs = new LinkedHashMap<>();
        reply.json().path("outputs").forEach(output -> outputs.put(output.path("name").asString(), output));
        assertThat(outputs).hasSize(10);
        assertThat(outputs.get("y_bool").path("data").toString()).isEqualTo("[true,false,false,true]");
        assertThat(outputs.get("y_bool").path("shape").toString()).isEqualTo("[2,2]");
        assertThat(outputs.get("y_uint8").path("data").toString()).isEqualTo("[0,255]");
        assertThat(outputs.get("y_int8").path("data").toString()).isEqualTo("[-128,127]");
        assertThat(outputs.get("y_int16").path("data").toString()).isEqualTo("[-32768,32767]");
        assertThat(outputs.get("y_int32").path("data").toString()).isEqualTo("[-2147483648,2147483647]");
        assertThat(outputs.get("y_int64").path("data").toString()).isEqualTo("[-9223372036854775808,9223372036854775807]");
        assertThat(outputs.get("y_float16").path("data").toString()).isEqualTo("[0.5,-2.0]");
        assertThat(outputs.get("y_float16").path("datatype").asString()).isEqualTo("FP16");
        assertThat(outputs.get("y_float").path("data").toString()).isEqualTo("[1.5,-0.25]");
        assertThat(outputs.get("y_double").path("data").toString()).isEqualTo("[1.0E300,-1.0E-300]");
        assertThat(outputs.get("y_string").path("data").toString()).isEqualTo("[\"héllo\",\"\"]");
        assertThat(outputs.get("y_string").path("datatype").asString()).isEqualTo("BYTES");
    }

    @Test
    void upload_modelWithUnsignedWideTypes_isRefusedNamingTheType(@TempDir Path directory) throws Exception {
        Path model = OnnxModelWriter.identities(List.of(ElementType.UINT32), -1).write(directory.resolve("u32.onnx"));
        http.postJson("/admin/models", Map.of("name", "u32", "task", "tensor"));
        Http.Reply reply = http.upload("/admin/models/u32/versions", Map.of("onnx", model));
        assertThat(reply.status()).isEqualTo(422);
        assertThat(reply.json().path("error").path("message").asString()).contains("x_uint32").contains("UINT32");
        assertThat(Files.list(server.dataDir().resolve("staging")).count()).isZero();
    }

    static Map<String, Object> tensor(String name, String datatype, List<Integer> shape, List<?> data) {
        Map<String, Object> tensor = new LinkedHashMap<>();
        tensor.put("name", name);
        tensor.put("shape", shape);
        tensor.put("datatype", datatype);
        tensor.put("data", data);
        return tensor;
    }

    private static List<String> names(JsonNode tensors) {
        List<String> names = new ArrayList<>();
        tensors.forEach(tensor -> names.add(tensor.path("name").asString()));
        return names;
    }
}
