package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two tenants, every role, every endpoint that takes a model name or an id, every verb: no tenant reaches
 * another's objects, a foreign object answers exactly like a missing one, lists hold nothing foreign, and
 * members and readers can do nothing only an owner may.
 */
class AccessMatrixTest {
    private static final String MISSING_MODEL = "zz-missing-model";
    private static final String MISSING_KEY = "key_000000000000000000000000";
    private static final String MISSING_TENANT = "ten_000000000000000000000000";
    private static final Map<String, String> MISSING = Map.of("model", MISSING_MODEL, "key", MISSING_KEY, "tenant",
            MISSING_TENANT, "file", "file-000000000000000000000000", "job", "ftjob-000000000000000000000000");

    /** One request, with {model}, {key} and {tenant} standing for the target's names. */
    record Template(String method, String path, String contentType, String body, boolean mutates) {
        Http.Reply send(Http http, Map<String, String> target) {
            String resolvedPath = fill(path, target);
            byte[] payload = contentType != null && contentType.startsWith("multipart/") ? upload
                    : body == null ? new byte[0] : fill(body, target).getBytes(StandardCharsets.UTF_8);
            var builder = http.request(resolvedPath);
            if (contentType != null) {
                builder.header("Content-Type", contentType);
            }
            return http.send(builder.method(method, java.net.http.HttpRequest.BodyPublishers.ofByteArray(payload)).build());
        }

        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    /** Who may use a route; every route the server registers is in {@link #CLASSIFICATION}. */
    enum Access {
        /** No key needed. */
        OPEN,
        /**
         * The console's own routes: its page and files need no key, its session routes answer only to a session
         * cookie (a key in the headers is not a session: 401); ConsoleSessionTest covers them.
         */
        SESSION,
        /** Any key reads it (lists are scoped to the caller's tenant). */
        READ,
        /** Members and owners call models; readers get 403. */
        CALL,
        /** Owners and readers see it (usage); members call models and see none (403). */
        VIEW,
        /** An owner manages its tenant's objects; members and readers get 403. */
        OWNER,
        /** Platform admin only (or a tenant-scoped view for an owner). */
        ADMIN
    }

    /** Every route of the server, classified; a route missing here, or here and not served, fails the test. */
    static final Map<String, Access> CLASSIFICATION = classification();

