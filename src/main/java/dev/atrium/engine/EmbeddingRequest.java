package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import tools.jackson.databind.node.ObjectNode;

/**
 * Inputs to embed, in order.
 *
 * @param truncate cut inputs longer than the model's maximum instead of refusing them
 * @param dimensions the length the vectors should be cut to, if the caller asked
 * @param forward the client's OpenAI body, for an engine whose upstream speaks the same API (its fields Atrium
 *     does not read go on); empty when the call did not come as one
 * @param inputType the kind of input, for models that embed queries and passages differently (e5's prefixes);
 *     empty for the model's default
 */
public record EmbeddingRequest(List<EmbeddingInput> inputs, boolean truncate, OptionalInt dimensions,
        Optional<ObjectNode> forward, Optional<String> inputType) {
    public EmbeddingRequest {
        inputs = List.copyOf(inputs);
        requireNonNull(dimensions, "dimensions is null");
        requireNonNull(forward, "forward is null");
        requireNonNull(inputType, "inputType is null");
    }

    public EmbeddingRequest(List<EmbeddingInput> inputs, boolean truncate, OptionalInt dimensions,
            Optional<ObjectNode> forward) {
        this(inputs, truncate, dimensions, forward, Optional.empty());
    }

    public EmbeddingRequest(List<EmbeddingInput> inputs, boolean truncate) {
        this(inputs, truncate, OptionalInt.empty(), Optional.empty());
    }
}
