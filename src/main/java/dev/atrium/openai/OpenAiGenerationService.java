package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.gateway.Caller;
import dev.atrium.server.Json;
import dev.atrium.serving.Serving;
import dev.atrium.serving.TextGeneration;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * OpenAI-compatible text generation: {@code /v1/chat/completions} and {@code /v1/completions}, whole or streamed
 * as server-sent events exactly as OpenAI streams them. This adapter parses the body and encodes the answer
 * ({@link OpenAiGenerationSink}); the serving layer does the rest, for local and remote models alike.
 */
public final class OpenAiGenerationService implements HttpService {
    private final Serving serving;
    private final long maxRequestBytes;

    public OpenAiGenerationService(Serving serving, long maxRequestBytes) {
        this.serving = requireNonNull(serving, "serving is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/chat/completions", (request, response) -> generate(request, response, true))
                .post("/completions", (request, response) -> generate(request, response, false));
    }

    private void generate(ServerRequest request, ServerResponse response, boolean chat) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        JsonNode model = body.get("model");
        if (model == null || !model.isString()) {
            throw AtriumException.invalidParam("model", "'model' is required and must be a string");
        }
        boolean stream = OpenAiGenerationRequest.bool(body, "stream");
        JsonNode options = body.get("stream_options");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw AtriumException.invalidParam("stream_options", "'stream_options' must be an object");
        }
        boolean includeUsage = stream && options != null && options.isObject()
                && OpenAiGenerationRequest.bool(options, "include_usage");
        serving.generate(caller, model.stringValue(), chat, stream, (ObjectNode) body, () -> local(body, chat),
                new OpenAiGenerationSink(response, stream, includeUsage));
    }

    private static TextGeneration local(JsonNode body, boolean chat) {
        OpenAiGenerationRequest call = OpenAiGenerationRequest.parse(body, chat);
        return new TextGeneration(call.messages(), call.prompt(), call.maxTokens(), call.temperature(), call.topP(),
                call.seed(), call.stop(), call.presencePenalty(), call.frequencyPenalty(), call.jsonSchema());
    }
}
