package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.FuzzInput;
import dev.atrium.testing.FuzzTries;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import tools.jackson.databind.JsonNode;

/**
 * Fuzzing the server over HTTP: random, mutated and garbage bodies, with every content type, to every endpoint that
 * takes a body on {@code /v1}, {@code /v2} and {@code /admin}, as the platform admin and as a tenant's member. The
 * answer is never a 5xx; when it is an error it has the protocol's shape and shows no class name, stack trace or
 * file path; and the server still answers afterwards.
 */
@AddLifecycleHook(FuzzTries.class)
class HttpFuzzProperties {
    /** Every route that takes a body, from the server's own route table: a route added later is fuzzed too. */
    private static List<String> endpoints;
    private static final List<String> CONTENT_TYPES = List.of("application/json", "application/json; charset=utf-8",
            "text/plain", "multipart/form-data; boundary=" + Http.BOUNDARY, "application/x-www-form-urlencoded", "");

    private static TestServer server;
    private static Http admin;
    private static String adminKey;
    private static String memberKey;

    @BeforeContainer
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none", "default-rpm", "1000000", "default-tpm", "1000000000"));
        admin = server.http();
        Path tensor = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .output("y", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .node("Identity", List.of("x"), List.of("y"))
                .write(TempDirectories.create("atrium-fuzz-").resolve("identity.onnx"));
        assertThat(admin.postJson("/admin/models", Map.of("name", "fuzz-tensor", "task", "tensor")).status())
                .isEqualTo(201);
        assertThat(admin.upload("/admin/models/fuzz-tensor/versions", Map.of("onnx", tensor)).status()).isEqualTo(201);
        Tenants tenants = new Tenants(admin);
        adminKey = server.adminKey();
        endpoints = server.atrium().routes().routes().stream()
                .filter(route -> List.of("POST", "PUT", "PATCH").contains(route.method().text()))
                .map(route -> route.method().text() + " " + route.pattern().replace("{model}", "{name}"))
                .toList();
        assertThat(endpoints).as("routes that take a body").contains("POST /v1/embeddings", "POST /admin/models");
        memberKey = tenants.key(tenants.tenant("fuzzed"), "member").secret();
    }

    @AfterContainer
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Property(tries = 600)
    void anyBody_toAnyEndpoint_isNever5xx_andErrorsHaveTheProtocolsShape(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        String[] endpoint = fuzz.oneOf(endpoints).split(" ", 2);
        String path = endpoint[1].replaceAll("\\{(?!name|version|alias|id)[a-z_]+}", "x")
                .replace("{name}", fuzz.oneOf("all-minilm-l6-v2", "fuzz-tensor", "missing", segment(fuzz)))
                .replace("{version}", fuzz.oneOf("1", "2", "0", "-1", "99999999999", "x"))
                .replace("{alias}", fuzz.oneOf("staging", "production", "latest", "UPPER", "a b"))
                .replace("{id}", fuzz.oneOf("key_000000000000000000000000", segment(fuzz)));
        String encoded = encodePath(path);
        byte[] body = switch (fuzz.below(4)) {
            case 0 -> fuzz.mutatedText(fuzz.value(4));
            case 1 -> fuzz.garbage(2048);
            case 2 -> fuzz.mutate(bodyFor(fuzz, endpoint[1]));
            default -> bodyFor(fuzz, endpoint[1]);
        };
        String type = fuzz.oneOf(CONTENT_TYPES);
        String key = fuzz.chance(50) ? adminKey : memberKey;
        String head = endpoint[0] + " " + encoded + " (" + type + "): " + FuzzInput.describe(body);
        Answer reply;
        try {
            reply = send(endpoint[0], encoded, type, key, body);
        } catch (java.io.IOException e) {
            throw new AssertionError("no answer to " + shorten(head), e);
        }
        String described = shorten(head + " -> " + reply);
        assertThat(reply.status()).as(described).isLessThan(500);
        if (reply.status() >= 400 && !reply.chunked()) {
            String text = reply.body();
            assertThat(text).as(described).doesNotContain("Exception").doesNotContain(".java")
                    .doesNotContain("\tat ").doesNotContain("/tmp/").doesNotContain("dev.atrium");
            if (reply.status() != 404 || !text.isEmpty()) {
                JsonNode error = dev.atrium.server.Json.MAPPER.readTree(text).path("error");
                if (encoded.startsWith("/v2/")) {
                    assertThat(error.isString()).as(described + ": the v2 error shape").isTrue();
                } else {
                    assertThat(error.path("message").isString()).as(described + ": the OpenAI error shape").isTrue();
                    assertThat(error.has("type") && error.has("code") && error.has("param")).as(described).isTrue();
                }
            }
        }
        assertThat(server.http().get("/health").status()).as("still serving after " + described).isEqualTo(200);
    }

