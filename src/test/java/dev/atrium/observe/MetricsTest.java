package dev.atrium.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testing.Http;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code /metrics} is valid Prometheus exposition, holds the server's meters, and is admin-only by default. */
class MetricsTest {
    @Test
    void metrics_parseAsPrometheusText_andCoverTheServer() {
        try (TestServer server = TestServer.start()) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("measured");
            Http member = admin.withKey(tenants.key(tenant, "member", Map.of("rpm", 2)).secret());
            assertThat(member.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "one")).status())
                    .isEqualTo(200);
            member.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "two"));
            assertThat(member.get("/v1/models").status()).isEqualTo(429);
            assertThat(admin.withKey(null).get("/v1/models").status()).isEqualTo(401);

            Http.Reply reply = admin.get("/metrics");
            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.header("Content-Type")).startsWith("text/plain");
            Map<String, PrometheusText.Family> families = PrometheusText.parse(reply.text());
            assertThat(families.get("atrium_http_requests_seconds").type()).isEqualTo("histogram");
            assertThat(families.get("atrium_engine_compute_seconds").type()).isEqualTo("histogram");
            assertThat(families.get("atrium_ledger_commit_seconds").type()).isEqualTo("histogram");
            assertThat(families.get("atrium_ledger_batch_size").type()).isEqualTo("histogram");
            assertThat(families.get("atrium_engine_queue_depth").type()).isEqualTo("gauge");
            assertThat(families.get("atrium_engine_queue_depth").samples()).extracting(s -> s.labels().get("engine"))
                    .containsExactlyInAnyOrder("onnx", "llama");
            assertThat(families.get("atrium_model_requests_total").type()).isEqualTo("counter");
            assertThat(sum(families.get("atrium_model_requests_total"), Map.of("model", "all-minilm-l6-v2", "outcome", "ok")))
                    .isEqualTo(2);
            assertThat(sum(families.get("atrium_model_tokens_total"), Map.of("direction", "in"))).isPositive();
            assertThat(sum(families.get("atrium_admission_refusals_total"), Map.of("reason", "rate_limit"))).isEqualTo(1);
            assertThat(sum(families.get("atrium_http_requests_seconds"), Map.of("status", "401"))).isPositive();
            assertThat(reply.text()).doesNotContain(tenant);

            // a member may not read them, an anonymous caller even less
            assertThat(member.get("/metrics").status()).isIn(403, 429);
            assertThat(admin.withKey(tenants.key(tenant, "owner").secret()).get("/metrics").status()).isEqualTo(403);
            assertThat(admin.withKey(null).get("/metrics").status()).isEqualTo(401);
        }
    }

    @Test
    void metrics_canBeOpenByConfiguration() {
        try (TestServer server = TestServer.start(Map.of("metrics-open", "true", "preload", "none"))) {
            Http.Reply reply = server.http().withKey(null).get("/metrics");
            assertThat(reply.status()).isEqualTo(200);
            assertThat(PrometheusText.parse(reply.text())).isNotEmpty();
        }
    }

    @Test
    void parser_rejectsWhatIsNotExposition() {
        assertThatThrownBy(() -> PrometheusText.parse("metric{label=\"unterminated} 1\n"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PrometheusText.parse("metric 1.2.3\n")).hasMessageContaining("bad value");
        assertThatThrownBy(() -> PrometheusText.parse("# TYPE m counter\n# TYPE m gauge\nm 1\n"))
                .hasMessageContaining("second TYPE");
        assertThatThrownBy(() -> PrometheusText.parse("""
                # TYPE h histogram
                h_bucket{le="1"} 5
                h_bucket{le="+Inf"} 3
                h_count 3
                h_sum 1
                """)).hasMessageContaining("cumulative");
        assertThat(PrometheusText.parse("# TYPE m counter\nm_total{a=\"x\\\"y\"} 3 1700000000000\n").get("m")
                .samples().getFirst().labels()).containsEntry("a", "x\"y");
    }

    /** The sum of a family's samples whose labels include the given ones (histograms: their _count). */
    private static double sum(PrometheusText.Family family, Map<String, String> labels) {
        assertThat(family).isNotNull();
        return family.samples().stream()
                .filter(sample -> !family.type().equals("histogram") || sample.name().endsWith("_count"))
                .filter(sample -> sample.labels().entrySet().containsAll(labels.entrySet()))
                .mapToDouble(PrometheusText.Sample::value)
                .sum();
    }
}
