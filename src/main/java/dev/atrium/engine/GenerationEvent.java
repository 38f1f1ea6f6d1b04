package dev.atrium.engine;

/** What a running generation reports, in order: text pieces, then one end. */
public sealed interface GenerationEvent {
    /** A piece of generated text (usually one token's). */
    record Text(String text) implements GenerationEvent {}

    /**
     * The end of the generation.
     *
     * @param finishReason {@code stop}, {@code length} or {@code cancelled}
     */
    record Done(String finishReason, int completionTokens, long computeNanos) implements GenerationEvent {}

    /** The generation failed; the message is safe to show. */
    record Failure(String message) implements GenerationEvent {}
}
