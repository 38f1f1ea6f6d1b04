package dev.atrium.engine.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.EmbeddingRequest;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The embedding path of an encoder model: token ids for each input (refusing or cutting over-long ones), then
 * one ONNX Runtime run per batch (which the model's batcher forms by length) padded to its own longest input,
 * then pooling and L2 normalization.
 */
final class EmbeddingPipeline {
    private EmbeddingPipeline() {}

    /** Token ids for each input, in order, with the tokenizer's special tokens. */
    static List<long[]> encode(Optional<TextTokenizer> tokenizer, String modelName, EmbeddingMetadata metadata,
            EmbeddingRequest request) {
        List<long[]> sequences = new ArrayList<>(request.inputs().size());
        String prefix = metadata.prefix(request.inputType(), modelName);
        for (int i = 0; i < request.inputs().size(); i++) {
            long[] ids = switch (request.inputs().get(i)) {
                case EmbeddingInput.Text text -> tokenize(tokenizer
                        .orElseThrow(() -> AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "input",
                                "model '" + modelName + "' has no tokenizer; send token ids instead of text")),
                        prefix + text.text(), metadata, request.truncate(), i, modelName);
                case EmbeddingInput.TokenIds tokens -> checkTokenIds(tokens.ids(), metadata, i, modelName);
            };
            if (ids.length > metadata.maxSequenceLength()) {
                if (!request.truncate()) {
                    throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "input", "input " + i + " is "
                            + ids.length + " tokens long, but model '" + modelName + "' accepts at most "
                            + metadata.maxSequenceLength() + " tokens per input");
                }
                ids = truncate(ids, metadata.maxSequenceLength(), request.inputs().get(i) instanceof EmbeddingInput.Text);
            }
            sequences.add(ids);
        }
        return sequences;
    }

    /**
     * Tokenizes at most {@link EmbeddingMetadata#maxCharacters()} of the text: a longer text is cut at the last
     * whitespace before that point (a token boundary for the tokenizers Atrium serves), its prefix tokenized,
     * and then truncated or refused. So the time spent on one input is bounded by the model's limit, whatever
     * its size.
     */
    static long[] tokenize(TextTokenizer tokenizer, String text, EmbeddingMetadata metadata, boolean truncate,
            int index, String modelName) {
        int maxCharacters = metadata.maxCharacters();
        if (text.length() <= maxCharacters) {
            return tokenizer.encode(text);
        }
        long[] prefix = tokenizer.encode(text.substring(0, cutPoint(text, maxCharacters)));
        if (truncate) {
            return prefix;
        }
        if (prefix.length > metadata.maxSequenceLength()) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "input", "input " + index
                    + " is more than " + metadata.maxSequenceLength() + " tokens long (its first " + maxCharacters
                    + " characters already are), but model '" + modelName + "' accepts at most "
                    + metadata.maxSequenceLength() + " tokens per input");
        }
        throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "input", "input " + index + " is "
                + text.length() + " characters long, but model '" + modelName + "' accepts at most "
                + maxCharacters + " characters (" + EmbeddingMetadata.CHARACTERS_PER_TOKEN + " per token of its "
                + metadata.maxSequenceLength() + " tokens) per input");
    }

    /** Where to cut a text to at most {@code limit} characters: after its last whitespace, else at the limit. */
    static int cutPoint(String text, int limit) {
        for (int i = limit; i > 0; i--) {
            if (Character.isWhitespace(text.charAt(i))) {
                return i;
            }
        }
        return Character.isHighSurrogate(text.charAt(limit - 1)) ? limit - 1 : limit;
    }

    private static long[] checkTokenIds(long[] ids, EmbeddingMetadata metadata, int index, String modelName) {
        for (long id : ids) {
            if (metadata.outOfVocabulary(id)) {
                throw AtriumException.invalidParam("input", "input " + index + " has token id " + id
                        + ", outside the vocabulary of model '" + modelName + "' (" + metadata.vocabularyRange() + ")");
            }
        }
        return ids;
    }

    /** Keeps the first tokens; for tokenized text, keeps the closing special token as well. */
    private static long[] truncate(long[] ids, int maxLength, boolean keepLast) {
        long[] cut = Arrays.copyOf(ids, maxLength);
        if (keepLast) {
            cut[maxLength - 1] = ids[ids.length - 1];
        }
        return cut;
    }

    /** Runs one batch, padded to its longest input, and returns one vector per input. */
    static float[][] run(OrtEnvironment environment, OrtSession session, boolean tokenTypes, EmbeddingMetadata metadata,
            List<long[]> sequences) throws OrtException {
        int batch = sequences.size();
        int length = sequences.stream().mapToInt(sequence -> sequence.length).max().orElse(0);
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            long[] sequence = sequences.get(b);
            System.arraycopy(sequence, 0, ids, b * length, sequence.length);
            Arrays.fill(mask, b * length, b * length + sequence.length, 1L);
        }
        long[] shape = {batch, length};
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            inputs.put("attention_mask", OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (tokenTypes) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(new long[batch * length]), shape));
            }
            try (OrtSession.Result result = session.run(inputs, java.util.Set.of(metadata.output()))) {
                OnnxTensor output = (OnnxTensor) result.get(0);
                return pool(output.getFloatBuffer(), output.getInfo().getShape(), sequences, metadata);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    static float[][] pool(FloatBuffer values, long[] shape, List<long[]> sequences, EmbeddingMetadata metadata) {
        int batch = sequences.size();
        int dimension = (int) shape[shape.length - 1];
        int length = shape.length == 3 ? (int) shape[1] : 1;
        float[][] vectors = new float[batch][dimension];
        for (int b = 0; b < batch; b++) {
            float[] vector = vectors[b];
            int base = b * length * dimension;
            switch (metadata.pooling()) {
                case MEAN -> {
                    int tokens = sequences.get(b).length;
                    for (int t = 0; t < tokens; t++) {
                        int offset = base + t * dimension;
                        for (int d = 0; d < dimension; d++) {
                            vector[d] += values.get(offset + d);
                        }
                    }
                    for (int d = 0; d < dimension; d++) {
                        vector[d] /= tokens;
                    }
                }
                case CLS, NONE -> values.get(base, vector, 0, dimension);
                case LAST -> values.get(base + (sequences.get(b).length - 1) * dimension, vector, 0, dimension);
            }
            if (metadata.normalize()) {
                normalize(vector);
            }
        }
        return vectors;
    }

    private static void normalize(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += (double) value * value;
        }
        double norm = Math.sqrt(sum);
        if (norm > 0) {
            for (int d = 0; d < vector.length; d++) {
                vector[d] = (float) (vector[d] / norm);
            }
        }
    }
}
