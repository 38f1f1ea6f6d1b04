package dev.atrium.server;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.Locale;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/** Reads JSON request bodies within a size limit and writes JSON responses; the one JSON mapper of the server. */
public final class Json {
    /** Immutable and thread-safe. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    private Json() {}

    /**
     * Reads the body as a JSON object.
     *
     * @throws AtriumException 415 for another content type, 413 past {@code maxBytes}, 400 for malformed JSON
     */
    public static JsonNode readObject(ServerRequest request, long maxBytes) {
        Optional<String> contentType = mediaType(request);
        if (contentType.isPresent() && !isJson(contentType.get())) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "the request body must be application/json, not " + contentType.get());
        }
        byte[] body = readBody(request, maxBytes);
        if (body.length == 0) {
            throw new AtriumException(ErrorCode.INVALID_JSON, "the request body is empty; send a JSON object");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw new AtriumException(ErrorCode.INVALID_JSON, "the request body is not valid JSON: " + describe(e));
        }
        if (node == null || !node.isObject()) {
            throw new AtriumException(ErrorCode.INVALID_JSON, "the request body must be a JSON object");
        }
        return node;
    }

    /**
     * What is wrong with a JSON text, for the client: the parser's own words, but never its class or method
     * names (its limits are named as {@code StreamReadConstraints.getMaxNestingDepth()}, say).
     */
    public static String describe(JacksonException e) {
        String message = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (e instanceof StreamConstraintsException) {
            if (message.contains("nesting depth")) {
                return "it nests arrays and objects deeper than " + StreamReadConstraints.DEFAULT_MAX_DEPTH + " levels";
            }
            if (message.contains("Number value length")) {
                return "it has a number longer than " + StreamReadConstraints.DEFAULT_MAX_NUM_LEN + " characters";
            }
            return "it exceeds a size limit of the JSON parser";
        }
        int internals = message.indexOf('`');
        if (internals >= 0) {
            message = message.substring(0, internals);
        }
        message = message.replaceAll("[\\s(,:;]+$", "").strip();
        return message.isEmpty() ? "it cannot be parsed" : message;
    }

    /**
     * Refuses a JSON object that has a field outside {@code allowed}, naming the first such field (in the order
     * of the body) as the param; {@code what} says what the object is ("a model", "the 'retry' object").
     *
     * @throws AtriumException 400 naming the unknown field and the allowed ones
     */
    public static void rejectUnknownFields(JsonNode object, Collection<String> allowed, String what) {
        unknownField(object, allowed).ifPresent(field -> {
            throw AtriumException.invalidParam(field, "unknown field '" + field + "' in " + what + "; the fields are "
                    + String.join(", ", allowed.stream().sorted().toList()));
        });
    }

    /** The first field of a JSON object (in the order of the body) that is not in {@code allowed}. */
    public static Optional<String> optionalString(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        if (!node.isString()) {
            throw dev.atrium.AtriumException.invalidParam(field, "'" + field + "' must be a string");
        }
        return Optional.of(node.stringValue());
    }

    public static Optional<String> unknownField(JsonNode object, Collection<String> allowed) {
        for (String field : object.propertyNames()) {
            if (!allowed.contains(field)) {
                return Optional.of(field);
            }
        }
        return Optional.empty();
    }

    /**
     * The request's media type in lowercase, without parameters.
     *
     * @throws AtriumException 415 when the Content-Type header cannot be parsed
     */
    public static Optional<String> mediaType(ServerRequest request) {
        try {
            return request.headers().contentType().map(type -> type.mediaType().text().toLowerCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "the Content-Type header cannot be parsed");
        }
    }

    private static boolean isJson(String mediaType) {
        return mediaType.equals("application/json") || mediaType.endsWith("+json");
    }

    /** Reads the whole body, refusing more than {@code maxBytes}. */
    public static byte[] readBody(ServerRequest request, long maxBytes) {
        long declared = request.headers().contentLength().orElse(-1);
        if (declared > maxBytes) {
            throw tooLarge(maxBytes);
        }
        if (!request.content().hasEntity()) {
            return new byte[0];
        }
        InputStream in = request.content().inputStream();
        byte[] body;
        try {
            body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        } catch (IOException | RuntimeException e) {
            if (ConnectionGuard.currentConnectionClosed()) {
                // too slow: the guard closed the connection, so there is no one to answer
                throw new CloseConnectionException("the request body did not arrive within the body timeout", e);
            }
            // the client went away or broke the framing mid-body
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the request body could not be read to its end");
        }
        if (body.length > maxBytes) {
            // the rest stays unread (closing the stream would drain it): the connection closes after the 413
            throw tooLarge(maxBytes);
        }
        ConnectionGuard.bodyReceived();
        try {
            in.close();
            return body;
        } catch (IOException | RuntimeException e) {
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the request body could not be read to its end");
        }
    }

    private static AtriumException tooLarge(long maxBytes) {
        return new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the request body is larger than the limit of "
                + maxBytes + " bytes");
    }

    public static void send(ServerResponse response, Status status, Object body) {
        send(response, status, MAPPER.writeValueAsBytes(body));
    }

    public static void send(ServerResponse response, Status status, byte[] json) {
        response.status(status);
        response.header(HeaderValues.CONTENT_TYPE_JSON);
        response.send(json);
    }

    public static void noContent(ServerResponse response) {
        response.status(Status.NO_CONTENT_204);
        response.header(HeaderNames.CONTENT_LENGTH, "0");
        response.send();
    }
}