    private static Map<String, Access> classification() {
        Map<String, Access> routes = new LinkedHashMap<>();
        routes.put("GET /health", Access.OPEN);
        routes.put("GET /console", Access.SESSION);
        routes.put("GET /console/{file}", Access.SESSION);
        routes.put("GET /console/lib/{file}", Access.SESSION);
        routes.put("POST /console/session", Access.SESSION);
        routes.put("GET /console/session", Access.SESSION);
        routes.put("DELETE /console/session", Access.SESSION);
        routes.put("GET /metrics", Access.ADMIN);
        routes.put("GET /v1/models", Access.READ);
        routes.put("GET /v1/models/{model}", Access.READ);
        routes.put("GET /v1/usage", Access.VIEW);
        routes.put("POST /v1/embeddings", Access.CALL);
        routes.put("POST /v1/chat/completions", Access.CALL);
        routes.put("POST /v1/completions", Access.CALL);
        routes.put("POST /v1/classifications", Access.CALL);
        routes.put("POST /v1/audio/transcriptions", Access.CALL);
        routes.put("POST /v1/audio/translations", Access.CALL);
        routes.put("POST /v1/predictions", Access.CALL);
        routes.put("POST /v1/files", Access.CALL);
        routes.put("GET /v1/files", Access.READ);
        routes.put("GET /v1/files/{file_id}", Access.READ);
        routes.put("GET /v1/files/{file_id}/content", Access.READ);
        routes.put("DELETE /v1/files/{file_id}", Access.CALL);
        routes.put("POST /v1/fine_tuning/jobs", Access.CALL);
        routes.put("GET /v1/fine_tuning/jobs", Access.READ);
        routes.put("GET /v1/fine_tuning/jobs/{job_id}", Access.READ);
        routes.put("POST /v1/fine_tuning/jobs/{job_id}/cancel", Access.CALL);
        routes.put("GET /v1/fine_tuning/jobs/{job_id}/events", Access.READ);
        routes.put("GET /v1/fine_tuning/jobs/{job_id}/checkpoints", Access.READ);
        routes.put("POST /v1/evaluations", Access.CALL);
        routes.put("GET /v2", Access.READ);
        routes.put("GET /v2/health/live", Access.READ);
        routes.put("GET /v2/health/ready", Access.READ);
        routes.put("GET /v2/models/{model}", Access.READ);
        routes.put("GET /v2/models/{model}/versions/{version}", Access.READ);
        routes.put("GET /v2/models/{model}/ready", Access.READ);
        routes.put("GET /v2/models/{model}/versions/{version}/ready", Access.READ);
        routes.put("POST /v2/models/{model}/infer", Access.CALL);
        routes.put("POST /v2/models/{model}/versions/{version}/infer", Access.CALL);
        routes.put("POST /admin/models", Access.OWNER);
        routes.put("GET /admin/models", Access.READ);
        routes.put("GET /admin/models/{name}", Access.READ);
        routes.put("DELETE /admin/models/{name}", Access.OWNER);
        routes.put("POST /admin/models/{name}/versions", Access.OWNER);
        routes.put("GET /admin/models/{name}/versions", Access.READ);
        routes.put("GET /admin/models/{name}/versions/{version}", Access.READ);
        routes.put("DELETE /admin/models/{name}/versions/{version}", Access.OWNER);
        routes.put("GET /admin/models/{name}/versions/{version}/onnx", Access.READ);
        routes.put("GET /admin/models/{name}/versions/{version}/bundle", Access.READ);
        routes.put("GET /admin/signing-key", Access.READ);
        routes.put("GET /admin/models/{name}/versions/{version}/files/{role}", Access.READ);
        routes.put("POST /admin/models/{name}/versions/{version}/load", Access.OWNER);
        routes.put("POST /admin/models/{name}/versions/{version}/unload", Access.OWNER);
        routes.put("PUT /admin/models/{name}/versions/{version}/scheduling", Access.OWNER);
        routes.put("GET /admin/models/{name}/versions/{version}/monitoring", Access.READ);
        routes.put("PUT /admin/models/{name}/versions/{version}/monitoring", Access.OWNER);
        routes.put("PUT /admin/models/{name}/residency", Access.OWNER);
        routes.put("GET /admin/loaded", Access.READ); // scoped: a tenant's own loaded versions
        routes.put("POST /admin/models/{name}/versions/{version}/quantize", Access.OWNER);
        routes.put("PUT /admin/models/{name}/aliases/{alias}", Access.OWNER);
        routes.put("DELETE /admin/models/{name}/aliases/{alias}", Access.OWNER);
        routes.put("POST /admin/models/{name}/aliases/{alias}/rollout", Access.OWNER);
        routes.put("GET /admin/models/{name}/aliases/{alias}/rollout", Access.READ);
        routes.put("POST /admin/models/{name}/aliases/{alias}/rollout/promote", Access.OWNER);
        routes.put("POST /admin/models/{name}/aliases/{alias}/rollout/abort", Access.OWNER);
        routes.put("PUT /admin/models/{name}/aliases/{alias}/shadow", Access.OWNER);
        routes.put("GET /admin/models/{name}/aliases/{alias}/shadow", Access.READ);
        routes.put("DELETE /admin/models/{name}/aliases/{alias}/shadow", Access.OWNER);
        routes.put("GET /admin/upstreams", Access.OWNER); // owners read where their remote models may go
        routes.put("POST /admin/upstreams", Access.ADMIN);
        routes.put("DELETE /admin/upstreams/{host}", Access.ADMIN);
        routes.put("POST /admin/tenants", Access.ADMIN);
        routes.put("GET /admin/tenants", Access.ADMIN);
        routes.put("GET /admin/tenants/{id}", Access.ADMIN);
        routes.put("PATCH /admin/tenants/{id}", Access.ADMIN);
        routes.put("DELETE /admin/tenants/{id}", Access.ADMIN);
        routes.put("GET /admin/publishers", Access.OWNER); // owners read whose signatures the platform accepts
        routes.put("POST /admin/publishers", Access.ADMIN);
        routes.put("DELETE /admin/publishers/{id}", Access.ADMIN);
        routes.put("POST /admin/keys", Access.OWNER);
        routes.put("GET /admin/keys", Access.OWNER);
        routes.put("GET /admin/keys/{id}", Access.OWNER);
        routes.put("PATCH /admin/keys/{id}", Access.OWNER);
        routes.put("DELETE /admin/keys/{id}", Access.OWNER);
        routes.put("POST /admin/prices", Access.ADMIN);
        routes.put("GET /admin/prices", Access.READ);
        routes.put("POST /admin/budgets", Access.OWNER);
        routes.put("GET /admin/budgets", Access.OWNER);
        routes.put("GET /admin/usage", Access.ADMIN);
        routes.put("GET /admin/usage/records", Access.OWNER);
        routes.put("GET /admin/invoices", Access.OWNER);
        routes.put("GET /admin/audit", Access.OWNER);
        return routes;
    }

