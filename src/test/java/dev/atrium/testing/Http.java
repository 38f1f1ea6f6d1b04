package dev.atrium.testing;

import dev.atrium.server.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** A small HTTP client for tests: JSON in, status, headers and JSON out. */
public final class Http {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private final String baseUrl;
    private final String key;

    /** @param key the API key to send as a bearer token, or null for none */
    public Http(String baseUrl, String key) {
        this.baseUrl = baseUrl;
        this.key = key;
    }

    /** The key this client sends, or null. */
    public String key() {
        return key;
    }

    /** The same server, with another key (or none). */
    public Http withKey(String otherKey) {
        return new Http(baseUrl, otherKey);
    }

    /** A response: status, headers and the raw body, with its JSON when it is JSON. */
    public record Reply(int status, HttpResponse<byte[]> raw) {
        public JsonNode json() {
            return Json.MAPPER.readTree(raw.body());
        }

        public String text() {
            return new String(raw.body(), StandardCharsets.UTF_8);
        }

        /** The body's start, for assertion messages. */
        @Override
        public String toString() {
            String text = text();
            return status + " " + (text.length() > 600 ? text.substring(0, 600) + "..." : text);
        }

        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    public Reply get(String path) {
        return send(request(path).GET().build());
    }

    public Reply delete(String path) {
        return send(request(path).DELETE().build());
    }

    public Reply postJson(String path, Object body) {
        byte[] bytes = body instanceof String text ? text.getBytes(StandardCharsets.UTF_8) : Json.MAPPER.writeValueAsBytes(body);
        return post(path, "application/json", bytes);
    }

    public Reply putJson(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body))).build());
    }

    public Reply post(String path, String contentType, byte[] body) {
        HttpRequest.Builder builder = request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            builder.header("Content-Type", contentType);
        }
        return send(builder.build());
    }

    public Reply send(HttpRequest request) {
        try {
            HttpResponse<byte[]> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
            return new Reply(response.statusCode(), response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(60));
        if (key != null) {
            builder.header("Authorization", "Bearer " + key);
        }
        return builder;
    }

    public Reply patchJson(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body))).build());
    }

    /** Uploads files as multipart/form-data, the way {@code curl -F role=@file} does. */
    public Reply upload(String path, Map<String, Path> files) {
        Map<String, byte[]> parts = new LinkedHashMap<>();
        files.forEach((role, file) -> {
            try {
                parts.put(role, Files.readAllBytes(file));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return post(path, "multipart/form-data; boundary=" + BOUNDARY, multipart(parts));
    }

    public static final String BOUNDARY = "atrium-test-boundary";

    /**
     * A multipart form as a browser or an SDK sends it: text fields, then each file as a {@code file} part (named
     * {@code NAME.bin}), in order.
     */
    /** Polls a fine-tuning job until it has ended (succeeded, failed or cancelled) or the time is up; answers it. */
    public JsonNode awaitJobEnd(String id, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode job = get("/v1/fine_tuning/jobs/" + id).json();
        while (!List.of("succeeded", "failed", "cancelled").contains(job.path("status").asString())
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
            job = get("/v1/fine_tuning/jobs/" + id).json();
        }
        return job;
    }

    /** Uploads a training file ({@code purpose=fine-tune}) as {@code filename}; answers the reply. */
    public Reply uploadTrainingFile(String filename, String content) {
        return uploadTrainingFile(filename, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Uploads a training file's bytes ({@code purpose=fine-tune}) as {@code filename}; answers the reply. */
    public Reply uploadTrainingFile(String filename, byte[] content) {
        java.io.ByteArrayOutputStream form = new java.io.ByteArrayOutputStream();
        form.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune"
                + "\r\n--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        form.writeBytes(content);
        form.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return post("/v1/files", "multipart/form-data; boundary=" + BOUNDARY, form.toByteArray());
    }

    public static byte[] form(Map<String, String> fields, List<byte[]> files) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        fields.forEach((name, value) -> out.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data;"
                + " name=\"" + name + "\"\r\n\r\n" + value + "\r\n").getBytes(StandardCharsets.UTF_8)));
        for (int i = 0; i < files.size(); i++) {
            out.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file" + i
                    + ".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.writeBytes(files.get(i));
            out.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    /** Posts a multipart form (see {@link #form}). */
    public Reply postForm(String path, Map<String, String> fields, List<byte[]> files) {
        return post(path, "multipart/form-data; boundary=" + BOUNDARY, form(fields, files));
    }

    public static byte[] multipart(Map<String, byte[]> parts) {
        List<byte[]> chunks = new ArrayList<>();
        parts.forEach((name, bytes) -> {
            chunks.add(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                    + name + ".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            chunks.add(bytes);
            chunks.add("\r\n".getBytes(StandardCharsets.UTF_8));
        });
        chunks.add(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        int size = chunks.stream().mapToInt(chunk -> chunk.length).sum();
        byte[] body = new byte[size];
        int offset = 0;
        for (byte[] chunk : chunks) {
            System.arraycopy(chunk, 0, body, offset, chunk.length);
            offset += chunk.length;
        }
        return body;
    }
}
