package dev.atrium.serving;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ForwardedAnswer;
import dev.atrium.engine.ForwardedRequest;
import dev.atrium.engine.ForwardedStream;
import dev.atrium.engine.ForwardingEngine;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Outcome;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.RequestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * One generation on a remote model: the client's body sent upstream with its output bounds fixed to what is
 * reserved, the answer's usage checked against those bounds (an upstream reporting more than the request could
 * have used, or nonsense, is a 502 with a record, not a charge), and a stream committed to the client only once
 * its first chunk has arrived, so that until then a fallback can still serve it.
 */
final class ForwardedGeneration {
    private final Serving serving;
    private final Caller caller;
    private final ResolvedModel resolved;
    private final ForwardingEngine engine;
    private final Endpoint endpoint;
    private final Attempts attempts;

    ForwardedGeneration(Serving serving, Caller caller, ResolvedModel resolved, ForwardingEngine engine,
            Endpoint endpoint, Attempts attempts) {
        this.serving = serving;
        this.caller = caller;
        this.resolved = resolved;
        this.engine = engine;
        this.endpoint = endpoint;
        this.attempts = attempts;
    }

    void run(ObjectNode body, boolean chat, GenerationSink sink) {
        ForwardedRequest request = engine.prepare(resolved.deployment(), body, chat);
        ModelCall call = serving.open(caller, resolved, endpoint, request.promptEstimate() + request.completionBound(),
                new Usage(request.promptBound(), request.completionBound(), 1, serving.deadline().toMillis()),
                attempts);
        GenerationSink.Answer answer = new GenerationSink.Answer(chat, (chat ? "chatcmpl-" : "cmpl-")
                + RequestContext.current().serverRequestId().substring("req_".length()),
                System.currentTimeMillis() / 1000, resolved.model().name(), resolved.version().version());
        try {
            if (request.stream()) {
                stream(call, request, answer, sink);
            } else {
                whole(call, request, answer, sink);
            }
        } catch (RuntimeException e) {
            call.failing(Serving.outcome(e));
            throw e;
        } finally {
            call.close();
        }
    }

