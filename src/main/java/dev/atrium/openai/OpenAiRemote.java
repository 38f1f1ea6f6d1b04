package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.engine.remote.RemoteEngine;
import dev.atrium.engine.remote.TokenCounter;
import dev.atrium.engine.remote.UpstreamStream;
import dev.atrium.gateway.Admission;
import dev.atrium.gateway.Metered;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.Json;
import dev.atrium.server.RequestContext;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * OpenAI calls to remote models: the client's body goes to the model's upstream with only {@code model} replaced
 * (and usage asked for when streaming), so fields Atrium does not interpret still work; where it goes is the
 * model's, never the client's, choice. Answers come back with Atrium's id and model name, streams chunk by
 * chunk. Usage is the upstream's, or counted when it reports none; each call is admitted, reserved and recorded
 * like a local one. A stream is committed to the client only once the upstream's first chunk has arrived, so
 * until then a failure can still be served by a fallback model.
 */
final class OpenAiRemote {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final Metering metering;

    OpenAiRemote(Metering metering) {
        this.metering = requireNonNull(metering, "metering is null");
    }

    // ---- chat and completions -----------------------------------------------------------------------------------

    void generate(RemoteEngine engine, ResolvedModel resolved, JsonNode body, boolean chat, ServerResponse response) {
        RemoteMetadata remote = resolved.version().metadata().remoteMetadata().orElseThrow();
        ObjectNode upstream = ((ObjectNode) body).deepCopy();
        int promptTokens = chat ? TokenCounter.countChat(messageTexts(upstream)) : promptTokens(upstream);
        int maxTokens = maxTokens(upstream).orElse(remote.maxOutputTokens());
        boolean stream = OpenAiGenerationRequest.bool(upstream, "stream");
        JsonNode options = upstream.get("stream_options");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw AtriumException.invalidParam("stream_options", "'stream_options' must be an object");
        }
        boolean includeUsage = stream && options != null && options.isObject() && OpenAiGenerationRequest.bool(options, "include_usage");
        upstream.put("model", remote.upstreamModel());
        if (stream) {
            upstream.putObject("stream_options").put("include_usage", true);
        } else {
            upstream.remove("stream_options");
        }

