package dev.atrium.engine.onnx;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hugging Face {@code tokenizer.json}, used without its own padding and truncation: Atrium pads each batch to
 * its longest input and refuses (or cuts) over-long inputs itself, so that nothing is padded to a fixed length.
 */
final class TextTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabularySize;
    private final OptionalInt truncationLength;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, int vocabularySize, OptionalInt truncationLength) {
        this.tokenizer = tokenizer;
        this.vocabularySize = vocabularySize;
        this.truncationLength = truncationLength;
    }

    /**
     * @throws IllegalArgumentException when the file is not a tokenizer.json the tokenizers library accepts
     */
    static TextTokenizer load(Path path) {
        JsonNode root;
        try {
            root = JSON.readTree(path.toFile());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("it is not JSON");
        }
        if (root == null || !root.isObject() || !root.path("model").isObject()) {
            throw new IllegalArgumentException("it has no 'model' object");
        }
        HuggingFaceTokenizer tokenizer;
        try (InputStream in = Files.newInputStream(path)) {
            tokenizer = HuggingFaceTokenizer.newInstance(in, Map.of(
                    "padding", "false",
                    "truncation", "false",
                    "addSpecialTokens", "true"));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("the tokenizers library rejects it");
        }
        JsonNode truncation = root.path("truncation").path("max_length");
        OptionalInt truncationLength = truncation.isInt() ? OptionalInt.of(truncation.intValue()) : OptionalInt.empty();
        return new TextTokenizer(tokenizer, vocabularySize(root), truncationLength);
    }

    /** One past the largest token id in the vocabulary and the added tokens. */
    private static int vocabularySize(JsonNode root) {
        int size = 0;
        JsonNode vocabulary = root.path("model").path("vocab");
        if (vocabulary.isObject()) {
            for (Iterator<JsonNode> ids = vocabulary.values().iterator(); ids.hasNext(); ) {
                size = Math.max(size, ids.next().asInt() + 1);
            }
        } else if (vocabulary.isArray()) {
            size = vocabulary.size();
        }
        for (JsonNode added : root.path("added_tokens")) {
            size = Math.max(size, added.path("id").asInt() + 1);
        }
        return size;
    }

    /**
     * Token ids with the tokenizer's special tokens, never padded or cut. Only the ids are read from the native
     * encoding: {@link HuggingFaceTokenizer#encode(String)} also copies out the tokens as strings, the type ids,
     * masks and character spans, which cost more than the tokenization of a sentence itself.
     */
    long[] encode(String text) {
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, true);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    int vocabularySize() {
        return vocabularySize;
    }

    /** The length the tokenizer.json itself truncates to, if it says. */
    OptionalInt truncationLength() {
        return truncationLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
