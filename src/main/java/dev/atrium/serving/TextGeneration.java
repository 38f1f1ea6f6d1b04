package dev.atrium.serving;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.LanguageEngine.ChatMessage;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A text generation as a local language model takes it, parsed from the protocol by its adapter.
 *
 * @param messages the chat, for chat completions; empty for completions
 * @param prompt the prompt, for completions; null for chat completions
 * @param jsonSchema a JSON schema the answer must follow ({@code {}} for any JSON object)
 */
public record TextGeneration(List<ChatMessage> messages, String prompt, OptionalInt maxTokens, float temperature,
        float topP, Integer seed, List<String> stop, float presencePenalty, float frequencyPenalty,
        Optional<String> jsonSchema) {

    public TextGeneration {
        messages = List.copyOf(messages);
        stop = List.copyOf(stop);
        requireNonNull(maxTokens, "maxTokens is null");
        requireNonNull(jsonSchema, "jsonSchema is null");
    }
}