    /** An answer as it came on the wire. */
    record Answer(int status, boolean chunked, String body) {
        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    /**
     * One request on a connection of its own, read to the end: an answer that comes with the connection's close
     * (as error answers that leave a body unread do) is still read, whatever a pooling client would make of it.
     */
    private static Answer send(String method, String path, String type, String key, byte[] body)
            throws java.io.IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.atrium().port())) {
            socket.setSoTimeout(30_000);
            String headers = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + key
                    + "\r\nConnection: close\r\n" + (type.isEmpty() ? "" : "Content-Type: " + type + "\r\n")
                    + "Content-Length: " + body.length + "\r\n\r\n";
            socket.getOutputStream().write(headers.getBytes(StandardCharsets.UTF_8));
            try {
                socket.getOutputStream().write(body);
                socket.getOutputStream().flush();
            } catch (java.io.IOException e) {
                // the server may answer and close before reading all of the body: its answer is still there
            }
            byte[] all = socket.getInputStream().readAllBytes();
            String text = new String(all, StandardCharsets.UTF_8);
            int end = text.indexOf("\r\n\r\n");
            if (!text.startsWith("HTTP/1.1 ") || end < 0) {
                throw new java.io.IOException("not an HTTP answer: " + shorten(text));
            }
            String head = text.substring(0, end).toLowerCase(java.util.Locale.ROOT);
            return new Answer(Integer.parseInt(text.substring(9, 12)), head.contains("transfer-encoding: chunked"),
                    text.substring(end + 4));
        }
    }

    /** A body built from the endpoint's own fields, some wrong, some unknown. */
    private static byte[] bodyFor(FuzzInput fuzz, String endpoint) {
        Map<String, java.util.function.Function<FuzzInput, JsonNode>> fields = switch (endpoint) {
            case "/v1/embeddings" -> Map.of("model", f -> FuzzInput.text("all-minilm-l6-v2"), "input",
                    f -> f.chance(50) ? FuzzInput.text(f.string()) : f.value(2), "encoding_format",
                    f -> FuzzInput.text(f.oneOf("float", "base64", "x")), "dimensions", FuzzInput::number);
            case "/v1/chat/completions", "/v1/completions" -> Map.of("model",
                    f -> FuzzInput.text(f.oneOf("all-minilm-l6-v2", "missing")), "messages", f -> f.value(3),
                    "prompt", f -> FuzzInput.text(f.string()), "max_tokens", FuzzInput::number, "n", FuzzInput::number,
                    "stream", f -> f.value(0), "response_format", f -> f.value(3));
            case "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer" -> Map.of("inputs",
                    f -> f.value(4), "outputs", f -> f.value(2), "id", f -> f.value(1), "parameters", f -> f.value(2));
            case "/admin/prices" -> Map.of("model", f -> FuzzInput.text("fuzz-tensor"), "per_request",
                    f -> f.chance(50) ? FuzzInput.text(f.string()) : f.number(), "currency", f -> FuzzInput.text("USD"),
                    "input_per_1m", f -> f.value(0), "effective_from", f -> FuzzInput.text(f.string()));
            case "/admin/budgets" -> Map.of("tenant", f -> FuzzInput.text(f.string()), "monthly_limit",
                    f -> f.chance(50) ? FuzzInput.text(f.string()) : f.number(), "currency", f -> f.value(0),
                    "alert_at", f -> f.value(2));
            default -> Map.of("name", f -> FuzzInput.text(f.string()), "task", f -> FuzzInput.text(
                    f.oneOf("tensor", "embedding", "chat", "x")), "version", FuzzInput::number, "role",
                    f -> FuzzInput.text(f.oneOf("member", "owner", "admin", "reader", "x")), "rpm", FuzzInput::number,
                    "host", f -> FuzzInput.text(f.string()), "max_batch_size", FuzzInput::number);
        };
        return fuzz.body(fields).toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A random path segment, of a length a URL takes (a request line of megabytes is the HTTP layer's to refuse). */
    private static String segment(FuzzInput fuzz) {
        // no separators or dot segments: a segment that moves the request to another route tests the router, not it
        String text = fuzz.string().replace('/', '_').replace('.', '_').replace('\\', '_');
        return text.substring(0, Math.min(text.length(), 40));
    }

    private static String shorten(String text) {
        return text.length() <= 600 ? text : text.substring(0, 300) + " ... " + text.substring(text.length() - 300);
    }

    private static String encodePath(String path) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/:".indexOf(c) >= 0) {
                encoded.append((char) c);
            } else {
                encoded.append('%').append(String.format("%02X", c));
            }
        }
        return encoded.toString();
    }
}
