package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.gateway.Metered;
import dev.atrium.metering.Usage;
import dev.atrium.server.Json;
import dev.atrium.serving.GenerationSink;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.node.ObjectNode;

/**
 * Encodes a generation as OpenAI does: one {@code chat.completion} / {@code text_completion} object, or
 * server-sent events of chunks ending in {@code data: [DONE]}, with a usage chunk when the client asked for it
 * ({@code stream_options.include_usage}). A remote model's chunks pass as its upstream sent them, under Atrium's
 * id and model name.
 */
final class OpenAiGenerationSink implements GenerationSink {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    /** A server-sent events comment: clients skip it. */
    private static final byte[] KEEP_ALIVE = ": waiting\n\n".getBytes(StandardCharsets.UTF_8);

    private final ServerResponse response;
    private final boolean stream;
    private final boolean includeUsage;
    private final StringBuilder text = new StringBuilder();
    private Answer answer;
    private OutputStream out;
    private boolean wroteRole;

    OpenAiGenerationSink(ServerResponse response, boolean stream, boolean includeUsage) {
        this.response = response;
        this.stream = stream;
        this.includeUsage = includeUsage;
    }

    @Override
    public void begin(Answer answer) throws IOException {
        this.answer = answer;
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(answer.version()));
        if (stream) {
            response.header(HeaderValues.create("Content-Type", "text/event-stream; charset=utf-8"));
            response.header(HeaderValues.create("Cache-Control", "no-cache"));
            out = response.outputStream();
        }
    }

    @Override
    public void heartbeat() throws IOException {
        if (stream) {
            out.write(KEEP_ALIVE);
            out.flush();
        }
    }

    @Override
    public void text(String piece) throws IOException {
        if (!stream) {
            text.append(piece);
            return;
        }
        role();
        event(chunk(piece, false, null));
    }

    @Override
    public void chunk(ObjectNode chunk) throws IOException {
        chunk.remove("usage");
        chunk.put("id", answer.id());
        chunk.put("model", answer.model());
        event(Json.MAPPER.writeValueAsBytes(chunk));
    }

    @Override
    public void whole(ObjectNode upstream, Usage usage, Map<String, List<BigDecimal>> alerts) {
        upstream.put("id", answer.id());
        upstream.put("model", answer.model());
        ObjectNode node = upstream.putObject("usage");
        node.put("prompt_tokens", usage.inputTokens());
        node.put("completion_tokens", usage.outputTokens());
        node.put("total_tokens", usage.inputTokens() + usage.outputTokens());
        Metered.alertHeaders(response, alerts);
        Json.send(response, Status.OK_200, Json.MAPPER.writeValueAsBytes(upstream));
    }

    @Override
    public void end(String finishReason, Usage usage, Map<String, List<BigDecimal>> alerts) throws IOException {
        if (!stream) {
            Metered.alertHeaders(response, alerts);
            Json.send(response, Status.OK_200, whole(finishReason, usage));
            return;
        }
        if (finishReason != null) {
            role();
            event(chunk(null, false, finishReason));
        }
        if (includeUsage) {
            ByteArrayOutputStream usageChunk = new ByteArrayOutputStream(256);
            try (JsonGenerator json = Json.MAPPER.createGenerator(usageChunk)) {
                json.writeStartObject();
                head(json, answer.chat() ? "chat.completion.chunk" : "text_completion");
                json.writeArrayPropertyStart("choices");
                json.writeEndArray();
                usage(json, usage);
                json.writeEndObject();
            }
            event(usageChunk.toByteArray());
        }
        out.write(DONE);
        out.flush();
    }

    @Override
    public void failed(AtriumException failure) throws IOException {
        event(error(failure));
        out.write(DONE);
        out.flush();
    }

    /** A local chat stream opens with the assistant's role, as OpenAI's do; an upstream's sends its own. */
    private void role() throws IOException {
        if (answer.chat() && !wroteRole) {
            wroteRole = true;
            event(chunk(null, true, null));
        }
    }

    private byte[] whole(String finishReason, Usage usage) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(256 + text.length());
        try (JsonGenerator json = Json.MAPPER.createGenerator(body)) {
            json.writeStartObject();
            head(json, answer.chat() ? "chat.completion" : "text_completion");
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
            json.writeStringProperty("finish_reason", finishReason);
            json.writeEndObject();
            json.writeEndArray();
            usage(json, usage);
            json.writeEndObject();
        }
        return body.toByteArray();
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

    private byte[] chunk(String piece, boolean first, String finishReason) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(160 + (piece == null ? 0 : piece.length() * 2));
        try (JsonGenerator json = Json.MAPPER.createGenerator(body)) {
            json.writeStartObject();
            head(json, answer.chat() ? "chat.completion.chunk" : "text_completion");
            json.writeArrayPropertyStart("choices");
            json.writeStartObject();
            json.writeNumberProperty("index", 0);
            if (answer.chat()) {
                json.writeObjectPropertyStart("delta");
                if (first) {
                    json.writeStringProperty("role", "assistant");
                    json.writeStringProperty("content", "");
                } else if (piece != null) {
                    json.writeStringProperty("content", piece);
                }
                json.writeEndObject();
            } else {
                json.writeStringProperty("text", piece == null ? "" : piece);
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
        return body.toByteArray();
    }

    private void head(JsonGenerator json, String object) {
        json.writeStringProperty("id", answer.id());
        json.writeStringProperty("object", object);
        json.writeNumberProperty("created", answer.created());
        json.writeStringProperty("model", answer.model());
    }

    private static void usage(JsonGenerator json, Usage usage) {
        json.writeObjectPropertyStart("usage");
        json.writeNumberProperty("prompt_tokens", usage.inputTokens());
        json.writeNumberProperty("completion_tokens", usage.outputTokens());
        json.writeNumberProperty("total_tokens", usage.inputTokens() + usage.outputTokens());
        json.writeEndObject();
    }

    private void event(byte[] json) throws IOException {
        out.write(DATA);
        out.write(json);
        out.write(EVENT_END);
        out.flush();
    }
}
