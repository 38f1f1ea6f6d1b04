package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/** One input of an embedding request: text to tokenize, or token ids the client tokenized itself. */
public sealed interface EmbeddingInput {
    record Text(String text) implements EmbeddingInput {
        public Text {
            requireNonNull(text, "text is null");
        }
    }

    record TokenIds(long[] ids) implements EmbeddingInput {
        public TokenIds {
            requireNonNull(ids, "ids is null");
        }
    }
}
