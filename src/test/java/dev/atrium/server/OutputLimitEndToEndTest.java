package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code max-output-size} holds per request whether a request runs alone or batched with others: only the
 * request past it is refused, in the protocol's shape, and the others sharing its batch get their own answers.
 */
class OutputLimitEndToEndTest {
    @Test
    void infer_concurrentRequestsAroundTheLimit_onlyThoseOverItAreRefused() throws Exception {
        try (TestServer server = TestServer.start(Map.of("max-output-size", "1k", "engine-threads", "1",
                "intra-op-threads", "1", "preload", "none"));
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = server.http();
            // rows of 64 floats, 256 bytes each, with a dynamic first dimension so that requests share batches (of
            // up to 8 rows): 5 rows are past the limit alone, but not with 2 more as their batch's share of it
            Path identity = OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.FLOAT), -1, 64)
                    .write(server.dataDir().resolve("rows.onnx"));
            http.postJson("/admin/models", Map.of("name", "rows", "task", "tensor"));
            assertThat(http.upload("/admin/models/rows/versions", Map.of("onnx", identity)).status()).isEqualTo(201);

            List<Integer> rows = new ArrayList<>();
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                int count = i % 3 == 2 ? 5 : 1 + i % 3;
                rows.add(count);
                replies.add(clients.submit(() -> http.postJson("/v2/models/rows/infer", request(count))));
            }
            for (int i = 0; i < replies.size(); i++) {
                Http.Reply reply = replies.get(i).get();
                if (rows.get(i) * 256 > 1024) {
                    assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
                    assertThat(reply.json().path("error").asString()).contains("1024 bytes");
                } else {
                    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
                    JsonNode output = reply.json().path("outputs").get(0);
                    assertThat(output.path("shape").toString()).isEqualTo("[" + rows.get(i) + ",64]");
                    assertThat(output.path("data").get(0).asDouble()).isEqualTo(rows.get(i).doubleValue());
                }
            }
        }
    }

    /** {@code rows} rows whose values are all the row count, so that each answer shows whose it is. */
    private static String request(int rows) {
        String data = String.join(",", Collections.nCopies(rows * 64, Integer.toString(rows)));
        return "{\"inputs\": [{\"name\": \"x_float\", \"shape\": [" + rows + ", 64], \"datatype\": \"FP32\", \"data\": ["
                + data + "]}]}";
    }
}
