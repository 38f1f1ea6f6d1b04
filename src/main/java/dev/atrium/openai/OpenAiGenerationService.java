package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.Engine;
import dev.atrium.engine.Generation;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.GenerationRequest;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.LanguageMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.remote.RemoteEngine;
import dev.atrium.gateway.Admission;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.Metered;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.Json;
import dev.atrium.server.RequestContext;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;

/**
 * OpenAI-compatible text generation: {@code /v1/chat/completions} and {@code /v1/completions}, whole or
 * streamed as server-sent events exactly as OpenAI streams them. A prompt that does not fit the model's context
 * with its {@code max_tokens} is refused naming the limit (nothing is cut). The worst case (prompt plus
 * {@code max_tokens}) is admitted and reserved before generating; the ledger records what was produced, also
 * when the client goes away, which stops the generation at once.
 */
public final class OpenAiGenerationService implements HttpService {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final Duration STALL = Duration.ofSeconds(60);

    private final ModelRegistry registry;
    private final Metering metering;
    private final long maxRequestBytes;
    private final OpenAiRemote remote;

    public OpenAiGenerationService(ModelRegistry registry, Metering metering, long maxRequestBytes) {
        this.registry = requireNonNull(registry, "registry is null");
        this.metering = requireNonNull(metering, "metering is null");
        this.maxRequestBytes = maxRequestBytes;
        this.remote = new OpenAiRemote(metering);
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
        ResolvedModel primary = registry.resolve(caller.modelScope(), model.stringValue());
        Fallbacks.serve(registry, caller.modelScope(), primary, resolved -> serve(resolved, body, chat, response));
    }

