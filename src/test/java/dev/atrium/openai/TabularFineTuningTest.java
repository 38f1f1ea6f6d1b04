package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Tabular training jobs: a CSV of a known noisy function (y = 3 sin(x1) + x2² / 4 + 2 if the colour is red, plus
 * Gaussian noise of σ = 0.5) trained with gradient-boosted trees and with a linear model; the boosted version
 * predicts fresh rows through {@code /v1/predictions} within 1.5 σ (RMSE), and a job is cancelled between rounds.
 */
class TabularFineTuningTest {
    private static final double SIGMA = 0.5;
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static Http member;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
        member = admin.withKey(tenants.key(tenants.tenant("tabular-trainers"), "member").secret());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static double truth(double x1, double x2, String colour) {
        return 3 * Math.sin(x1) + x2 * x2 / 4 + (colour.equals("red") ? 2 : 0);
    }

    private record Row(double x1, double x2, String colour, double y) {}

    private static List<Row> rows(int count, long seed, boolean noisy) {
        Random random = new Random(seed);
        List<String> colours = List.of("red", "green", "blue");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double x1 = random.nextDouble() * 6 - 3;
            double x2 = random.nextDouble() * 4 - 2;
            String colour = colours.get(random.nextInt(3));
            rows.add(new Row(x1, x2, colour, truth(x1, x2, colour) + (noisy ? random.nextGaussian() * SIGMA : 0)));
        }
        return rows;
    }

    private static String upload(List<Row> rows) {
        return upload(member, rows);
    }

    private static String upload(Http member, List<Row> rows) {
        StringBuilder csv = new StringBuilder("x1,x2,colour,y\n");
        rows.forEach(row -> csv.append(row.x1()).append(',').append(row.x2()).append(',').append(row.colour())
                .append(',').append(row.y()).append('\n'));
        byte[] form = ("--" + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--"
                + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.csv\"\r\n\r\n"
                + csv + "\r\n--" + Http.BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8);
        Http.Reply file = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY, form);
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        return file.json().path("id").asString();
    }

    private static JsonNode job(String family, String file, String suffix, Map<String, Object> hyperparameters) {
        Http.Reply created = create(member, family, file, suffix, hyperparameters);
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        return created.json();
    }

    private static Http.Reply create(Http member, String family, String file, String suffix,
            Map<String, Object> hyperparameters) {
        return member.postJson("/v1/fine_tuning/jobs", Map.of("model", family, "training_file", file,
                "suffix", suffix, "method", Map.of("type", "tabular-regression"), "hyperparameters", hyperparameters,
                "seed", 5));
    }

    private static JsonNode awaitEnd(String id, Duration timeout) throws InterruptedException {
        return awaitEnd(member, id, timeout);
    }

    private static JsonNode awaitEnd(Http member, String id, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode job = member.get("/v1/fine_tuning/jobs/" + id).json();
        while (!List.of("succeeded", "failed", "cancelled").contains(job.path("status").asString())
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
            job = member.get("/v1/fine_tuning/jobs/" + id).json();
        }
        return job;
    }

    @Test
    void boostedTrees_learnTheFunction_withinOneAndAHalfSigma() throws Exception {
        String file = upload(rows(3000, 1, true));
        JsonNode job = awaitEnd(job("gradient-boosted-trees", file, "houses", Map.of("target", "y")).path("id")
                .asString(), Duration.ofMinutes(2));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.path("fine_tuned_model").asString()).isEqualTo("houses:1");
        List<Row> fresh = rows(400, 99, false);
        List<Map<String, Object>> records = new ArrayList<>();
        for (Row row : fresh) {
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("x1", row.x1());
            record.put("x2", row.x2());
            record.put("colour", row.colour());
            records.add(record);
        }
        Http.Reply predicted = member.postJson("/v1/predictions", Map.of("model", "houses:1",
                "dataframe_records", records));
        assertThat(predicted.status()).as(predicted.text()).isEqualTo(200);
        double squared = 0;
        for (int i = 0; i < fresh.size(); i++) {
            double error = predicted.json().path("predictions").get(i).asDouble() - fresh.get(i).y();
            squared += error * error;
        }
        double rmse = Math.sqrt(squared / fresh.size());
        System.out.printf("boosted trees on y = 3 sin(x1) + x2^2/4 + 2[red] + N(0, %.1f^2): RMSE %.3f on fresh rows%n",
                SIGMA, rmse);
        assertThat(rmse).isLessThanOrEqualTo(1.5 * SIGMA);
    }

    @Test
    void linear_trainsAndIsServed() throws Exception {
        String file = upload(rows(800, 2, true));
        JsonNode job = awaitEnd(job("linear", file, "houses-linear", Map.of("target", "y")).path("id").asString(),
                Duration.ofMinutes(1));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        Http.Reply predicted = member.postJson("/v1/predictions", Map.of("model", "houses-linear",
                "instances", List.of(Map.of("x1", 0.5, "x2", 1.0, "colour", "red"))));
        assertThat(predicted.status()).as(predicted.text()).isEqualTo(200);
        assertThat(predicted.json().path("predictions").get(0).isNumber()).isTrue();
    }

    @Test
    void cancel_stopsTheJobBetweenRounds() throws Exception {
        String file = upload(rows(3000, 3, true));
        String id = job("gradient-boosted-trees", file, "cancelled-model", Map.of("target", "y", "n_rounds", 5000,
                "learning_rate", 0.001)).path("id").asString();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!member.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString().equals("running")
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Http.Reply cancel = member.post("/v1/fine_tuning/jobs/" + id + "/cancel", "application/json", new byte[0]);
        assertThat(cancel.status()).as(cancel.text()).isEqualTo(200);
        JsonNode job = awaitEnd(id, Duration.ofSeconds(60));
        assertThat(job.path("status").asString()).isEqualTo("cancelled");
        assertThat(job.path("fine_tuned_model").isNull()).isTrue();
        assertThat(member.get("/admin/models/cancelled-model").status()).isEqualTo(404);
        assertThat(member.post("/v1/fine_tuning/jobs/" + id + "/cancel", "application/json", new byte[0]).status())
                .isEqualTo(409);
    }

    @Test
    void jobs_areMeteredByTheirComputeSeconds_andABudgetThatCannotCoverOneRefusesIt() throws Exception {
        String tenant = tenants.tenant("metered-trainers");
        Http payer = admin.withKey(tenants.key(tenant, "member").secret());
        assertThat(admin.postJson("/admin/prices", Map.of("model", "gradient-boosted-trees", "tenant", tenant,
                "per_compute_second", "0.01", "currency", "USD")).status()).isEqualTo(201);
        // an hour of compute is reserved: 36 USD, more than this budget
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "10", "currency",
                "USD")).status()).isEqualTo(200);
        String file = upload(payer, rows(2000, 6, true));
        Http.Reply refused = create(payer, "gradient-boosted-trees", file, "paid", Map.of("target", "y"));
        assertThat(refused.status()).as(refused.text()).isEqualTo(429);
        assertThat(refused.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
        assertThat(payer.get("/v1/fine_tuning/jobs").json().path("data")).isEmpty();

        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "100", "currency",
                "USD")).status()).isEqualTo(200);
        Http.Reply created = create(payer, "gradient-boosted-trees", file, "paid", Map.of("target", "y"));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        String id = created.json().path("id").asString();
        assertThat(awaitEnd(payer, id, Duration.ofMinutes(2)).path("status").asString()).isEqualTo("succeeded");
        JsonNode records = admin.get("/admin/usage/records?tenant=" + tenant + "&request_id=" + id).json().path("data");
        assertThat(records).hasSize(1);
        JsonNode record = records.get(0);
        assertThat(record.path("endpoint").asString()).isEqualTo("/v1/fine_tuning/jobs");
        assertThat(record.path("outcome").asString()).isEqualTo("ok");
        long millis = record.path("compute_ms").asLong();
        assertThat(millis).isPositive();
        assertThat(new java.math.BigDecimal(record.path("charge").asString())).isEqualByComparingTo(
                java.math.BigDecimal.valueOf(millis).movePointLeft(3).multiply(new java.math.BigDecimal("0.01")));
        JsonNode budget = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(new java.math.BigDecimal(budget.path("reserved").asString())).isEqualByComparingTo("0");
        JsonNode invoice = admin.get("/admin/invoices?tenant=" + tenant + "&month="
                + java.time.YearMonth.now(java.time.ZoneOffset.UTC)).json();
        assertThat(invoice.path("lines").toString()).contains("gradient-boosted-trees").contains("compute_seconds");
    }

    @Test
    void missingTarget_failsValidation() throws Exception {
        String file = upload(rows(50, 4, true));
        JsonNode job = awaitEnd(job("gradient-boosted-trees", file, "no-target", Map.of()).path("id").asString(),
                Duration.ofSeconds(30));
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("error").path("message").asString()).contains("target");
        JsonNode badFamily = awaitEnd(job("random-forest", file, "no-family", Map.of("target", "y")).path("id")
                .asString(), Duration.ofSeconds(30));
        assertThat(badFamily.path("error").path("message").asString()).contains("gradient-boosted-trees");
    }
}
