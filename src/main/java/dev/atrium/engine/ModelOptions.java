package dev.atrium.engine;

import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The optional {@code config} part of an upload. For embedding models: how the output becomes vectors (absent
 * fields are read from the artifacts: the tokenizer's truncation length, the output's rank). For language
 * models: how many generations run at once and how much context each gets. For task models (speech, images, text
 * classification, tabular): their pre- and post-processing, read by the engine from {@code config}, the whole
 * object.
 */
public record ModelOptions(Optional<Pooling> pooling, Optional<Boolean> normalize, Optional<Integer> maxLength,
        Optional<String> output, Optional<Integer> slots, Optional<Integer> contextPerSlot, JsonNode config) {

    public ModelOptions {
        java.util.Objects.requireNonNull(config, "config is null");
    }

    public ModelOptions(Optional<Pooling> pooling, Optional<Boolean> normalize, Optional<Integer> maxLength,
            Optional<String> output, Optional<Integer> slots, Optional<Integer> contextPerSlot) {
        this(pooling, normalize, maxLength, output, slots, contextPerSlot, JsonNodeFactory.instance.objectNode());
    }

    public static ModelOptions none() {
        return new ModelOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty());
    }
}
