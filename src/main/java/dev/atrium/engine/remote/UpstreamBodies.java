package dev.atrium.engine.remote;

import dev.atrium.AtriumException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Reads what a forwarded OpenAI body must be known for: its prompt (to count and bound it) and its output
 * settings (to fix them to what is reserved). The rest of the body is the upstream's to read.
 */
final class UpstreamBodies {
    /** The most choices one request may ask for ({@code n}, {@code best_of}). */
    static final int MAX_CHOICES = 128;

    private UpstreamBodies() {}

    /**
     * @param estimate tokens as OpenAI's o200k encoding counts the text
     * @param mediaParts message parts that are not text (images, audio, files), which cost tokens of their own
     */
    record Prompt(long estimate, int mediaParts) {}

    /** The texts of the messages, checking the shape the upstream needs at the least. */
    static Prompt chatPrompt(ObjectNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw AtriumException.invalidParam("messages", "'messages' must be a non-empty array");
        }
        List<String> texts = new ArrayList<>();
        int media = 0;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            if (!message.isObject() || !message.path("role").isString()) {
                throw AtriumException.invalidParam("messages", "messages[" + i + "] needs a role");
            }
            JsonNode content = message.get("content");
            if (content != null && content.isString()) {
                texts.add(content.stringValue());
            } else if (content != null && content.isArray()) {
                StringBuilder text = new StringBuilder();
                for (JsonNode part : content) {
                    JsonNode piece = part.get("text");
                    if (piece != null && piece.isString()) {
                        text.append(piece.stringValue());
                    } else {
                        media++;
                    }
                }
                texts.add(text.toString());
            } else {
                texts.add("");
            }
        }
        return new Prompt(TokenCounter.countChat(texts), media);
    }

    static Prompt completionPrompt(ObjectNode body) {
        JsonNode prompt = body.get("prompt");
        if (prompt != null && prompt.isString()) {
            return new Prompt(TokenCounter.count(prompt.stringValue()), 0);
        }
        if (prompt != null && prompt.isArray() && !prompt.isEmpty()) {
            long tokens = 0;
            for (JsonNode item : prompt) {
                if (!item.isString()) {
                    throw AtriumException.invalidParam("prompt", "'prompt' must be a string or an array of strings");
                }
                tokens += TokenCounter.count(item.stringValue());
            }
            return new Prompt(tokens, 0);
        }
        throw AtriumException.invalidParam("prompt", "'prompt' is required: a string or an array of strings");
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}. */
    static OptionalInt maxTokens(ObjectNode body) {
        OptionalInt completion = positive(body, "max_completion_tokens", Integer.MAX_VALUE);
        return completion.isPresent() ? completion : positive(body, "max_tokens", Integer.MAX_VALUE);
    }

    /**
     * How many answers the request makes the upstream generate: {@code n}, and for completions {@code best_of},
     * which the upstream generates (and bills) in full.
     */
    static int choices(ObjectNode body, boolean chat) {
        int n = positive(body, "n", MAX_CHOICES).orElse(1);
        if (chat) {
            return n;
        }
        int bestOf = positive(body, "best_of", MAX_CHOICES).orElse(1);
        return Math.max(n, bestOf);
    }

    static OptionalInt positive(JsonNode body, String field, int max) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1 || node.intValue() > max) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be an integer from 1 to " + max);
        }
        return OptionalInt.of(node.intValue());
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
