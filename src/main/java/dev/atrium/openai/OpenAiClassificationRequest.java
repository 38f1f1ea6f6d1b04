package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.ClassificationRequest;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A {@code /v1/classifications} request, from JSON ({@code input}: a text, an image as a data URL or base64, or a
 * list of them; image objects as {@code {"image_url": {"url": "data:..."}}} too) or from a multipart form (image
 * {@code file} parts, or {@code input} text fields).
 */
record OpenAiClassificationRequest(String model, ClassificationRequest request) {
    static final List<String> FIELDS = List.of("model", "input", "top_k", "labels", "user");
    /** The most inputs one request may carry, as for embeddings. */
    static final int MAX_INPUTS = 2048;
    static final int MAX_LABELS = 1000;
    static final int DEFAULT_TOP_K = 5;

    /**
     * @param images whether the model classifies images (strings are then data URLs or base64), else texts
     */
    static OpenAiClassificationRequest parse(JsonNode body, boolean images) {
        dev.atrium.server.Json.rejectUnknownFields(body, FIELDS, "a classification request");
        String model = OpenAiGenerationRequest.requiredModel(body);
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw AtriumException.invalidParam("input", "'input' is required");
        }
        List<JsonNode> items = new ArrayList<>();
        if (input.isArray()) {
            if (input.isEmpty() || input.size() > MAX_INPUTS) {
                throw AtriumException.invalidParam("input", "'input' must hold 1 to " + MAX_INPUTS + " items");
            }
            input.forEach(items::add);
        } else {
            items.add(input);
        }
        List<ClassificationInput> inputs = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            inputs.add(item(items.get(i), images, input.isArray() ? "input[" + i + "]" : "input"));
        }
        return new OpenAiClassificationRequest(model, new ClassificationRequest(inputs, topK(body.get("top_k")),
                labels(body.get("labels"))));
    }

    /** From a form: {@code model}, {@code top_k}, {@code labels} (repeated), image {@code file}s or {@code input}s. */
    static OpenAiClassificationRequest parse(FormParts form) {
        form.rejectUnknownFields(List.of("model", "input", "top_k", "labels", "labels[]", "user"));
        String model = form.requiredField("model");
        List<ClassificationInput> inputs = new ArrayList<>();
        form.files().forEach(file -> inputs.add(new ClassificationInput.Image(file.bytes())));
        form.fields().getOrDefault("input", List.of()).forEach(text -> inputs.add(new ClassificationInput.Text(text)));
        if (inputs.isEmpty()) {
            throw AtriumException.invalidParam("file", "send the images to classify as 'file' parts (or texts as"
                    + " 'input' fields)");
        }
        if (inputs.size() > MAX_INPUTS) {
            throw AtriumException.invalidParam("file", "a request classifies at most " + MAX_INPUTS + " inputs");
        }
        int topK = form.field("top_k").map(text -> {
            try {
                return Integer.parseInt(text.strip());
            } catch (NumberFormatException e) {
                throw AtriumException.invalidParam("top_k", "'top_k' must be an integer from 1 to 1000");
            }
        }).orElse(DEFAULT_TOP_K);
        if (topK < 1 || topK > 1000) {
            throw AtriumException.invalidParam("top_k", "'top_k' must be an integer from 1 to 1000");
        }
        List<String> labels = new ArrayList<>(form.fields().getOrDefault("labels", List.of()));
        labels.addAll(form.fields().getOrDefault("labels[]", List.of()));
        return new OpenAiClassificationRequest(model, new ClassificationRequest(inputs, topK, checkLabels(labels)));
    }

    private static ClassificationInput item(JsonNode item, boolean images, String param) {
        if (item.isString()) {
            return images ? new ClassificationInput.Image(ClassificationInput.Image.decode(item.stringValue(), param))
                    : new ClassificationInput.Text(item.stringValue());
        }
        if (item.isObject()) {
            JsonNode url = item.get("image_url");
            JsonNode raw = item.get("image");
            dev.atrium.server.Json.rejectUnknownFields(item, List.of("type", "image_url", "image", "text"), param);
            if (url != null && url.isObject()) {
                url = url.get("url");
            }
            JsonNode image = url != null ? url : raw;
            if (image != null && image.isString()) {
                return new ClassificationInput.Image(ClassificationInput.Image.decode(image.stringValue(), param));
            }
            JsonNode text = item.get("text");
            if (text != null && text.isString()) {
                return new ClassificationInput.Text(text.stringValue());
            }
        }
        throw AtriumException.invalidParam(param, "'" + param + "' must be a text, an image as a data URL or base64,"
                + " or {\"image_url\": {\"url\": \"data:image/...;base64,...\"}}");
    }

    private static int topK(JsonNode node) {
        if (node == null || node.isNull()) {
            return DEFAULT_TOP_K;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1 || node.intValue() > 1000) {
            throw AtriumException.invalidParam("top_k", "'top_k' must be an integer from 1 to 1000");
        }
        return node.intValue();
    }

    private static List<String> labels(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw AtriumException.invalidParam("labels", "'labels' must be a list of strings");
        }
        List<String> labels = new ArrayList<>(node.size());
        for (JsonNode label : node) {
            if (!label.isString()) {
                throw AtriumException.invalidParam("labels", "'labels' must be a list of strings");
            }
            labels.add(label.stringValue());
        }
        return checkLabels(labels);
    }

    private static List<String> checkLabels(List<String> labels) {
        if (labels.size() > MAX_LABELS) {
            throw AtriumException.invalidParam("labels", "a request has at most " + MAX_LABELS + " labels");
        }
        if (labels.stream().anyMatch(String::isBlank) || labels.stream().distinct().count() != labels.size()) {
            throw AtriumException.invalidParam("labels", "labels must be distinct and not blank");
        }
        return labels;
    }
}