    /** Serves the request with one model; throws only before anything was sent. */
    private void serve(ResolvedModel resolved, JsonNode body, boolean chat, ServerResponse response) {
        ModelTask task = resolved.model().task();
        if ((chat && task != ModelTask.CHAT) || (!chat && task != ModelTask.CHAT && task != ModelTask.COMPLETION)) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + resolved.model().name()
                    + "' is a " + task.wireName() + " model; it cannot do " + (chat ? "chat completions" : "completions"));
        }
        Engine engine = registry.engine(resolved.model());
        if (engine instanceof RemoteEngine remoteEngine) {
            remote.generate(remoteEngine, resolved, body, chat, response);
            return;
        }
        if (!(engine instanceof LanguageEngine language)) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + resolved.model().name()
                    + "' is not served by a language engine");
        }
        OpenAiGenerationRequest call = OpenAiGenerationRequest.parse(body, chat);
        LanguageMetadata metadata = resolved.version().metadata().languageMetadata().orElseThrow();
        String prompt = chat ? language.chatPrompt(resolved.deployment(), call.messages()) : call.prompt();
        int promptTokens = language.countTokens(resolved.deployment(), prompt);
        int limit = metadata.contextPerSlot();
        if (promptTokens >= limit) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, chat ? "messages" : "prompt",
                    "the prompt is " + promptTokens + " tokens, but model '" + resolved.model().name()
                            + "' has a context of " + limit + " tokens per request");
        }
        int maxTokens = call.maxTokens().orElse(limit - promptTokens);
        if (promptTokens + maxTokens > limit) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "max_tokens", "the prompt ("
                    + promptTokens + " tokens) plus max_tokens (" + maxTokens + ") is more than the context of "
                    + limit + " tokens per request of model '" + resolved.model().name() + "'");
        }
        String grammar = call.jsonSchema().map(language::jsonGrammar).orElse(null);
        GenerationRequest generation = new GenerationRequest(prompt, maxTokens, call.temperature(), call.topP(),
                call.seed(), call.stop(), call.presencePenalty(), call.frequencyPenalty(), grammar);

        Admission.takeTokens((long) promptTokens + maxTokens);
        String endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
        Metering.Meter meter = Metered.start(metering, resolved, endpoint);
        meter.reserve(new Usage(promptTokens, maxTokens, 1, Metered.RESERVED_COMPUTE_MILLIS));
        Generation running;
        try {
            running = language.start(resolved.deployment(), generation);
        } catch (RuntimeException e) {
            meter.release();
            throw e;
        }
        // OpenAI's ids are the object's prefix and a unique suffix: the server's request id, without its "req_"
        String suffix = RequestContext.current().serverRequestId().substring("req_".length());
        Answer answer = new Answer(chat, (chat ? "chatcmpl-" : "cmpl-") + suffix,
                System.currentTimeMillis() / 1000, resolved.model().name(), promptTokens);
        if (call.stream()) {
            stream(response, running, answer, call.includeUsage(), meter);
        } else {
            whole(response, running, answer, meter);
        }
    }

    /** What identifies an answer in every chunk. */
    /** @param id the answer's id, the same in every chunk of a stream */
    private record Answer(boolean chat, String id, long created, String model, int promptTokens) {}

    private void whole(ServerResponse response, Generation generation, Answer answer, Metering.Meter meter) {
        StringBuilder text = new StringBuilder();
        GenerationEvent.Done done = drain(generation, text::append, meter, answer);
        meter.finish(new Usage(answer.promptTokens(), done.completionTokens(), 1, Metered.millis(done.computeNanos())), "ok");
        Metered.alertHeaders(response, meter);
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + text.length());
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            json.writeStartObject();
            head(json, answer, answer.chat() ? "chat.completion" : "text_completion");
            json.writeArrayPropertyStart("choices");
            json.writeStartObject();
            json.writeNumberProperty("index", 0);
            if (answer.chat()) {
                json.writeObjectPropertyStart("message");
                json.writeStringProperty("role", "assistant");
                json.writeStringProperty("content", text.toString());
                json.writeEndObject();
            } else {
                json.writeStringProperty("text", text.toString());
                json.writeNullProperty("logprobs");
            }
            json.writeStringProperty("finish_reason", done.finishReason());
            json.writeEndObject();
            json.writeEndArray();
            usage(json, answer.promptTokens(), done.completionTokens());
            json.writeEndObject();
        }
        Json.send(response, Status.OK_200, out.toByteArray());
    }

    private void stream(ServerResponse response, Generation generation, Answer answer, boolean includeUsage,
            Metering.Meter meter) {
        response.header(HeaderValues.create("Content-Type", "text/event-stream; charset=utf-8"));
        response.header(HeaderValues.create("Cache-Control", "no-cache"));
        GenerationEvent.Done done;
        try (OutputStream out = response.outputStream()) {
            if (answer.chat()) {
                event(out, chunk(answer, null, true, null));
            }
            try {
                done = drain(generation, text -> {
                    try {
                        event(out, chunk(answer, text, false, null));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, meter, answer);
            } catch (AtriumException e) {
                // the engine failed or stalled after the stream began: end it with an error event, as OpenAI
                // does (the generation's record was written when the failure was seen)
                event(out, error(e));
                out.write(DONE);
                out.flush();
                return;
            }
            if (done.finishReason().equals("cancelled")) {
                throw new IOException("cancelled");
            }
            meter.finish(new Usage(answer.promptTokens(), done.completionTokens(), 1,
                    Metered.millis(done.computeNanos())), "ok");
            event(out, chunk(answer, null, false, done.finishReason()));
            if (includeUsage) {
                ByteArrayOutputStream usageChunk = new ByteArrayOutputStream(256);
                try (JsonGenerator json = Json.MAPPER.createGenerator(usageChunk)) {
                    json.writeStartObject();
                    head(json, answer, answer.chat() ? "chat.completion.chunk" : "text_completion");
                    json.writeArrayPropertyStart("choices");
                    json.writeEndArray();
                    usage(json, answer.promptTokens(), done.completionTokens());
                    json.writeEndObject();
                }
                event(out, usageChunk.toByteArray());
            }
            out.write(DONE);
            out.flush();
        } catch (IOException | RuntimeException e) {
            // the client went away (the server's own exceptions for a closed connection included): stop generating
            // at once, and bill what was produced
            generation.cancel();
            GenerationEvent.Done last = awaitEnd(generation);
            meter.finish(new Usage(answer.promptTokens(), last.completionTokens(), 1,
                    Metered.millis(last.computeNanos())), "client_cancelled");
        }
    }

    static byte[] error(AtriumException e) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(256);
        try (JsonGenerator json = Json.MAPPER.createGenerator(body)) {
            json.writeStartObject();
            json.writeObjectPropertyStart("error");
            json.writeStringProperty("message", e.getMessage());
            json.writeStringProperty("type", e.code().openAiType());
            json.writeNullProperty("param");
            json.writeStringProperty("code", e.code().openAiCode());
            json.writeEndObject();
            json.writeEndObject();
        }
        return body.toByteArray();
    }

    /** Reads events until the end, handing text on; a failure or a stalled engine becomes a clean error. */
    private static GenerationEvent.Done drain(Generation generation, java.util.function.Consumer<String> onText,
            Metering.Meter meter, Answer answer) {
        while (true) {
            GenerationEvent event;
            try {
                event = generation.next(STALL);
            } catch (InterruptedException e) {
                generation.cancel();
                Thread.currentThread().interrupt();
                meter.release();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
            }
            switch (event) {
                case null -> {
                    generation.cancel();
                    meter.finish(new Usage(answer.promptTokens(), 0, 1, 0), "error");
                    throw AtriumException.retryable(ErrorCode.OVERLOADED, "the model produced nothing for "
                            + STALL.toSeconds() + " s", 5);
                }
                case GenerationEvent.Text text -> onText.accept(text.text());
                case GenerationEvent.Done done -> {
                    return done;
                }
                case GenerationEvent.Failure failure -> {
                    meter.finish(new Usage(answer.promptTokens(), 0, 1, 0), "error");
                    throw AtriumException.internal(failure.message(), null);
                }
            }
        }
    }

    /** After a cancel: waits briefly for the generation to stop and say how much it produced. */
    private static GenerationEvent.Done awaitEnd(Generation generation) {
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline) {
                GenerationEvent event = generation.next(Duration.ofSeconds(1));
                if (event instanceof GenerationEvent.Done done) {
                    return done;
                }
                if (event instanceof GenerationEvent.Failure) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new GenerationEvent.Done("cancelled", 0, 0);
    }

    private static byte[] chunk(Answer answer, String text, boolean first, String finishReason) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(160 + (text == null ? 0 : text.length() * 2));
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            json.writeStartObject();
            head(json, answer, answer.chat() ? "chat.completion.chunk" : "text_completion");
            json.writeArrayPropertyStart("choices");
            json.writeStartObject();
            json.writeNumberProperty("index", 0);
            if (answer.chat()) {
                json.writeObjectPropertyStart("delta");
                if (first) {
                    json.writeStringProperty("role", "assistant");
                    json.writeStringProperty("content", "");
                } else if (text != null) {
                    json.writeStringProperty("content", text);
                }
                json.writeEndObject();
            } else {
                json.writeStringProperty("text", text == null ? "" : text);
                json.writeNullProperty("logprobs");
            }
            if (finishReason == null) {
                json.writeNullProperty("finish_reason");
            } else {
                json.writeStringProperty("finish_reason", finishReason);
            }
            json.writeEndObject();
            json.writeEndArray();
            json.writeEndObject();
        }
        return out.toByteArray();
    }

    private static void head(JsonGenerator json, Answer answer, String object) {
        json.writeStringProperty("id", answer.id());
        json.writeStringProperty("object", object);
        json.writeNumberProperty("created", answer.created());
        json.writeStringProperty("model", answer.model());
    }

    private static void usage(JsonGenerator json, int promptTokens, int completionTokens) {
        json.writeObjectPropertyStart("usage");
        json.writeNumberProperty("prompt_tokens", promptTokens);
        json.writeNumberProperty("completion_tokens", completionTokens);
        json.writeNumberProperty("total_tokens", promptTokens + completionTokens);
        json.writeEndObject();
    }

    private static void event(OutputStream out, byte[] json) throws IOException {
        out.write(DATA);
        out.write(json);
        out.write(EVENT_END);
        out.flush();
    }

}
