package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * What a GGUF language model says of itself, and how it is served.
 *
 * @param contextLength the context the model was trained with
 * @param parameterCount 0 when the file does not say
 * @param quantization the file type, e.g. {@code Q8_0} or {@code F32}
 * @param hasChatTemplate whether the file carries a chat template (needed for chat completions)
 * @param slots generations that run at once (llama.cpp's parallel slots)
 * @param contextPerSlot tokens of prompt plus completion one request may use
 */
public record LanguageMetadata(String architecture, int contextLength, long parameterCount, String quantization,
        boolean hasChatTemplate, int slots, int contextPerSlot) {

    public LanguageMetadata {
        requireNonNull(architecture, "architecture is null");
        requireNonNull(quantization, "quantization is null");
        if (slots < 1 || contextPerSlot < 16) {
            throw new IllegalArgumentException("slots must be at least 1 and context per slot at least 16");
        }
    }
}