    private void whole(ModelCall call, ForwardedRequest request, GenerationSink.Answer answer, GenerationSink sink) {
        ForwardedAnswer reply = engine.call(resolved.deployment(), request, call.context());
        call.accept();
        ObjectNode out = reply.body();
        JsonNode choices = out.get("choices");
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            throw upstreamError("an answer without choices");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode choice : choices) {
            text.append(answer.chat() ? choice.path("message").path("content").asString("")
                    : choice.path("text").asString(""));
        }
        Usage usage = usage(out.get("usage"), request, text, reply.elapsedNanos())
                .orElseThrow(() -> upstreamError("usage beyond what the request could have used"));
        Map<String, List<BigDecimal>> alerts = call.succeed(usage);
        try {
            sink.begin(answer);
            sink.whole(out, usage, alerts);
        } catch (IOException | UncheckedIOException e) {
            // recorded as answered: the client left as the answer went out
        }
    }

    private void stream(ModelCall call, ForwardedRequest request, GenerationSink.Answer answer, GenerationSink sink) {
        ForwardedStream upstream = engine.stream(resolved.deployment(), request, call.context());
        call.accept();
        StringBuilder text = new StringBuilder();
        JsonNode reported = null;
        try (upstream) {
            JsonNode chunk = upstream.next();
            if (chunk == null) {
                throw upstreamError("a stream with no chunk");
            }
            // committed: from here on, failures are told inside the stream
            boolean finished = false;
            AtriumException failure = null;
            try {
                sink.begin(answer);
                while (chunk != null) {
                    JsonNode usage = chunk.get("usage");
                    if (usage != null && usage.isObject()) {
                        reported = usage;
                    }
                    JsonNode choices = chunk.get("choices");
                    if (!chunk.isObject()) {
                        failure = upstreamError("a chunk that is not a JSON object");
                        break;
                    }
                    if (choices != null && choices.isArray() && !choices.isEmpty()) {
                        for (JsonNode choice : choices) {
                            text.append(answer.chat() ? choice.path("delta").path("content").asString("")
                                    : choice.path("text").asString(""));
                            finished |= choice.hasNonNull("finish_reason");
                        }
                        call.consumed(estimate(request, text, upstream.elapsedNanos()));
                        sink.chunk((ObjectNode) chunk);
                    } else if (usage == null) {
                        failure = upstreamError("a chunk without choices");
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
                    failure = upstreamError("a stream that stopped before it finished");
                }
                Optional<Usage> usage = usage(reported, request, text, upstream.elapsedNanos());
                if (failure == null && usage.isEmpty()) {
                    failure = upstreamError("usage beyond what the request could have used");
                }
                if (failure != null) {
                    // the client has part of an answer: it is billed for what it got (as counted here when the
                    // upstream's own count cannot be trusted), and told the rest failed
                    call.fail(failure.code() == ErrorCode.DEADLINE_EXCEEDED ? Outcome.DEADLINE : Outcome.UPSTREAM_ERROR,
                            failure.code() == ErrorCode.UPSTREAM_ERROR && usage.isEmpty()
                            ? estimate(request, text, upstream.elapsedNanos())
                            : usage.orElseGet(() -> estimate(request, text, upstream.elapsedNanos())));
                    sink.failed(failure);
                    return;
                }
                Map<String, List<BigDecimal>> alerts = call.succeed(usage.get());
                sink.end(null, usage.get(), alerts);
            } catch (IOException | UncheckedIOException e) {
                clientGone(call, reported, request, text, upstream);
            } catch (RuntimeException e) {
                if (e instanceof AtriumException || call.isSettled()) {
                    throw e;
                }
                clientGone(call, reported, request, text, upstream);
            }
        }
    }

    /** The client went away: the upstream is closed, and what was sent is billed. */
    private void clientGone(ModelCall call, JsonNode reported, ForwardedRequest request, CharSequence text,
            ForwardedStream upstream) {
        upstream.close();
        if (!call.isSettled()) {
            call.fail(Outcome.CLIENT_CANCELLED, usage(reported, request, text, upstream.elapsedNanos())
                    .orElseGet(() -> estimate(request, text, upstream.elapsedNanos())));
        }
    }

    /**
     * The upstream's usage when it reported one within the request's bounds; the prompt as counted here and the
     * text produced when it reported none; empty when what it reported cannot be true.
     */
    private Optional<Usage> usage(JsonNode reported, ForwardedRequest request, CharSequence text, long elapsedNanos) {
        if (reported == null || reported.isNull() || reported.isMissingNode()) {
            return Optional.of(estimate(request, text, elapsedNanos));
        }
        JsonNode prompt = reported.get("prompt_tokens");
        JsonNode completion = reported.get("completion_tokens");
        if (prompt == null || completion == null || !prompt.isIntegralNumber() || !completion.isIntegralNumber()
                || !prompt.canConvertToLong() || !completion.canConvertToLong()) {
            return Optional.empty();
        }
        long promptTokens = prompt.longValue();
        long completionTokens = completion.longValue();
        if (promptTokens < 0 || completionTokens < 0 || promptTokens > request.promptBound()
                || completionTokens > request.completionBound()) {
            return Optional.empty();
        }
        return Optional.of(new Usage(promptTokens, completionTokens, 1, Serving.millis(elapsedNanos)));
    }

    private Usage estimate(ForwardedRequest request, CharSequence text, long elapsedNanos) {
        return new Usage(request.promptEstimate(), Math.min(request.completionBound(),
                engine.countTokens(text.toString())), 1, Serving.millis(elapsedNanos));
    }

    private AtriumException upstreamError(String what) {
        return new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + resolved.model().name()
                + "' failed: " + what);
    }
}
