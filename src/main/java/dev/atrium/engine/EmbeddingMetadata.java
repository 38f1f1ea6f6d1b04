package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * What an embedding model version was found to be at upload: how long an input may be, how long its vectors
 * are, and how they are made from the model's output.
 *
 * @param maxSequenceLength the most tokens one input may have, special tokens included
 * @param dimension the length of each embedding vector
 * @param vocabularySize token ids must be below this; 0 when unknown
 * @param output the model output the vectors are pooled from
 */
public record EmbeddingMetadata(
        boolean hasTokenizer,
        int maxSequenceLength,
        int dimension,
        int vocabularySize,
        Pooling pooling,
        boolean normalize,
        String output) {

    public EmbeddingMetadata {
        requireNonNull(pooling, "pooling is null");
        requireNonNull(output, "output is null");
    }

    /**
     * Characters of text one token may stand for, at most: English runs at 4 to 5 per token, so 16 leaves room
     * for code, URLs and whitespace. Text longer than {@link #maxCharacters()} is refused (or cut) before it is
     * tokenized in full, so that a huge input costs time in proportion to the model's limit, not to its size.
     */
    public static final int CHARACTERS_PER_TOKEN = 16;

    /** The longest text (in UTF-16 characters) one input may have: {@link #CHARACTERS_PER_TOKEN} per token. */
    public int maxCharacters() {
        return (int) Math.min(Integer.MAX_VALUE - 8, (long) maxSequenceLength * CHARACTERS_PER_TOKEN);
    }

    /**
     * Whether a client's token id cannot be fed to the model: negative, or at or past the vocabulary (when it is
     * known). The one rule for token ids on every protocol, {@code /v1/embeddings} and {@code /v2} alike.
     */
    public boolean outOfVocabulary(long tokenId) {
        return tokenId < 0 || (vocabularySize > 0 && tokenId >= vocabularySize);
    }

    /** The allowed range in words, for refusals: "0 to 30521", or "0 or more" when the vocabulary is unknown. */
    public String vocabularyRange() {
        return vocabularySize > 0 ? "0 to " + (vocabularySize - 1) : "0 or more";
    }
}
