package dev.atrium.admin;

import dev.atrium.AtriumException;
import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** Typed fields of management request bodies, each refusal naming the field. */
final class AdminJson {
    private AdminJson() {}

    static String requiredString(JsonNode body, String field) {
        return optionalString(body, field).orElseThrow(() -> AtriumException.invalidParam(field,
                "'" + field + "' is required"));
    }

    static Optional<String> optionalString(JsonNode body, String field) {
        return dev.atrium.server.Json.optionalString(body, field);
    }

    /** A positive integer, or null when absent or null. */
    static Integer positiveInteger(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be a positive integer");
        }
        return node.intValue();
    }

    /** An instant the store can keep; it keeps microseconds, so finer digits are dropped. */
    static Optional<Instant> instant(JsonNode body, String field) {
        return optionalString(body, field).map(text -> {
            Instant instant;
            try {
                instant = Instant.parse(text);
            } catch (DateTimeParseException e) {
                throw AtriumException.invalidParam(field, "'" + field + "' must be an ISO-8601 instant such as"
                        + " 2027-01-31T00:00:00Z");
            }
            if (!EpochMicros.representable(instant)) {
                throw AtriumException.invalidParam(field, "'" + field + "' must be between " + EpochMicros.MIN
                        + " and " + EpochMicros.MAX);
            }
            return EpochMicros.truncate(instant);
        });
    }

    /** A query parameter; an empty one counts as absent. */
    static Optional<String> parameter(io.helidon.webserver.http.ServerRequest request, String name) {
        return request.query().first(name).asOptional().filter(value -> !value.isEmpty());
    }

    /** An integer query parameter from {@code min} to {@code max}, or {@code fallback} when absent. */
    static int queryInteger(io.helidon.webserver.http.ServerRequest request, String name, int fallback, int min, int max) {
        long value = parameter(request, name).map(text -> number(text, name)).orElse((long) fallback);
        if (value < min || value > max) {
            throw AtriumException.invalidParam(name, "'" + name + "' must be " + min + " to " + max);
        }
        return (int) value;
    }

    static long number(String text, String name) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw AtriumException.invalidParam(name, "'" + name + "' must be a number");
        }
    }

    static Instant queryInstant(String text, String name) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw AtriumException.invalidParam(name, "'" + name + "' must be an ISO-8601 instant");
        }
    }

    static List<String> strings(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be an array of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonNode item : node) {
            if (!item.isString()) {
                throw AtriumException.invalidParam(field, "'" + field + "' must be an array of strings");
            }
            values.add(item.stringValue());
        }
        return values;
    }
}
