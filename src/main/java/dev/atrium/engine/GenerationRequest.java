package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A text generation: the prompt (a chat already rendered through the model's template) and how to sample.
 *
 * @param seed null for a random one
 * @param grammar a GBNF grammar the output must follow, or null
 */
public record GenerationRequest(String prompt, int maxTokens, float temperature, float topP, Integer seed,
        List<String> stop, float presencePenalty, float frequencyPenalty, String grammar) {

    public GenerationRequest {
        requireNonNull(prompt, "prompt is null");
        stop = List.copyOf(stop);
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1");
        }
    }
}