        Admission.takeTokens((long) promptTokens + maxTokens);
        String endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
        Metering.Meter meter = Metered.start(metering, resolved, endpoint);
        meter.reserve(new Usage(promptTokens, maxTokens, 1, Metered.RESERVED_COMPUTE_MILLIS));
        String path = chat ? "/chat/completions" : "/completions";
        String id = (chat ? "chatcmpl-" : "cmpl-") + RequestContext.current().serverRequestId().substring("req_".length());
        byte[] request = Json.MAPPER.writeValueAsBytes(upstream);
        if (stream) {
            stream(engine, resolved, path, request, new Answer(chat, id, resolved.model().name(), promptTokens),
                    includeUsage, meter, response);
        } else {
            whole(engine, resolved, path, request, new Answer(chat, id, resolved.model().name(), promptTokens), meter,
                    response);
        }
    }

    /** What every answer to one request shares. */
    private record Answer(boolean chat, String id, String model, int promptTokens) {}

    private void whole(RemoteEngine engine, ResolvedModel resolved, String path, byte[] request, Answer answer,
            Metering.Meter meter, ServerResponse response) {
        RemoteEngine.Answer reply;
        try {
            reply = engine.call(resolved.deployment(), path, request);
        } catch (RuntimeException e) {
            meter.release();
            throw e;
        }
        ObjectNode out = (ObjectNode) reply.body();
        JsonNode choices = out.get("choices");
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            meter.release();
            throw upstreamError(answer, "an answer without choices");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode choice : choices) {
            text.append(answer.chat() ? choice.path("message").path("content").asString("") : choice.path("text").asString(""));
        }
        Usage usage = usage(out.get("usage"), answer.promptTokens(), text, reply.elapsedNanos());
        out.put("id", answer.id());
        out.put("model", answer.model());
        out.set("usage", usageNode(usage));
        meter.finish(usage, "ok");
        Metered.alertHeaders(response, meter);
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(resolved.version().version()));
        Json.send(response, Status.OK_200, Json.MAPPER.writeValueAsBytes(out));
    }

    private void stream(RemoteEngine engine, ResolvedModel resolved, String path, byte[] request, Answer answer,
            boolean includeUsage, Metering.Meter meter, ServerResponse response) {
        UpstreamStream upstream;
        JsonNode chunk;
        try {
            upstream = engine.stream(resolved.deployment(), path, request);
            chunk = upstream.next();
            if (chunk == null) {
                throw upstreamError(answer, "a stream with no chunk");
            }
        } catch (RuntimeException e) {
            meter.release();
            throw e;
        }
        response.header(HeaderValues.create("Content-Type", "text/event-stream; charset=utf-8"));
        response.header(HeaderValues.create("Cache-Control", "no-cache"));
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(resolved.version().version()));
        StringBuilder text = new StringBuilder();
        JsonNode upstreamUsage = null;
        boolean finished = false;
        long created = chunk.path("created").asLong(System.currentTimeMillis() / 1000);
        try (upstream; OutputStream out = response.outputStream()) {
            AtriumException failure = null;
            while (chunk != null) {
                JsonNode usage = chunk.get("usage");
                if (usage != null && usage.isObject()) {
                    upstreamUsage = usage;
                }
                ObjectNode forward = (ObjectNode) chunk;
                forward.remove("usage");
                JsonNode choices = forward.get("choices");
                if (choices != null && choices.isArray() && !choices.isEmpty()) {
                    for (JsonNode choice : choices) {
                        text.append(answer.chat() ? choice.path("delta").path("content").asString("")
                                : choice.path("text").asString(""));
                        finished |= choice.hasNonNull("finish_reason");
                    }
                    forward.put("id", answer.id());
                    forward.put("model", answer.model());
                    event(out, Json.MAPPER.writeValueAsBytes(forward));
                } else if (usage == null) {
                    failure = upstreamError(answer, "a chunk without choices");
                    break;
                }
                try {
                    chunk = upstream.next();
                } catch (AtriumException e) {
                    failure = e;
                    break;
                }
            }
            if (failure == null && !upstream.sawDone() && !finished) {
                failure = upstreamError(answer, "a stream that stopped before it finished");
            }
            Usage usage = usage(upstreamUsage, answer.promptTokens(), text, upstream.elapsedNanos());
            if (failure != null) {
                // the client has part of an answer: it is billed for what it got, and told the rest failed
                meter.finish(usage, "upstream_error");
                event(out, OpenAiGenerationService.error(failure));
                out.write(DONE);
                out.flush();
                return;
            }
            meter.finish(usage, "ok");
            if (includeUsage) {
                ObjectNode last = Json.MAPPER.createObjectNode();
                last.put("id", answer.id());
                last.put("object", answer.chat() ? "chat.completion.chunk" : "text_completion");
                last.put("created", created);
                last.put("model", answer.model());
                last.putArray("choices");
                last.set("usage", usageNode(usage));
                event(out, Json.MAPPER.writeValueAsBytes(last));
            }
            out.write(DONE);
            out.flush();
        } catch (IOException | RuntimeException e) {
            // the client went away: the upstream is closed (try-with-resources), and what was sent is billed
            upstream.close();
            if (!meter.isFinished()) {
                meter.finish(usage(upstreamUsage, answer.promptTokens(), text, upstream.elapsedNanos()),
                        "client_cancelled");
            }
        }
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    void embed(RemoteEngine engine, ResolvedModel resolved, JsonNode body, OpenAiEmbeddingsRequest call,
            ServerResponse response) {
        RemoteMetadata remote = resolved.version().metadata().remoteMetadata().orElseThrow();
        ObjectNode upstream = ((ObjectNode) body).deepCopy();
        upstream.put("model", remote.upstreamModel());
        long tokens = 0;
        for (EmbeddingInput input : call.inputs()) {
            tokens += switch (input) {
                case EmbeddingInput.Text text -> TokenCounter.count(text.text());
                case EmbeddingInput.TokenIds ids -> ids.ids().length;
            };
        }
        Admission.takeTokens(tokens);
        Metering.Meter meter = Metered.start(metering, resolved, "/v1/embeddings");
        meter.reserve(Metered.worstCase(tokens));
        RemoteEngine.Answer reply;
        try {
            reply = engine.call(resolved.deployment(), "/embeddings", Json.MAPPER.writeValueAsBytes(upstream));
        } catch (RuntimeException e) {
            meter.release();
            throw e;
        }
        ObjectNode out = (ObjectNode) reply.body();
        JsonNode data = out.get("data");
        if (data == null || !data.isArray() || data.size() != call.inputs().size()) {
            meter.release();
            throw new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + resolved.model().name()
                    + "' failed: an answer without one embedding per input");
        }
        for (JsonNode item : data) {
            JsonNode embedding = item.get("embedding");
            if (embedding == null || !(embedding.isArray() || embedding.isString())) {
                meter.release();
                throw new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '"
                        + resolved.model().name() + "' failed: an embedding that is neither numbers nor base64");
            }
        }
        JsonNode reported = out.path("usage").get("prompt_tokens");
        long promptTokens = reported != null && reported.isIntegralNumber() && reported.longValue() >= 0
                ? reported.longValue() : tokens;
        Usage usage = new Usage(promptTokens, 0, 1, Metered.millis(reply.elapsedNanos()));
        out.put("model", resolved.model().name());
        ObjectNode usageNode = out.putObject("usage");
        usageNode.put("prompt_tokens", promptTokens);
        usageNode.put("total_tokens", promptTokens);
        meter.finish(usage, "ok");
        Metered.alertHeaders(response, meter);
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(resolved.version().version()));
        Json.send(response, Status.OK_200, Json.MAPPER.writeValueAsBytes(out));
    }

    // ---- fields -------------------------------------------------------------------------------------------------

    /** The texts of the messages, for counting; checks the shape the upstream needs at the least. */
    private static List<String> messageTexts(ObjectNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw AtriumException.invalidParam("messages", "'messages' must be a non-empty array");
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            if (!message.isObject() || !message.path("role").isString()) {
                throw AtriumException.invalidParam("messages", "messages[" + i + "] needs a role");
            }
            JsonNode content = message.get("content");
            if (content != null && content.isString()) {
                texts.add(content.stringValue());
            } else if (content != null && content.isArray()) {
                StringBuilder text = new StringBuilder();
                content.forEach(part -> text.append(part.path("text").asString("")));
                texts.add(text.toString());
            } else {
                texts.add("");
            }
        }
        return texts;
    }

    private static int promptTokens(ObjectNode body) {
        JsonNode prompt = body.get("prompt");
        if (prompt != null && prompt.isString()) {
            return TokenCounter.count(prompt.stringValue());
        }
        if (prompt != null && prompt.isArray() && !prompt.isEmpty()) {
            int tokens = 0;
            for (JsonNode item : prompt) {
                if (!item.isString()) {
                    throw AtriumException.invalidParam("prompt", "'prompt' must be a string or an array of strings");
                }
                tokens += TokenCounter.count(item.stringValue());
            }
            return tokens;
        }
        throw AtriumException.invalidParam("prompt", "'prompt' is required: a string or an array of strings");
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}, as the local path reads them. */
    private static java.util.OptionalInt maxTokens(ObjectNode body) {
        java.util.OptionalInt completion = OpenAiGenerationRequest.positive(body, "max_completion_tokens");
        return completion.isPresent() ? completion : OpenAiGenerationRequest.positive(body, "max_tokens");
    }

    /** The upstream's usage when it reported sound numbers, else the prompt as counted and the text produced. */
    private static Usage usage(JsonNode reported, int promptTokens, CharSequence text, long elapsedNanos) {
        long millis = Metered.millis(elapsedNanos);
        if (reported != null && reported.path("prompt_tokens").isIntegralNumber()
                && reported.path("completion_tokens").isIntegralNumber()
                && reported.path("prompt_tokens").longValue() >= 0 && reported.path("completion_tokens").longValue() >= 0) {
            return new Usage(reported.path("prompt_tokens").longValue(), reported.path("completion_tokens").longValue(),
                    1, millis);
        }
        return new Usage(promptTokens, TokenCounter.count(text.toString()), 1, millis);
    }

    private static ObjectNode usageNode(Usage usage) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("prompt_tokens", usage.inputTokens());
        node.put("completion_tokens", usage.outputTokens());
        node.put("total_tokens", usage.inputTokens() + usage.outputTokens());
        return node;
    }

    private static AtriumException upstreamError(Answer answer, String what) {
        return new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + answer.model()
                + "' failed: " + what);
    }

    private static void event(OutputStream out, byte[] json) throws IOException {
        out.write(DATA);
        out.write(json);
        out.write(EVENT_END);
        out.flush();
    }
}
