package dev.atrium.engine.onnx.image;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * Reads the fields of a model version's config object, refusing what does not fit with {@code INVALID_ARTIFACT}
 * errors that name the field by its path ({@code preprocessing.width}).
 */
final class ConfigFields {
    private final JsonNode object;
    private final String prefix;

    /** @param object the config object, or null or JSON null for one with no fields */
    ConfigFields(JsonNode object, String prefix, List<String> known) {
        this.prefix = prefix;
        if (object == null || object.isNull() || object.isMissingNode()) {
            this.object = null;
            return;
        }
        if (!object.isObject()) {
            throw invalid(prefix.isEmpty() ? "config" : prefix.substring(0, prefix.length() - 1),
                    "'" + (prefix.isEmpty() ? "config" : prefix.substring(0, prefix.length() - 1))
                            + "' must be a JSON object");
        }
        for (String name : object.propertyNames()) {
            if (!known.contains(name)) {
                throw invalid(prefix + name, "unknown field '" + prefix + name + "'; the fields are "
                        + String.join(", ", known.stream().map(field -> prefix + field).toList()));
            }
        }
        this.object = object;
    }

    static AtriumException invalid(String field, String message) {
        return AtriumException.withParam(ErrorCode.INVALID_ARTIFACT, field, message);
    }

    String path(String field) {
        return prefix + field;
    }

    private JsonNode get(String field) {
        JsonNode node = object == null ? null : object.get(field);
        return node == null || node.isNull() ? null : node;
    }

    Optional<String> string(String field) {
        JsonNode node = get(field);
        if (node == null) {
            return Optional.empty();
        }
        if (!node.isString() || node.stringValue().isBlank()) {
            throw invalid(path(field), "'" + path(field) + "' must be a non-empty string");
        }
        return Optional.of(node.stringValue());
    }

    /** One of a closed set of values, named by their wire names. */
    <E extends Enum<E>> Optional<E> choice(String field, Class<E> type, Function<E, String> wireName) {
        return string(field).map(text -> {
            for (E value : type.getEnumConstants()) {
                if (wireName.apply(value).equals(text)) {
                    return value;
                }
            }
            throw invalid(path(field), "'" + path(field) + "' must be one of " + String.join(", ",
                    Arrays.stream(type.getEnumConstants()).map(wireName).toList()) + ", not '" + text + "'");
        });
    }

    Optional<Boolean> bool(String field) {
        JsonNode node = get(field);
        if (node == null) {
            return Optional.empty();
        }
        if (!node.isBoolean()) {
            throw invalid(path(field), "'" + path(field) + "' must be true or false");
        }
        return Optional.of(node.booleanValue());
    }

    OptionalInt integer(String field, int min, int max) {
        JsonNode node = get(field);
        if (node == null) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < min || node.intValue() > max) {
            throw invalid(path(field), "'" + path(field) + "' must be an integer from " + min + " to " + max);
        }
        return OptionalInt.of(node.intValue());
    }

    Optional<Float> positiveNumber(String field) {
        JsonNode node = get(field);
        if (node == null) {
            return Optional.empty();
        }
        float value = node.isNumber() ? (float) node.doubleValue() : Float.NaN;
        if (!Float.isFinite(value) || value <= 0) {
            throw invalid(path(field), "'" + path(field) + "' must be a positive number");
        }
        return Optional.of(value);
    }

    /** One number per channel, or one for all three; three values either way. */
    Optional<List<Float>> channelValues(String field) {
        JsonNode node = get(field);
        if (node == null) {
            return Optional.empty();
        }
        List<Float> values = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode element : node) {
                values.add(element.isNumber() ? (float) element.doubleValue() : Float.NaN);
            }
        }
        if (!node.isArray() || (values.size() != 1 && values.size() != 3)
                || values.stream().anyMatch(value -> !Float.isFinite(value))) {
            throw invalid(path(field), "'" + path(field) + "' must be a list of 3 numbers (one per channel) or 1");
        }
        return Optional.of(values.size() == 1 ? List.of(values.getFirst(), values.getFirst(), values.getFirst())
                : List.copyOf(values));
    }

    Optional<List<String>> strings(String field) {
        JsonNode node = get(field);
        if (node == null) {
            return Optional.empty();
        }
        List<String> values = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode element : node) {
                values.add(element.isString() ? element.stringValue() : null);
            }
        }
        if (!node.isArray() || values.isEmpty() || values.stream().anyMatch(value -> value == null || value.isBlank())) {
            throw invalid(path(field), "'" + path(field) + "' must be a non-empty list of non-empty strings");
        }
        return Optional.of(List.copyOf(values));
    }
}
