package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** A flood of wrong keys over several connections costs a bounded number of audit rows, with the exact count. */
class AuthenticationFloodTest {
    private static final Pattern FAILURES = Pattern.compile("(?m)^atrium_auth_failures_total (\\S+)$");

    @Test
    void flood_ofWrongKeys_addsABoundedNumberOfAuditRows_whoseCountsAddUpToTheFailures() throws Exception {
        try (TestServer server = TestServer.start(Map.of("preload", "none"))) {
            Http admin = server.http();
            int connections = 8;
            int perConnection = 300;
            try (ExecutorService clients = Executors.newFixedThreadPool(connections)) {
                List<Future<Integer>> refused = new ArrayList<>();
                for (int c = 0; c < connections; c++) {
                    int connection = c;
                    refused.add(clients.submit(() -> {
                        // a client of its own: its own connection, kept alive across its requests
                        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                        int count = 0;
                        for (int i = 0; i < perConnection; i++) {
                            String key = i % 2 == 0 ? "atr-" + "A".repeat(43) : "wrong-" + connection + "-" + i;
                            HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/models"))
                                    .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(10)).GET().build();
                            if (client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 401) {
                                count++;
                            }
                        }
                        return count;
                    }));
                }
                for (Future<Integer> each : refused) {
                    assertThat(each.get()).isEqualTo(perConnection);
                }
            }
            int failures = connections * perConnection;
            assertThat(failureCounter(admin)).isEqualTo(failures);

            // one window per source address and minute: the row is there at once, its count when the window closes
            JsonNode rows = admin.get("/admin/audit?action=auth.failed&limit=1000").json().path("data");
            assertThat(rows.size()).isBetween(1, 2);
            assertThat(rows.get(0).path("source_address").asString()).isEqualTo("127.0.0.1");

            server.restart();
            JsonNode closed = server.http().get("/admin/audit?action=auth.failed&limit=1000").json().path("data");
            assertThat(closed.size()).isEqualTo(rows.size());
            int recorded = 0;
            for (JsonNode row : closed) {
                recorded += row.path("occurrences").asInt();
            }
            assertThat(recorded).isEqualTo(failures);
        }
    }

    private static long failureCounter(Http admin) {
        Matcher matcher = FAILURES.matcher(admin.get("/metrics").text());
        assertThat(matcher.find()).isTrue();
        return (long) Double.parseDouble(matcher.group(1));
    }
}
