package dev.atrium.engine;

import dev.atrium.AtriumException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Checks an inference request against a model's signature, naming the tensor at fault. */
public final class TensorValidation {
    private static final String TOKEN_IDS = "input_ids";

    private TensorValidation() {}

    public static void check(ModelMetadata metadata, InferenceRequest request) {
        Set<String> seen = new HashSet<>();
        for (Tensor tensor : request.inputs()) {
            TensorSpec spec = metadata.input(tensor.name()).orElseThrow(() -> AtriumException.invalidParam("inputs",
                    "unknown input tensor '" + tensor.name() + "'; the model's inputs are " + names(metadata.inputs())));
            if (!seen.add(tensor.name())) {
                throw AtriumException.invalidParam("inputs", "input tensor '" + tensor.name() + "' is given twice");
            }
            if (tensor.datatype() != spec.datatype()) {
                throw AtriumException.invalidParam("inputs", "input tensor '" + tensor.name() + "' has datatype "
                        + tensor.datatype() + ", but the model expects " + spec.datatype());
            }
            if (!fits(spec.shape(), tensor.shape())) {
                throw AtriumException.invalidParam("inputs", "input tensor '" + tensor.name() + "' has shape "
                        + Arrays.toString(tensor.shape()) + ", but the model expects " + spec.shape()
                        + " (-1 is any size)");
            }
            if (tensor.name().equals(TOKEN_IDS)) {
                metadata.embeddingMetadata().ifPresent(embedding -> checkTokenIds(tensor, embedding));
            }
        }
        for (TensorSpec spec : metadata.inputs()) {
            if (!seen.contains(spec.name())) {
                throw AtriumException.invalidParam("inputs", "input tensor '" + spec.name() + "' is missing");
            }
        }
        for (String output : request.outputs()) {
            if (metadata.output(output).isEmpty()) {
                throw AtriumException.invalidParam("outputs", "unknown output tensor '" + output
                        + "'; the model's outputs are " + names(metadata.outputs()));
            }
        }
    }

    /** An embedding model's token ids follow the same rule here as on {@code /v1/embeddings}. */
    private static void checkTokenIds(Tensor tensor, EmbeddingMetadata embedding) {
        int size = tensor.size();
        for (int i = 0; i < size; i++) {
            long id = switch (tensor.data()) {
                case long[] values -> values[i];
                case int[] values -> values[i];
                default -> 0;
            };
            if (embedding.outOfVocabulary(id)) {
                throw AtriumException.invalidParam("inputs", "input tensor '" + TOKEN_IDS + "' has token id " + id
                        + ", outside the model's vocabulary (" + embedding.vocabularyRange() + ")");
            }
        }
    }

    private static boolean fits(List<Long> expected, long[] actual) {
        if (expected.size() != actual.length) {
            return false;
        }
        for (int i = 0; i < actual.length; i++) {
            long dimension = expected.get(i);
            if (actual[i] < 0 || (dimension >= 0 && dimension != actual[i])) {
                return false;
            }
        }
        return true;
    }

    private static List<String> names(List<TensorSpec> specs) {
        return specs.stream().map(TensorSpec::name).toList();
    }
}
