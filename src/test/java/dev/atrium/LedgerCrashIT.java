package dev.atrium;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.server.Json;
import dev.atrium.testing.Http;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The ledger under crashes: priced, budgeted embedding requests from concurrent clients while the server is
 * killed with SIGKILL at random moments, on one data directory. A client whose request dies with its connection
 * may send the same request (same {@code X-Request-Id}, same body) again once the server is back. Then one
 * drained life sends what is still to be retried, and a last life, with no traffic, reads everything back.
 *
 * <p>The ledger keys records by a server-made id and keeps the client's beside it, so a retried request can
 * rightly have one record per life it reached the model in. Joined with the client's log, exactly this holds:
 * a request the client saw succeed has exactly one record from the life it succeeded in; every record belongs
 * to a request the client sent in the life the record started in; no request has two records from one life;
 * the query by request id finds a request's records by either id. Invoices and budgets equal the records' sum.
 *
 * <p>Every random choice (the moments of the kills, the requests' content, which requests are retried) comes
 * from one seed, printed at the start; {@code -Datrium.crash.seed=...} replays it.
 */
class LedgerCrashIT {
    private static final int KILLS = 10;
    private static final int CLIENTS = 8;
    private static final int MAX_REQUESTS_PER_CLIENT_AND_LIFE = 2_000;
    private static final String MODEL = "all-minilm-l6-v2";
    private static final String SEED_PROPERTY = "atrium.crash.seed";
    private static final List<String> WORDS = List.of("ledger", "crash", "budget", "invoice", "record", "price",
            "token", "tenant", "kill", "retry", "durable", "commit", "sqlite", "exact", "decimal", "month");

    @TempDir
    Path directory;

    /** One request as the client sends it, every time it sends it: its {@code X-Request-Id} and its body. */
    private record Request(String id, String body) {}

    /** A record as the ledger gives it back. */
    private record Row(long position, String requestId, String clientRequestId, Instant startedAt, String currency,
            BigDecimal charge) {}

    /** What the clients did: each request's lives it was sent in, and the life it succeeded in. */
    private static final class ClientLog {
        final Map<String, Set<Integer>> sentIn = new ConcurrentHashMap<>();
        final Map<String, Integer> succeededIn = new ConcurrentHashMap<>();
        /** Requests to send again in the next life; a request is sent at most once per life. */
        final Queue<Request> toRetry = new ConcurrentLinkedQueue<>();
        /** Requests sent twice in one life, which would make two records from one life legitimate: none. */
        final Queue<String> sentTwiceInOneLife = new ConcurrentLinkedQueue<>();

        void sent(Request request, int life) {
            if (!sentIn.computeIfAbsent(request.id(), id -> ConcurrentHashMap.newKeySet()).add(life)) {
                sentTwiceInOneLife.add(request.id());
            }
        }
    }

    @Test
    void sigkillAtRandomMoments_losesNoSucceededRequest_andDuplicatesNone_andInvoicesEqualTheRecords()
            throws Exception {
        long seed = Long.getLong(SEED_PROPERTY, new SecureRandom().nextLong());
        System.out.println("LedgerCrashIT seed " + seed + " (replay with -D" + SEED_PROPERTY + "=" + seed + ")");
        String replay = "seed " + seed + ": ";
        Random random = new Random(seed);
        Path data = directory.resolve("data");
        ClientLog log = new ClientLog();
        // the ledger's newest position as each life starts: a life's records come after it (clock-independent)
        List<Long> lifeStarts = new ArrayList<>();
        String tenant = null;
        String memberKey = null;
        String keyId = null;
        // lives 0..KILLS-1: traffic, then SIGKILL; life KILLS: the retries still due; life KILLS+1: read back
        for (int life = 0; life <= KILLS + 1; life++) {
            int port = freePort();
            Process server = start(data, port, directory.resolve("server-" + life + ".log"));
            try {
                Http anonymous = new Http("http://127.0.0.1:" + port, null);
                awaitReady(anonymous, server);
                Http admin = anonymous.withKey(Files.readString(data.resolve("admin.key")).strip());
                if (tenant == null) {
                    tenant = admin.postJson("/admin/tenants", Map.of("name", "crash")).json().path("id").asString();
                    JsonNode key = admin.postJson("/admin/keys", Map.of("tenant", tenant, "role", "member")).json();
                    memberKey = key.path("key").asString();
                    keyId = key.path("id").asString();
                    setPriceAndBudgets(admin, tenant, keyId);
                }
                if (life == KILLS + 1) {
                    verify(replay, admin, tenant, keyId, log, lifeStarts);
                    return;
                }
                List<Row> newest = rows(admin.get("/admin/usage/records?limit=1").json());
                lifeStarts.add(newest.isEmpty() ? 0 : newest.getFirst().position());
                Http client = anonymous.withKey(memberKey);
                List<Request> due = new ArrayList<>();
                for (Request request; (request = log.toRetry.poll()) != null; ) {
                    due.add(request);
                }
                if (life == KILLS) {
                    for (Request request : due) {
                        log.sent(request, life);
                        Http.Reply reply = send(client, request);
                        assertThat(reply.status()).as(replay + "the retry of " + request.id() + ": " + reply).isEqualTo(200);
                        log.succeededIn.put(request.id(), life);
                    }
                } else {
                    traffic(client, life, random, log, new ConcurrentLinkedQueue<>(due), server);
                }
                server.destroyForcibly(); // SIGKILL
                assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
            } finally {
                server.destroyForcibly();
                server.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** A tenant's price with every meter nonzero, and budgets on the tenant and on its key that never refuse here. */
    private static void setPriceAndBudgets(Http admin, String tenant, String keyId) {
        Map<String, Object> price = new LinkedHashMap<>();
        price.put("model", MODEL);
        price.put("tenant", tenant);
        price.put("input_per_1m", "0.0137");
        price.put("output_per_1m", "0.29");
        price.put("per_request", "0.000123");
        price.put("per_compute_second", "0.0041");
        price.put("currency", "USD");
        assertThat(admin.postJson("/admin/prices", price).status()).isEqualTo(201);
        for (Map.Entry<String, String> scope : List.of(Map.entry("tenant", tenant), Map.entry("key", keyId))) {
            Http.Reply budget = admin.postJson("/admin/budgets", Map.of(scope.getKey(), scope.getValue(),
                    "monthly_limit", "100000", "currency", "USD", "alert_at", List.of("0.9")));
            assertThat(budget.status()).as(budget.toString()).isEqualTo(200);
        }
    }

    /**
     * Clients send new requests and the retries due in this life until the server is killed at a random moment.
     * A request whose connection fails was cut by the kill: its client stops for this life and, by chance, sends
     * it again in the next.
     */
    private static void traffic(Http client, int life, Random random, ClientLog log, Queue<Request> due,
            Process server) throws InterruptedException {
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++) {
            Random own = new Random(random.nextLong());
            String prefix = "crash-" + life + "-" + t + "-";
            threads.add(Thread.ofVirtual().start(() -> {
                for (int n = 0; running.get() && n < MAX_REQUESTS_PER_CLIENT_AND_LIFE; n++) {
                    Request request = due.poll();
                    if (request == null) {
                        request = new Request(prefix + n, body(own));
                    }
                    log.sent(request, life);
                    try {
                        if (send(client, request).status() == 200) {
                            log.succeededIn.put(request.id(), life);
                        }
                    } catch (UncheckedIOException e) {
                        if (own.nextInt(4) != 0) {
                            log.toRetry.add(request);
                        }
                        return;
                    }
                }
            }));
        }
        Thread.sleep(200 + random.nextInt(1200));
        server.destroyForcibly(); // SIGKILL
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        running.set(false);
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(thread.isAlive()).as("a client still running").isFalse();
        }
    }

    /** An embeddings request of one to three inputs of random words. */
    private static String body(Random random) {
        List<String> inputs = new ArrayList<>();
        for (int i = 1 + random.nextInt(3); i > 0; i--) {
            StringBuilder text = new StringBuilder();
            for (int w = 1 + random.nextInt(40); w > 0; w--) {
                text.append(WORDS.get(random.nextInt(WORDS.size()))).append(' ');
            }
            inputs.add(text.toString().strip());
        }
        Object input = inputs.size() == 1 && random.nextBoolean() ? inputs.getFirst() : inputs;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", MODEL);
        body.put("input", input);
        return Json.MAPPER.writeValueAsString(body);
    }

    private static Http.Reply send(Http client, Request request) {
        return client.send(client.request("/v1/embeddings")
                .header("X-Request-Id", request.id()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(request.body()))
                .build());
    }

    private static void verify(String replay, Http admin, String tenant, String keyId, ClientLog log, List<Long> lifeStarts) {
        List<Row> rows = records(admin);
        assertThat(log.succeededIn).as(replay + "requests that succeeded").hasSizeGreaterThan(KILLS);
        assertThat(log.sentTwiceInOneLife).as(replay + "requests sent twice in one life").isEmpty();
        assertThat(log.sentIn.values().stream().filter(sent -> sent.size() > 1).count())
                .as(replay + "requests sent in more than one life").isPositive();

        // each record's life, and how many records each request has in each life
        Map<String, Map<Integer, List<Row>>> byRequestAndLife = new TreeMap<>();
        for (Row row : rows) {
            assertThat(row.clientRequestId()).as(replay + "the client id of " + row.requestId()).isNotNull();
            int life = lifeOf(lifeStarts, row.position());
            assertThat(life).as(replay + "the life of " + row).isNotNegative();
            byRequestAndLife.computeIfAbsent(row.clientRequestId(), id -> new TreeMap<>())
                    .computeIfAbsent(life, l -> new ArrayList<>()).add(row);
        }
        assertThat(rows.stream().map(Row::requestId).distinct().count()).as(replay + "distinct server ids")
                .isEqualTo(rows.size());
        for (Row row : rows) {
            assertThat(row.requestId()).as(replay + "a server-made id").startsWith("req_")
                    .isNotEqualTo(row.clientRequestId());
        }
        log.succeededIn.forEach((id, life) -> assertThat(byRequestAndLife.getOrDefault(id, Map.of())
                .getOrDefault(life, List.of())).as(replay + "records of " + id + " from life " + life + ", where it succeeded;"
                        + " its records by life: " + byRequestAndLife.get(id) + "; sent in " + log.sentIn.get(id)
                        + "; lives start after positions " + lifeStarts)
                .hasSize(1));
        byRequestAndLife.forEach((id, byLife) -> byLife.forEach((life, records) -> {
            assertThat(log.sentIn.getOrDefault(id, Set.of())).as(replay + "lives " + id + " was sent in, with a record"
                    + " from life " + life).contains(life);
            assertThat(records).as(replay + "records of " + id + " from life " + life).hasSize(1);
        }));

        // the query by request id matches the client's id and the server's
        List<String> retried = byRequestAndLife.entrySet().stream().filter(entry -> entry.getValue().size() > 1)
                .map(Map.Entry::getKey).limit(100).toList();
        for (String id : retried) {
            Set<String> expected = byRequestAndLife.get(id).values().stream().flatMap(List::stream)
                    .map(Row::requestId).collect(Collectors.toCollection(TreeSet::new));
            Set<String> found = page(admin, "request_id=" + id + "&limit=1000").stream().map(Row::requestId)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertThat(found).as(replay + "records found by " + id).isEqualTo(expected);
            for (String serverId : expected) {
                assertThat(page(admin, "request_id=" + serverId).stream().map(Row::requestId).toList())
                        .as(replay + "records found by " + serverId).containsExactly(serverId);
            }
        }

        // invoices and budgets equal the records, exactly
        Map<YearMonth, BigDecimal> charged = new TreeMap<>();
        for (Row row : rows) {
            YearMonth month = YearMonth.from(row.startedAt().atZone(ZoneOffset.UTC));
            charged.merge(month, "USD".equals(row.currency()) ? row.charge() : BigDecimal.ZERO, BigDecimal::add);
            assertThat(row.charge().signum() == 0 || "USD".equals(row.currency())).as(replay + "currency of " + row).isTrue();
        }
        assertThat(charged.values().stream().reduce(BigDecimal.ZERO, BigDecimal::add)).as(replay + "all charges")
                .isPositive();
        charged.forEach((month, sum) -> {
            JsonNode invoice = admin.get("/admin/invoices?tenant=" + tenant + "&month=" + month).json();
            BigDecimal lines = BigDecimal.ZERO;
            Set<String> meters = new TreeSet<>();
            for (JsonNode line : invoice.path("lines")) {
                lines = lines.add(new BigDecimal(line.path("amount").asString()));
                meters.add(line.path("meter").asString());
            }
            assertThat(lines).as(replay + "the invoice's lines for " + month + ": " + invoice).isEqualByComparingTo(sum);
            assertThat(new BigDecimal(invoice.path("subtotals").path("USD").asString()))
                    .as(replay + "the invoice's subtotal for " + month).isEqualByComparingTo(sum);
            assertThat(meters).as(replay + "the invoice's meters").contains("input_tokens", "requests", "compute_seconds");
        });
        BigDecimal thisMonth = charged.getOrDefault(YearMonth.now(ZoneOffset.UTC), BigDecimal.ZERO);
        JsonNode budgets = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets");
        assertThat(budgets).hasSize(2);
        for (JsonNode budget : budgets) {
            String scope = !budget.hasNonNull("key") ? "the tenant's" : "key " + keyId + "'s";
            assertThat(new BigDecimal(budget.path("spent").asString())).as(replay + scope + " budget spent: " + budget)
                    .isEqualByComparingTo(thisMonth);
            assertThat(new BigDecimal(budget.path("reserved").asString())).as(replay + scope + " budget reserved")
                    .isZero();
        }
    }

    /** The life that wrote the record at a position: the last to start before it, or -1. */
    private static int lifeOf(List<Long> lifeStarts, long position) {
        for (int life = lifeStarts.size() - 1; life >= 0; life--) {
            if (position > lifeStarts.get(life)) {
                return life;
            }
        }
        return -1;
    }

    /** Every record, paged newest first. */
    private static List<Row> records(Http admin) {
        List<Row> rows = new ArrayList<>();
        Long before = null;
        do {
            JsonNode page = admin.get("/admin/usage/records?limit=1000" + (before == null ? "" : "&before=" + before)).json();
            rows.addAll(rows(page));
            before = !page.hasNonNull("next") ? null : page.path("next").asLong();
        } while (before != null);
        return rows;
    }

    private static List<Row> page(Http admin, String query) {
        JsonNode page = admin.get("/admin/usage/records?" + query).json();
        assertThat(page.hasNonNull("next")).as("more than one page: " + query).isFalse();
        return rows(page);
    }

    private static List<Row> rows(JsonNode page) {
        List<Row> rows = new ArrayList<>();
        for (JsonNode record : page.path("data")) {
            rows.add(new Row(record.path("position").asLong(), record.path("request_id").asString(),
                    record.hasNonNull("client_request_id") ? record.path("client_request_id").asString() : null,
                    Instant.parse(record.path("started_at").asString()), record.path("currency").asString(),
                    new BigDecimal(record.path("charge").asString())));
        }
        return rows;
    }

    private static Process start(Path data, int port, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // its temporary files beside its log: a server killed with SIGKILL cannot delete what it unpacked there
        Path temporary = Files.createDirectories(log.resolveSibling("tmp"));
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + temporary,
                "-jar", "target/atrium.jar", "serve",
                "--port", Integer.toString(port), "--data-dir", data.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private static void awaitReady(Http http, Process server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            assertThat(server.isAlive()).isTrue();
            try {
                if (http.get("/v2/health/ready").status() == 200) {
                    return;
                }
            } catch (RuntimeException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not become ready");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
