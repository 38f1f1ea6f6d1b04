package dev.atrium.engine;

import java.util.Optional;

/**
 * The optional {@code config} part of an upload. For embedding models: how the output becomes vectors (absent
 * fields are read from the artifacts: the tokenizer's truncation length, the output's rank). For language
 * models: how many generations run at once and how much context each gets.
 */
public record ModelOptions(Optional<Pooling> pooling, Optional<Boolean> normalize, Optional<Integer> maxLength,
        Optional<String> output, Optional<Integer> slots, Optional<Integer> contextPerSlot) {

    public static ModelOptions none() {
        return new ModelOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty());
    }
}
