package dev.atrium.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/** The CLI's HTTP client for a running server's management API. Failures carry the server's error message. */
final class AtriumClient {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    /** The most of an error answer read, where a file was expected. */
    private static final int MAX_ERROR_BYTES = 64 * 1024;

    /** A request the server refused, or a server that could not be reached. */
    static final class ClientException extends RuntimeException {
        ClientException(String message) {
            super(message);
        }
    }

    record Response(int status, JsonNode body) {}

    private final URI server;
    private final String key;
    private final HttpClient http;

    /** @param key the API key to send, or null to send none */
    AtriumClient(String server, String key) {
        this.server = URI.create(server.endsWith("/") ? server.substring(0, server.length() - 1) : server);
        this.key = key;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    Response get(String path) {
        return send(request(path).GET().build());
    }

    /** A GET whose answer is text (CSV), not JSON. */
    String getText(String path) {
        HttpResponse<byte[]> response = exchange(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() >= 400) {
            JsonNode body = parse(response.body());
            throw new ClientException("server answered " + response.statusCode() + ": "
                    + body.path("error").path("message").asString(""));
        }
        return new String(response.body(), StandardCharsets.UTF_8);
    }

    /** A file downloaded: where it was written, its size and its SHA-256 (hex). */
    record Download(Path file, long sizeBytes, String sha256) {}

    /**
     * A GET whose answer is a file, streamed into {@code target}: written beside it first and moved into place once
     * whole, so that a refusal or a cut answer leaves no partial file (and an existing one as it was).
     */
    Download download(String path, Path target) {
        HttpResponse<InputStream> response = exchange(request(path).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            if (response.statusCode() >= 400) {
                JsonNode error = parse(body.readNBytes(MAX_ERROR_BYTES));
                throw new ClientException("server answered " + response.statusCode() + ": "
                        + error.path("error").path("message").asString(""));
            }
            Path directory = target.toAbsolutePath().getParent();
            Path partial = Files.createTempFile(directory, "." + target.getFileName() + ".", ".part");
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                long size;
                try (OutputStream out = Files.newOutputStream(partial)) {
                    size = new DigestInputStream(body, digest).transferTo(out);
                }
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return new Download(target, size, HexFormat.of().formatHex(digest.digest()));
            } finally {
                Files.deleteIfExists(partial);
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new ClientException("downloading " + path + " to " + target + " failed: " + e.getMessage());
        }
    }

    Response delete(String path) {
        return send(request(path).DELETE().build());
    }

    Response patchJson(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build());
    }

    Response postJson(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build());
    }

    Response putJson(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build());
    }

    /** Uploads files as multipart/form-data, one part per entry, streamed from disk. */
    Response postFiles(String path, Map<String, Path> parts) {
        String boundary = "atrium-" + HexFormat.of().formatHex(randomBytes());
        List<HttpRequest.BodyPublisher> publishers = new ArrayList<>();
        try {
            for (Map.Entry<String, Path> part : parts.entrySet()) {
                String header = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part.getKey()
                        + "\"; filename=\"" + part.getValue().getFileName() + "\"\r\n"
                        + "Content-Type: application/octet-stream\r\n\r\n";
                publishers.add(HttpRequest.BodyPublishers.ofString(header, StandardCharsets.UTF_8));
                publishers.add(HttpRequest.BodyPublishers.ofFile(part.getValue()));
                publishers.add(HttpRequest.BodyPublishers.ofString("\r\n", StandardCharsets.UTF_8));
            }
        } catch (java.io.FileNotFoundException e) {
            throw new ClientException("cannot read " + e.getMessage());
        }
        publishers.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n", StandardCharsets.UTF_8));
        return send(request(path)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(publishers.toArray(HttpRequest.BodyPublisher[]::new)))
                .build());
    }

    /**
     * Posts a form of text fields and files, each file streamed from disk, and hands back the answer's lines as they
     * come (a stream of server-sent events), or the whole answer when it is not a stream.
     *
     * @param files field name and file, in order; a field may repeat
     */
    String postForm(String path, Map<String, String> fields, List<Map.Entry<String, Path>> files,
            java.util.function.Consumer<String> lines) {
        String boundary = "atrium-" + HexFormat.of().formatHex(randomBytes());
        List<HttpRequest.BodyPublisher> publishers = new ArrayList<>();
        fields.forEach((name, value) -> publishers.add(HttpRequest.BodyPublishers.ofString("--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n",
                StandardCharsets.UTF_8)));
        try {
            for (Map.Entry<String, Path> file : files) {
                publishers.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data;"
                        + " name=\"" + file.getKey() + "\"; filename=\"" + file.getValue().getFileName() + "\"\r\n"
                        + "Content-Type: application/octet-stream\r\n\r\n", StandardCharsets.UTF_8));
                publishers.add(HttpRequest.BodyPublishers.ofFile(file.getValue()));
                publishers.add(HttpRequest.BodyPublishers.ofString("\r\n", StandardCharsets.UTF_8));
            }
        } catch (java.io.FileNotFoundException e) {
            throw new ClientException("cannot read " + e.getMessage());
        }
        publishers.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n", StandardCharsets.UTF_8));
        HttpRequest request = request(path).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(publishers.toArray(HttpRequest.BodyPublisher[]::new))).build();
        HttpResponse<java.util.stream.Stream<String>> response = exchange(request, HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() >= 400) {
            String body = String.join("\n", response.body().toList());
            JsonNode error = parse(body.getBytes(StandardCharsets.UTF_8));
            throw new ClientException("server answered " + response.statusCode() + ": "
                    + error.path("error").path("message").asString(""));
        }
        boolean events = response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
        StringBuilder whole = new StringBuilder();
        try (java.util.stream.Stream<String> body = response.body()) {
            body.forEach(line -> {
                if (events) {
                    lines.accept(line);
                } else {
                    whole.append(line).append('\n');
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw new ClientException("the answer from " + server + " was cut off: " + e.getMessage());
        }
        return whole.toString();
    }

    static JsonNode json(String text) {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[12];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(server.resolve(path)).timeout(Duration.ofMinutes(30));
        if (key != null) {
            builder.header("Authorization", "Bearer " + key);
        }
        return builder;
    }

    private Response send(HttpRequest request) {
        HttpResponse<byte[]> response = exchange(request, HttpResponse.BodyHandlers.ofByteArray());
        JsonNode body = response.body().length == 0 ? null : parse(response.body());
        if (response.statusCode() >= 400) {
            String message = body == null ? "" : body.path("error").path("message").asString(body.path("error").asString(""));
            String hint = response.statusCode() == 401
                    ? " (set --key or ATRIUM_API_KEY; by default the CLI reads admin.key from the data directory)" : "";
            throw new ClientException("server answered " + response.statusCode() + ": " + message + hint);
        }
        return new Response(response.statusCode(), body);
    }

    /** Sends a request; a server that cannot be reached, or a cut exchange, is a {@link ClientException}. */
    private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(request, handler);
        } catch (ConnectException e) {
            throw new ClientException("cannot connect to " + server + "; is 'atrium serve' running there?"
                    + " (set --server or ATRIUM_SERVER)");
        } catch (IOException e) {
            throw new ClientException("request to " + server + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("interrupted");
        }
    }

    private static JsonNode parse(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (RuntimeException e) {
            throw new ClientException("the server's answer is not JSON");
        }
    }

    static String pretty(JsonNode node) {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    }
}
