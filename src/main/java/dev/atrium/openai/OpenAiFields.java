package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * The body fields a local model reads, per endpoint, checked as OpenAI checks them: a field OpenAI does not
 * define is refused ("Unrecognized request argument supplied"), and a field it defines that Atrium's local
 * engines cannot honour is refused by name rather than ignored, unless it is sent switched off (null, false,
 * or empty). Bodies for remote models are forwarded instead, unknown fields and all.
 */
final class OpenAiFields {
    static final List<String> EMBEDDINGS = List.of("model", "input", "encoding_format", "dimensions", "user",
            "input_type");
    static final List<String> CHAT = List.of("model", "messages", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "seed", "stop", "n", "stream", "stream_options", "presence_penalty",
            "frequency_penalty", "response_format", "user");
    static final List<String> CHAT_UNSUPPORTED = List.of("logit_bias", "logprobs", "top_logprobs", "tools",
            "tool_choice", "parallel_tool_calls", "functions", "function_call", "audio", "modalities", "prediction",
            "reasoning_effort", "web_search_options", "store", "metadata", "service_tier");
    static final List<String> COMPLETIONS = List.of("model", "prompt", "max_tokens", "temperature", "top_p", "seed",
            "stop", "n", "stream", "stream_options", "presence_penalty", "frequency_penalty", "user");
    static final List<String> COMPLETIONS_UNSUPPORTED = List.of("logit_bias", "logprobs", "best_of", "echo",
            "suffix");

    private OpenAiFields() {}

    /**
     * @throws AtriumException 400 naming the first field that is neither supported nor switched off
     */
    static void check(JsonNode body, List<String> supported, List<String> unsupported) {
        for (String field : body.propertyNames()) {
            if (supported.contains(field)) {
                continue;
            }
            if (!unsupported.contains(field)) {
                throw AtriumException.invalidParam(field, "Unrecognized request argument supplied: " + field);
            }
            if (!switchedOff(body.get(field))) {
                throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, field, "'" + field
                        + "' is not supported by Atrium's local models; leave it out");
            }
        }
    }

    static void checkEmbeddings(JsonNode body) {
        check(body, EMBEDDINGS, List.of());
    }

    private static boolean switchedOff(JsonNode value) {
        return value.isNull() || (value.isBoolean() && !value.booleanValue())
                || ((value.isArray() || value.isObject()) && value.isEmpty());
    }

    /** Tells the serving path the request's {@code user}, which a sticky traffic split routes by. */
    static void routeByUser(JsonNode body) {
        JsonNode user = body.get("user");
        if (user != null && user.isString()) {
            dev.atrium.server.RequestContext.current().served().user(user.stringValue());
        }
    }
}
