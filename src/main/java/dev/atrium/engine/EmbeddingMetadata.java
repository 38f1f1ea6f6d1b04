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
 * @param prefixes text put before each input, by input type (e5's {@code query: } and {@code passage: }); empty
 *     when the model takes its inputs as they are
 * @param defaultInputType the input type of a request that names none; null without prefixes
 */
public record EmbeddingMetadata(
        boolean hasTokenizer,
        int maxSequenceLength,
        int dimension,
        int vocabularySize,
        Pooling pooling,
        boolean normalize,
        String output,
        java.util.Map<String, String> prefixes,
        String defaultInputType) {

    public EmbeddingMetadata {
        requireNonNull(pooling, "pooling is null");
        requireNonNull(output, "output is null");
        // versions stored before prefixes existed have none
        prefixes = prefixes == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(
                new java.util.TreeMap<>(prefixes));
        if (!prefixes.isEmpty() && (defaultInputType == null || !prefixes.containsKey(defaultInputType))) {
            throw new IllegalArgumentException("the default input type must be one of the prefixes' types");
        }
    }

    public EmbeddingMetadata(boolean hasTokenizer, int maxSequenceLength, int dimension, int vocabularySize,
            Pooling pooling, boolean normalize, String output) {
        this(hasTokenizer, maxSequenceLength, dimension, vocabularySize, pooling, normalize, output,
                java.util.Map.of(), null);
    }

    /**
     * The text to put before each input of a request of this input type (the default when absent).
     *
     * @throws dev.atrium.AtriumException 400 on {@code input_type} for a type the model does not have
     */
    public String prefix(java.util.Optional<String> inputType, String modelName) {
        if (prefixes.isEmpty()) {
            if (inputType.isPresent()) {
                throw dev.atrium.AtriumException.invalidParam("input_type", "model '" + modelName + "' takes no"
                        + " input_type: it embeds every input the same way");
            }
            return "";
        }
        String type = inputType.orElse(defaultInputType);
        String prefix = prefixes.get(type);
        if (prefix == null) {
            throw dev.atrium.AtriumException.invalidParam("input_type", "model '" + modelName + "' has the input"
                    + " types " + String.join(", ", prefixes.keySet()) + ", not '" + type + "'");
        }
        return prefix;
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
