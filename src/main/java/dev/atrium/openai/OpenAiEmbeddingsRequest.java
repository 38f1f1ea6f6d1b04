package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.engine.EmbeddingInput;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import tools.jackson.databind.JsonNode;

/**
 * A parsed {@code POST /v1/embeddings} body. {@code input} is a string, an array of strings, an array of token
 * ids, or an array of arrays of token ids, as in OpenAI's API.
 */
record OpenAiEmbeddingsRequest(String model, List<EmbeddingInput> inputs, boolean base64, OptionalInt dimensions,
        java.util.Optional<String> inputType) {
    static final int MAX_INPUTS = 2048;

    static OpenAiEmbeddingsRequest parse(JsonNode body) {
        JsonNode model = body.get("model");
        if (model == null || model.isNull()) {
            throw AtriumException.invalidParam("model", "'model' is required");
        }
        if (!model.isString()) {
            throw AtriumException.invalidParam("model", "'model' must be a string");
        }
        List<EmbeddingInput> inputs = parseInput(body.get("input"));
        boolean base64 = switch (textOrNull(body, "encoding_format")) {
            case null -> false;
            case "float" -> false;
            case "base64" -> true;
            default -> throw AtriumException.invalidParam("encoding_format", "'encoding_format' must be 'float' or 'base64'");
        };
        OptionalInt dimensions = OptionalInt.empty();
        JsonNode dimensionsNode = body.get("dimensions");
        if (dimensionsNode != null && !dimensionsNode.isNull()) {
            if (!dimensionsNode.isIntegralNumber() || !dimensionsNode.canConvertToInt() || dimensionsNode.intValue() < 1) {
                throw AtriumException.invalidParam("dimensions", "'dimensions' must be a positive integer");
            }
            dimensions = OptionalInt.of(dimensionsNode.intValue());
        }
        textOrNull(body, "user");
        // an extension (as NVIDIA's and Cohere's APIs have it): query or passage, for models that embed them apart
        java.util.Optional<String> inputType = java.util.Optional.ofNullable(textOrNull(body, "input_type"));
        return new OpenAiEmbeddingsRequest(model.stringValue(), inputs, base64, dimensions, inputType);
    }

    private static String textOrNull(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isString()) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be a string");
        }
        return node.stringValue();
    }

    private static List<EmbeddingInput> parseInput(JsonNode input) {
        if (input == null || input.isNull()) {
            throw AtriumException.invalidParam("input", "'input' is required");
        }
        if (input.isString()) {
            return List.of(text(input, 0));
        }
        if (!input.isArray()) {
            throw invalidShape();
        }
        if (input.isEmpty()) {
            throw AtriumException.invalidParam("input", "'input' must not be an empty array");
        }
        JsonNode first = input.get(0);
        if (first.isIntegralNumber()) {
            return List.of(tokenIds(input, 0));
        }
        if (input.size() > MAX_INPUTS) {
            throw AtriumException.invalidParam("input", "'input' has " + input.size() + " items; at most "
                    + MAX_INPUTS + " are allowed in one request");
        }
        List<EmbeddingInput> inputs = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (first.isString() && item.isString()) {
                inputs.add(text(item, i));
            } else if (first.isArray() && item.isArray()) {
                inputs.add(tokenIds(item, i));
            } else {
                throw invalidShape();
            }
        }
        return inputs;
    }

    private static EmbeddingInput text(JsonNode node, int index) {
        String text = node.stringValue();
        if (text.isEmpty()) {
            throw AtriumException.invalidParam("input", "input " + index + " is an empty string");
        }
        return new EmbeddingInput.Text(text);
    }

    private static EmbeddingInput tokenIds(JsonNode array, int index) {
        if (array.isEmpty()) {
            throw AtriumException.invalidParam("input", "input " + index + " is an empty array of token ids");
        }
        long[] ids = new long[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToLong()) {
                throw AtriumException.invalidParam("input", "input " + index + " mixes token ids with other values;"
                        + " token ids are integers");
            }
            ids[i] = id.longValue();
        }
        return new EmbeddingInput.TokenIds(ids);
    }

    private static AtriumException invalidShape() {
        return AtriumException.invalidParam("input", "'input' must be a string, an array of strings, an array of"
                + " token ids, or an array of arrays of token ids");
    }
}
