package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.engine.LanguageEngine.ChatMessage;
import dev.atrium.server.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** A parsed {@code /v1/chat/completions} or {@code /v1/completions} body, each field checked as OpenAI does. */
record OpenAiGenerationRequest(String model, List<ChatMessage> messages, String prompt, OptionalInt maxTokens,
        float temperature, float topP, Integer seed, List<String> stop, float presencePenalty, float frequencyPenalty,
        boolean stream, boolean includeUsage, Optional<String> jsonSchema) {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    /** The body's {@code model}, a string. */
    static String requiredModel(JsonNode body) {
        JsonNode model = body.get("model");
        if (model == null || !model.isString()) {
            throw AtriumException.invalidParam("model", "'model' is required and must be a string");
        }
        return model.stringValue();
    }

    static OpenAiGenerationRequest parse(JsonNode body, boolean chat) {
        if (chat) {
            OpenAiFields.check(body, OpenAiFields.CHAT, OpenAiFields.CHAT_UNSUPPORTED);
        } else {
            OpenAiFields.check(body, OpenAiFields.COMPLETIONS, OpenAiFields.COMPLETIONS_UNSUPPORTED);
        }
        JsonNode model = body.get("model");
        requiredModel(body);
        List<ChatMessage> messages = chat ? messages(body.get("messages")) : List.of();
        String prompt = chat ? null : prompt(body.get("prompt"));
        OptionalInt maxTokens = positive(body, "max_completion_tokens");
        if (maxTokens.isEmpty()) {
            maxTokens = positive(body, "max_tokens");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.canConvertToInt() && n.intValue() == 1)) {
            throw AtriumException.invalidParam("n", "'n' must be 1: only one choice per request is supported");
        }
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull() && (!seed.isIntegralNumber() || !seed.canConvertToInt())) {
            throw AtriumException.invalidParam("seed", "'seed' must be an integer");
        }
        boolean stream = bool(body, "stream");
        JsonNode options = body.get("stream_options");
        boolean includeUsage = options != null && options.isObject() && bool(options, "include_usage");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw AtriumException.invalidParam("stream_options", "'stream_options' must be an object");
        }
        JsonNode user = body.get("user");
        if (user != null && !user.isNull() && !user.isString()) {
            throw AtriumException.invalidParam("user", "'user' must be a string");
        }
        return new OpenAiGenerationRequest(model.stringValue(), messages, prompt, maxTokens,
                number(body, "temperature", 1, 0, 2), number(body, "top_p", 1, 0, 1),
                seed == null || seed.isNull() ? null : seed.intValue(), stop(body.get("stop")),
                number(body, "presence_penalty", 0, -2, 2), number(body, "frequency_penalty", 0, -2, 2),
                stream, includeUsage, jsonSchema(body.get("response_format")));
    }

    private static List<ChatMessage> messages(JsonNode node) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw AtriumException.invalidParam("messages", "'messages' must be a non-empty array");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode message = node.get(i);
            JsonNode role = message.get("role");
            if (!message.isObject() || role == null || !role.isString() || !ROLES.contains(role.stringValue())) {
                throw AtriumException.invalidParam("messages", "messages[" + i + "] needs a role: system, developer,"
                        + " user or assistant");
            }
            messages.add(new ChatMessage(role.stringValue(), content(message.get("content"), i)));
        }
        return messages;
    }

    /** A string, or an array of text parts joined. */
    private static String content(JsonNode content, int index) {
        if (content != null && content.isString()) {
            return content.stringValue();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                JsonNode type = part.get("type");
                JsonNode value = part.get("text");
                if (type == null || !"text".equals(type.asString("")) || value == null || !value.isString()) {
                    throw AtriumException.invalidParam("messages", "messages[" + index + "] has a content part this"
                            + " model cannot read; only text parts are supported");
                }
                text.append(value.stringValue());
            }
            return text.toString();
        }
        throw AtriumException.invalidParam("messages", "messages[" + index + "] needs 'content': a string or text parts");
    }

    private static String prompt(JsonNode node) {
        if (node == null || !node.isString()) {
            throw AtriumException.invalidParam("prompt", "'prompt' is required and must be a string");
        }
        return node.stringValue();
    }

    private static List<String> stop(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (node.isString()) {
            return List.of(node.stringValue());
        }
        if (!node.isArray() || node.size() > 4) {
            throw AtriumException.invalidParam("stop", "'stop' must be a string or an array of up to 4 strings");
        }
        List<String> stop = new ArrayList<>();
        for (JsonNode item : node) {
            if (!item.isString() || item.stringValue().isEmpty()) {
                throw AtriumException.invalidParam("stop", "'stop' must hold non-empty strings");
            }
            stop.add(item.stringValue());
        }
        return stop;
    }

    private static Optional<String> jsonSchema(JsonNode node) {
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        String type = node.path("type").asString("");
        return switch (type) {
            case "text" -> Optional.empty();
            case "json_object" -> Optional.of("{\"type\": \"object\"}");
            case "json_schema" -> {
                JsonNode schema = node.path("json_schema").path("schema");
                if (!schema.isObject()) {
                    throw AtriumException.invalidParam("response_format", "'json_schema.schema' must be a JSON schema object");
                }
                yield Optional.of(Json.MAPPER.writeValueAsString(schema));
            }
            default -> throw AtriumException.invalidParam("response_format",
                    "'response_format.type' must be text, json_object or json_schema");
        };
    }

    static OptionalInt positive(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be a positive integer");
        }
        return OptionalInt.of(node.intValue());
    }

    private static float number(JsonNode body, String field, float fallback, float min, float max) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        // an integer of hundreds of digits is a number that no double holds: out of range, like any other
        double value = node.isNumber() ? node.doubleValueOpt().orElse(Double.NaN) : Double.NaN;
        if (!(value >= min && value <= max)) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be a number from " + min + " to " + max);
        }
        return (float) value;
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be true or false");
        }
        return node.booleanValue();
    }
}