    private static TestServer server;
    private static Http admin;
    private static final Map<String, Map<String, String>> OBJECTS = new LinkedHashMap<>();
    private static final Map<String, List<Tenants.Key>> ACTORS = new LinkedHashMap<>();
    private static byte[] upload;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        Path model = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .output("y", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .node("Identity", List.of("x"), List.of("y"))
                .write(server.dataDir().resolve("identity.onnx"));
        upload = Http.multipart(Map.of("onnx", Files.readAllBytes(model)));
        for (String name : List.of("a", "b")) {
            String tenant = tenants.tenant("tenant-" + name);
            Tenants.Key owner = tenants.key(tenant, "owner");
            List<Tenants.Key> actors = List.of(owner, tenants.key(tenant, "member"), tenants.key(tenant, "reader"));
            ACTORS.put(name, actors);
            Http ownerHttp = admin.withKey(owner.secret());
            String modelName = name + "-model";
            assertThat(ownerHttp.postJson("/admin/models", Map.of("name", modelName, "task", "tensor")).status()).isEqualTo(201);
            assertThat(ownerHttp.post("/admin/models/" + modelName + "/versions",
                    "multipart/form-data; boundary=" + Http.BOUNDARY, upload).status()).isEqualTo(201);
            assertThat(ownerHttp.putJson("/admin/models/" + modelName + "/aliases/production", Map.of("version", 1))
                    .status()).isEqualTo(200);
            // usage of its own, for the usage views to hold
            Http member = admin.withKey(actors.get(1).secret());
            assertThat(member.postJson("/v2/models/" + modelName + "/infer",
                    "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [1, 2]}]}")
                    .status()).isEqualTo(200);
            Http.Reply key = ownerHttp.postJson("/admin/keys", Map.of("role", "member", "name", "target"));
            assertThat(key.status()).as(key.toString()).isEqualTo(201);
            // a training file and a job of its own (which fails: the file is no dataset)
            Http.Reply file = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                    Http.form(Map.of("purpose", "fine-tune"), List.of("{\"a\": 1}\n".getBytes(StandardCharsets.UTF_8))));
            assertThat(file.status()).as(file.toString()).isEqualTo(200);
            Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                    "training_file", file.json().path("id").asString()));
            assertThat(job.status()).as(job.toString()).isEqualTo(200);
            OBJECTS.put(name, Map.of("model", modelName, "key", key.json().path("id").asString(), "tenant", tenant,
                    "prefix", key.json().path("prefix").asString(), "file", file.json().path("id").asString(),
                    "job", job.json().path("id").asString()));
        }
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static List<Template> templates() {
        String json = "application/json";
        String multipart = "multipart/form-data; boundary=" + Http.BOUNDARY;
        String tensor = "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [1, 2]}]}";
        List<Template> templates = new ArrayList<>();
        templates.add(new Template("GET", "/v1/models/{model}", null, null, false));
        templates.add(new Template("POST", "/v1/embeddings", json, "{\"model\": \"{model}\", \"input\": \"x\"}", false));
        templates.add(new Template("POST", "/v1/embeddings", json, "{\"model\": \"{model}:production\", \"input\": \"x\"}", false));
        templates.add(new Template("POST", "/v1/evaluations", json,
                "{\"model\": \"{model}\", \"file\": \"{file}\", \"target\": \"y\"}", false));
        templates.add(new Template("GET", "/v2/models/{model}", null, null, false));
        templates.add(new Template("GET", "/v2/models/{model}/versions/1", null, null, false));
        templates.add(new Template("GET", "/v2/models/{model}/ready", null, null, false));
        templates.add(new Template("POST", "/v2/models/{model}/infer", json, tensor, false));
        templates.add(new Template("POST", "/v2/models/{model}:1/infer", json, tensor, false));
        templates.add(new Template("POST", "/v2/models/{model}/versions/1/infer", json, tensor, false));
        templates.add(new Template("GET", "/admin/models/{model}", null, null, false));
        templates.add(new Template("DELETE", "/admin/models/{model}", null, null, true));
        templates.add(new Template("GET", "/admin/models/{model}/versions", null, null, false));
        templates.add(new Template("POST", "/admin/models/{model}/versions", multipart, null, true));
        templates.add(new Template("GET", "/admin/models/{model}/versions/1", null, null, false));
        templates.add(new Template("DELETE", "/admin/models/{model}/versions/1", null, null, true));
        templates.add(new Template("GET", "/admin/models/{model}/versions/1/onnx", null, null, false));
        templates.add(new Template("GET", "/admin/models/{model}/versions/1/bundle", null, null, false));
        templates.add(new Template("POST", "/admin/models/{model}/versions/1/load", null, null, true));
        templates.add(new Template("POST", "/admin/models/{model}/versions/1/unload", null, null, true));
        templates.add(new Template("PUT", "/admin/models/{model}/aliases/staging", json, "{\"version\": 1}", true));
        templates.add(new Template("PUT", "/admin/models/{model}/versions/1/scheduling", json,
                "{\"max_batch_size\": 2}", true));
        templates.add(new Template("GET", "/admin/models/{model}/versions/1/monitoring", null, null, false));
        templates.add(new Template("PUT", "/admin/models/{model}/versions/1/monitoring", json,
                "{\"threshold\": 0.3}", true));
        templates.add(new Template("PUT", "/admin/models/{model}/residency", json,
                "{\"pinned\": true, \"keep_alive\": \"5m\"}", true));
        templates.add(new Template("POST", "/admin/models/{model}/versions/1/quantize", json, "{}", true));
        templates.add(new Template("POST", "/v1/chat/completions", json,
                "{\"model\": \"{model}\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", false));
        templates.add(new Template("DELETE", "/admin/models/{model}/aliases/production", null, null, true));
        templates.add(new Template("GET", "/admin/models/{model}/aliases/production/rollout", null, null, false));
        templates.add(new Template("POST", "/admin/models/{model}/aliases/production/rollout", json,
                "{\"version\": 1}", true));
        templates.add(new Template("PUT", "/admin/models/{model}/aliases/production/shadow", json,
                "{\"version\": 1, \"fraction\": 0.5}", true));
        templates.add(new Template("GET", "/admin/models/{model}/aliases/production/shadow", null, null, false));
        templates.add(new Template("DELETE", "/admin/models/{model}/aliases/production/shadow", null, null, true));
        templates.add(new Template("GET", "/admin/keys/{key}", null, null, false));
        templates.add(new Template("PATCH", "/admin/keys/{key}", json, "{\"name\": \"taken\"}", true));
        templates.add(new Template("DELETE", "/admin/keys/{key}", null, null, true));
        templates.add(new Template("GET", "/admin/keys?tenant={tenant}", null, null, false));
        templates.add(new Template("POST", "/admin/keys", json, "{\"tenant\": \"{tenant}\", \"role\": \"member\"}", true));
        templates.add(new Template("GET", "/admin/tenants/{tenant}", null, null, false));
        templates.add(new Template("DELETE", "/admin/tenants/{tenant}", null, null, true));
        templates.add(new Template("GET", "/admin/audit?tenant={tenant}", null, null, false));
        templates.add(new Template("GET", "/admin/usage/records?tenant={tenant}", null, null, false));
        templates.add(new Template("GET", "/admin/invoices?tenant={tenant}", null, null, false));
        templates.add(new Template("GET", "/admin/budgets?tenant={tenant}", null, null, false));
        templates.add(new Template("GET", "/admin/usage?tenant={tenant}", null, null, false));
        templates.add(new Template("POST", "/admin/budgets", json,
                "{\"key\": \"{key}\", \"monthly_limit\": \"1\", \"currency\": \"USD\"}", true));
        return templates;
    }

    @Test
    void routeTable_everyRouteIsClassified_andEveryClassifiedRouteServed() {
        List<String> served = server.atrium().routes().routes().stream().map(Object::toString).toList();
        for (String route : served) {
            assertThat(CLASSIFICATION).as("classify this route: " + route).containsKey(route);
        }
        for (String route : CLASSIFICATION.keySet()) {
            assertThat(served).as("the server has no route " + route + "; remove it from the classification")
                    .contains(route);
        }
    }

    /**
     * Every route of the table, by a member and a reader of each tenant on its own objects: nothing answers 5xx,
     * neither may use a route only an owner or the admin may, and a reader calls no model.
     */
    @Test
    void everyRoute_byMembersAndReaders_keepsToTheirRole() {
        int checked = 0;
        for (String own : List.of("a", "b")) {
            for (Tenants.Key actor : ACTORS.get(own).subList(1, 3)) {
                Http http = admin.withKey(actor.secret());
                for (Map.Entry<String, Access> route : CLASSIFICATION.entrySet()) {
                    Http.Reply reply = routeTemplate(route.getKey()).send(http, OBJECTS.get(own));
                    String what = actor.role() + " of tenant " + own + ": " + route.getKey() + " -> " + reply;
                    assertThat(reply.status()).as(what).isLessThan(500);
                    boolean refused = switch (route.getValue()) {
                        case OPEN, READ, SESSION -> false;
                        case CALL -> actor.role().equals("reader");
                        case VIEW -> actor.role().equals("member");
                        case OWNER, ADMIN -> true;
                    };
                    if (route.getValue() == Access.SESSION) {
                        checked++;
                        continue;
                    }
                    if (!refused) {
                        assertThat(reply.status()).as(what).isNotIn(401, 403);
                    } else {
                        assertThat(reply.status()).as(what).isEqualTo(403);
                        if (!route.getKey().contains(" /v2")) {
                            // the v2 protocol's errors are {"error": message}, without a code
                            assertThat(reply.json().path("error").path("code").asString()).as(what)
                                    .isEqualTo("permission_denied");
                        }
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(2 * 2 * CLASSIFICATION.size());
    }

    /**
     * Every route of the table by an owner on its own tenant's objects and by the platform admin: nothing answers
     * 5xx, an owner is refused (403) exactly the routes only the admin may use, and the admin none. The objects are
     * a third tenant's, made for this test alone: the mutating routes run for real, in the table's order, and the
     * later ones may find their object gone (404), which is no refusal.
     */
    @Test
    void everyRoute_byAnOwnerAndTheAdmin_isRefusedOnlyWhereTheirRoleIs() throws Exception {
        for (boolean asAdmin : List.of(false, true)) {
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("tenant-c-" + asAdmin);
            Tenants.Key owner = tenants.key(tenant, "owner");
            Http ownerHttp = admin.withKey(owner.secret());
            String modelName = "c-model-" + asAdmin;
            assertThat(ownerHttp.postJson("/admin/models", Map.of("name", modelName, "task", "tensor")).status()).isEqualTo(201);
            assertThat(ownerHttp.post("/admin/models/" + modelName + "/versions",
                    "multipart/form-data; boundary=" + Http.BOUNDARY, upload).status()).isEqualTo(201);
            Http.Reply key = ownerHttp.postJson("/admin/keys", Map.of("role", "member", "name", "target"));
            Map<String, String> objects = Map.of("model", modelName, "key", key.json().path("id").asString(),
                    "tenant", tenant, "file", MISSING.get("file"), "job", MISSING.get("job"));
            Http http = asAdmin ? admin : ownerHttp;
            int checked = 0;
            for (Map.Entry<String, Access> route : CLASSIFICATION.entrySet()) {
                Http.Reply reply = routeTemplate(route.getKey()).send(http, objects);
                String what = (asAdmin ? "the admin" : "an owner") + ": " + route.getKey() + " -> " + reply;
                assertThat(reply.status()).as(what).isLessThan(500);
                if (route.getValue() == Access.SESSION) {
                    checked++;
                    continue;
                }
                if (!asAdmin && route.getValue() == Access.ADMIN) {
                    assertThat(reply.status()).as(what).isEqualTo(403);
                } else {
                    assertThat(reply.status()).as(what).isNotEqualTo(403);
                    assertThat(reply.status()).as(what).isNotEqualTo(401);
                }
                checked++;
            }
            assertThat(checked).isEqualTo(CLASSIFICATION.size());
        }
    }

    /** Every route of the table with a tenant's object in its path, by every role of the other tenant. */
    @Test
    void everyRouteWithAnObject_byTheOtherTenant_answersLikeMissing() {
        Map<String, String> missing = MISSING;
        List<Template> templates = CLASSIFICATION.keySet().stream().map(AccessMatrixTest::routeTemplate)
                .filter(template -> template.path().contains("{")).toList();
        assertThat(templates).isNotEmpty();
        for (String own : List.of("a", "b")) {
            Map<String, String> foreign = OBJECTS.get(own.equals("a") ? "b" : "a");
            for (Tenants.Key actor : ACTORS.get(own)) {
                Http http = admin.withKey(actor.secret());
                for (Template template : templates) {
                    assertForeignLikeMissing(http, template, foreign, missing, actor.role() + " of tenant " + own);
                }
            }
        }
    }

    /** A verb a route does not have answers 404 or 405 in its protocol's error shape, never 5xx. */
    @Test
    void verbsNotInTheTable_answer404Or405() {
        Http owner = admin.withKey(ACTORS.get("a").getFirst().secret());
        for (String path : List.of("/health", "/metrics", "/v1/models", "/v2/models/a-model/ready", "/admin/audit")) {
            for (String verb : List.of("GET", "POST", "PUT", "PATCH", "DELETE")) {
                String pattern = verb + " " + path.replace("a-model", "{model}");
                if (CLASSIFICATION.containsKey(pattern)) {
                    continue;
                }
                Http.Reply reply = new Template(verb, path, "application/json", "{}", true).send(owner, Map.of());
                assertThat(reply.status()).as(pattern + " -> " + reply).isIn(404, 405);
                assertThat(reply.json().path("error").isMissingNode()).as(pattern + " -> " + reply).isFalse();
            }
        }
    }

    /** A request on the route, its path parameters standing for the target's objects. */
    private static Template routeTemplate(String route) {
        String method = route.substring(0, route.indexOf(' '));
        String pattern = route.substring(route.indexOf(' ') + 1);
        String path = pattern.replace("{name}", "{model}").replace("{version}", "1").replace("{alias}", "production")
                .replace("{host}", "example.invalid").replace("{role}", "onnx")
                .replace("/tenants/{id}", "/tenants/{tenant}").replace("/keys/{id}", "/keys/{key}")
                .replace("/publishers/{id}", "/publishers/pub_000000000000000000000000")
                .replace("{file_id}", "{file}").replace("{job_id}", "{job}");
        boolean hasBody = !method.equals("GET") && !method.equals("DELETE");
        return new Template(method, path, hasBody ? "application/json" : null,
                hasBody ? "{\"model\": \"{model}\", \"version\": 1}" : null, !method.equals("GET"));
    }

    @Test
    void foreignObjects_answerExactlyLikeMissingOnes_andNeverSucceed() {
        Map<String, String> missing = MISSING;
        int checked = 0;
        for (String own : List.of("a", "b")) {
            Map<String, String> foreign = OBJECTS.get(own.equals("a") ? "b" : "a");
            for (Tenants.Key actor : ACTORS.get(own)) {
                Http http = admin.withKey(actor.secret());
                for (Template template : templates()) {
                    assertForeignLikeMissing(http, template, foreign, missing, actor.role() + " of tenant " + own);
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(2 * 3 * templates().size());
        // nothing foreign changed
        for (String name : List.of("a", "b")) {
            Map<String, String> objects = OBJECTS.get(name);
            Http.Reply model = admin.withKey(ACTORS.get(name).getFirst().secret()).get("/admin/models/" + objects.get("model"));
            assertThat(model.json().path("versions").toString()).isEqualTo("[1]");
            assertThat(model.json().path("aliases").path("production").asInt()).isEqualTo(1);
            Http.Reply key = admin.get("/admin/keys/" + objects.get("key"));
            assertThat(key.json().path("revoked").asBoolean()).isFalse();
            assertThat(key.json().path("name").asString()).isEqualTo("target");
        }
    }

    @Test
    void everyVerb_onEveryPathWithAnId_treatsForeignLikeMissing() {
        Map<String, String> missing = MISSING;
        List<String> paths = templates().stream().map(Template::path).filter(path -> path.contains("{")).distinct().toList();
        int checked = 0;
        for (String own : List.of("a", "b")) {
            Map<String, String> foreign = OBJECTS.get(own.equals("a") ? "b" : "a");
            for (Tenants.Key actor : ACTORS.get(own)) {
                Http http = admin.withKey(actor.secret());
                for (String path : paths) {
                    for (String verb : List.of("GET", "POST", "PUT", "PATCH", "DELETE")) {
                        Template template = new Template(verb, path, "application/json", "{\"version\": 1}", true);
                        assertForeignLikeMissing(http, template, foreign, missing, actor.role() + " of tenant " + own);
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(2 * 3 * paths.size() * 5);
    }

    @Test
    void lists_showNothingForeign() {
        for (String own : List.of("a", "b")) {
            Map<String, String> foreign = OBJECTS.get(own.equals("a") ? "b" : "a");
            for (Tenants.Key actor : ACTORS.get(own)) {
                Http http = admin.withKey(actor.secret());
                for (String path : List.of("/v1/models", "/admin/models", "/admin/keys", "/admin/tenants", "/v1/usage",
                        "/v1/usage?group_by=key", "/admin/usage/records?limit=1000", "/admin/invoices",
                        "/admin/budgets", "/admin/prices", "/admin/loaded")) {
                    String body = http.get(path).text();
                    for (String value : foreign.values()) {
                        assertThat(body).as(actor.role() + " " + path).doesNotContain(value);
                    }
                }
                // audit rows echo what this tenant's own keys asked for (foreign names included, answered 404
                // like missing ones), but never another tenant's rows
                Http.Reply audit = http.get("/admin/audit?limit=1000");
                if (audit.status() == 200) {
                    List<String> foreignKeys = ACTORS.get(own.equals("a") ? "b" : "a").stream().map(Tenants.Key::id).toList();
                    for (var row : audit.json().path("data")) {
                        assertThat(row.path("tenant_id").asString()).isEqualTo(OBJECTS.get(own).get("tenant"));
                        assertThat(row.path("actor_key_id").asString()).isNotIn(foreignKeys);
                        String target = row.path("target").asString();
                        if (foreign.values().stream().anyMatch(target::contains)) {
                            assertThat(row.path("outcome").asString()).as(row.toString()).isNotEqualTo("ok");
                        }
                    }
                } else {
                    assertThat(audit.status()).isEqualTo(403);
                }
            }
        }
        // the lists do show the tenant's own objects to those allowed to see them
        Http ownerA = admin.withKey(ACTORS.get("a").getFirst().secret());
        assertThat(ownerA.get("/v1/models").text()).contains("a-model").contains("\"id\"");
        assertThat(ownerA.get("/admin/keys").text()).contains(OBJECTS.get("a").get("key"));
        assertThat(ownerA.get("/admin/audit?action=key.create").json().path("data").size()).isPositive();
    }

    @Test
    void membersAndReaders_canDoNothingOnlyAnOwnerMay() {
        for (String own : List.of("a", "b")) {
            Map<String, String> objects = OBJECTS.get(own);
            for (Tenants.Key actor : ACTORS.get(own).subList(1, 3)) {
                Http http = admin.withKey(actor.secret());
                for (Template template : templates()) {
                    if (!template.mutates()) {
                        continue;
                    }
                    Http.Reply reply = template.send(http, objects);
                    assertThat(reply.status()).as(actor.role() + " " + template + " -> " + reply).isEqualTo(403);
                    assertThat(reply.json().path("error").path("code").asString()).isEqualTo("permission_denied");
                }
                Http.Reply models = http.get("/admin/models/" + objects.get("model"));
                assertThat(models.json().path("versions").toString()).isEqualTo("[1]");
            }
        }
        // a reader calls nothing, a member may
        Http reader = admin.withKey(ACTORS.get("a").get(2).secret());
        Http member = admin.withKey(ACTORS.get("a").get(1).secret());
        String infer = "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [1, 2]}]}";
        assertThat(reader.postJson("/v2/models/a-model/infer", infer).status()).isEqualTo(403);
        assertThat(member.postJson("/v2/models/a-model/infer", infer).status()).isEqualTo(200);
        assertThat(reader.get("/v1/models").status()).isEqualTo(200);
        assertThat(reader.get("/admin/models/a-model").status()).isEqualTo(200);
    }

    @Test
    void keys_cannotBeMovedToAnotherTenantOrRaised() {
        Http ownerA = admin.withKey(ACTORS.get("a").getFirst().secret());
        String keyA = OBJECTS.get("a").get("key");
        String tenantB = OBJECTS.get("b").get("tenant");
        for (String patch : List.of("{\"tenant\": \"" + tenantB + "\"}", "{\"role\": \"owner\"}", "{\"role\": \"admin\"}",
                "{\"tenant_id\": \"" + tenantB + "\"}", "{\"id\": \"key_x\"}", "{\"name\": \"ok\", \"role\": \"owner\"}")) {
            for (Http actor : List.of(ownerA, admin)) {
                Http.Reply reply = actor.send(actor.request("/admin/keys/" + keyA).header("Content-Type", "application/json")
                        .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(patch)).build());
                assertThat(reply.status()).as(patch + " -> " + reply).isEqualTo(400);
            }
        }
        Http.Reply key = admin.get("/admin/keys/" + keyA);
        assertThat(key.json().path("tenant").asString()).isEqualTo(OBJECTS.get("a").get("tenant"));
        assertThat(key.json().path("role").asString()).isEqualTo("member");
        assertThat(key.json().path("name").asString()).isEqualTo("target");

        assertThat(ownerA.postJson("/admin/keys", Map.of("role", "admin")).status()).isEqualTo(403);
        assertThat(ownerA.postJson("/admin/keys", Map.of("role", "member", "tenant", tenantB)).status()).isEqualTo(404);
        Http.Reply own = ownerA.postJson("/admin/keys", Map.of("role", "reader"));
        assertThat(own.status()).isEqualTo(201);
        assertThat(own.json().path("tenant").asString()).isEqualTo(OBJECTS.get("a").get("tenant"));
    }

    /** The request fails on the foreign object exactly as it does on a missing one: same status, same body. */
    private static void assertForeignLikeMissing(Http http, Template template, Map<String, String> foreign,
            Map<String, String> missing, String actor) {
        Http.Reply toForeign = template.send(http, foreign);
        Http.Reply toMissing = template.send(http, missing);
        String what = actor + ": " + template;
        assertThat(toForeign.status()).as(what + " -> " + toForeign).isGreaterThanOrEqualTo(400);
        assertThat(toForeign.status()).as(what).isEqualTo(toMissing.status());
        assertThat(normalize(toForeign.text(), foreign)).as(what).isEqualTo(normalize(toMissing.text(), missing));
    }

    /** Replaces the target's names with placeholders, so that two answers can be compared. */
    private static String normalize(String body, Map<String, String> target) {
        String normalized = body;
        for (Map.Entry<String, String> name : target.entrySet()) {
            normalized = normalized.replace(name.getValue(), "{" + name.getKey() + "}");
        }
        return normalized;
    }

    static String fill(String text, Map<String, String> target) {
        String filled = text;
        for (Map.Entry<String, String> name : target.entrySet()) {
            filled = filled.replace("{" + name.getKey() + "}", name.getValue());
        }
        return filled;
    }
}
