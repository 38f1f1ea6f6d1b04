package dev.atrium.serving;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.Generation;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.GenerationRequest;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.LanguageMetadata;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Outcome;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.RequestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One generation on a local language model: the prompt rendered through the model's template and counted, refused
 * when it does not fit the context per slot with its {@code max_tokens} (nothing is cut), admitted and reserved at
 * that worst case, then generated until it ends, the client leaves (the generation stops at once and what it
 * produced is billed), the model stalls, or the call's deadline cuts it.
 */
final class LocalGeneration {
    /** How often a stream with nothing to send checks that its client is still there. */
    private static final Duration HEARTBEAT = Duration.ofMillis(200);

    private final Serving serving;
    private final Caller caller;
    private final ResolvedModel resolved;
    private final LanguageEngine engine;
    private final Endpoint endpoint;
    private final boolean chat;
    private final boolean stream;

    LocalGeneration(Serving serving, Caller caller, ResolvedModel resolved, LanguageEngine engine, Endpoint endpoint,
            boolean chat, boolean stream) {
        this.serving = serving;
        this.caller = caller;
        this.resolved = resolved;
        this.engine = engine;
        this.endpoint = endpoint;
        this.chat = chat;
        this.stream = stream;
    }

    void run(TextGeneration call, GenerationSink sink) {
        LanguageMetadata metadata = resolved.version().metadata().languageMetadata().orElseThrow();
        String prompt = chat ? engine.chatPrompt(resolved.deployment(), call.messages()) : call.prompt();
        int promptTokens = engine.countTokens(resolved.deployment(), prompt);
        int limit = metadata.contextPerSlot();
        if (promptTokens >= limit) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, chat ? "messages" : "prompt",
                    "the prompt is " + promptTokens + " tokens, but model '" + resolved.model().name()
                            + "' has a context of " + limit + " tokens per request");
        }
        int maxTokens = call.maxTokens().orElse(limit - promptTokens);
        if ((long) promptTokens + maxTokens > limit) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "max_tokens", "the prompt ("
                    + promptTokens + " tokens) plus max_tokens (" + maxTokens + ") is more than the context of "
                    + limit + " tokens per request of model '" + resolved.model().name() + "'");
        }
        String grammar = call.jsonSchema().map(engine::jsonGrammar).orElse(null);
        GenerationRequest generation = new GenerationRequest(prompt, maxTokens, call.temperature(), call.topP(),
                call.seed(), call.stop(), call.presencePenalty(), call.frequencyPenalty(), grammar);

        ModelCall modelCall = serving.open(caller, resolved, endpoint, (long) promptTokens + maxTokens,
                new Usage(promptTokens, maxTokens, 1, serving.deadline().toMillis()), null);
        try {
            Generation running = engine.start(resolved.deployment(), generation, modelCall.context());
            modelCall.accept();
            generate(modelCall, running, promptTokens, sink);
        } catch (RuntimeException e) {
            modelCall.failing(Serving.outcome(e));
            throw e;
        } finally {
            modelCall.close();
        }
    }

    private void generate(ModelCall call, Generation generation, int promptTokens, GenerationSink sink) {
        GenerationSink.Answer answer = new GenerationSink.Answer(chat, (chat ? "chatcmpl-" : "cmpl-")
                + RequestContext.current().serverRequestId().substring("req_".length()),
                System.currentTimeMillis() / 1000, resolved.model().name(), resolved.version().version());
        boolean begun = false;
        int produced = 0;
        try {
            if (stream) {
                begun = true;
                sink.begin(answer);
            }
            while (true) {
                GenerationEvent event = next(call, generation, sink);
                switch (event) {
                    case GenerationEvent.Text text -> {
                        produced++;
                        call.consumed(new Usage(promptTokens, produced, 1, 0));
                        sink.text(text.text());
                    }
                    case GenerationEvent.Done done -> {
                        Usage usage = new Usage(promptTokens, done.completionTokens(), 1,
                                Serving.millis(done.computeNanos()));
                        if (done.finishReason().equals("cancelled")) {
                            throw new IOException("the generation was cancelled");
                        }
                        Map<String, List<BigDecimal>> alerts = call.succeed(usage);
                        if (!begun) {
                            begun = true;
                            sink.begin(answer);
                        }
                        sink.end(done.finishReason(), call.withinReservation(usage), alerts);
                        return;
                    }
                    case GenerationEvent.Failure failure -> {
                        call.fail(Outcome.ENGINE_ERROR, new Usage(promptTokens, produced, 1, 0));
                        throw AtriumException.internal(failure.message(), null);
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // the client went away (or the server's own exceptions for a closed connection): stop generating at
            // once, and bill what was produced
            cancelled(call, generation, promptTokens, produced, Outcome.CLIENT_CANCELLED);
        } catch (AtriumException e) {
            if (!begun) {
                throw e;
            }
            // the engine failed, stalled or ran out of time after the stream began: the record is written; the
            // stream ends with an error event, as OpenAI's do
            try {
                sink.failed(e);
            } catch (IOException | UncheckedIOException gone) {
                // the client left as well: nothing more to tell it
            }
        } catch (RuntimeException e) {
            if (call.isSettled()) {
                throw e;
            }
            // a write that failed inside the server's response: the client is gone
            cancelled(call, generation, promptTokens, produced, Outcome.CLIENT_CANCELLED);
        }
    }

    /**
     * The next event, within the stall limit and the call's deadline (ending the call on either); while none
     * comes, the sink's heartbeat finds out whether the client is still there.
     */
    private GenerationEvent next(ModelCall call, Generation generation, GenerationSink sink) throws IOException {
        long stalledAt = System.nanoTime() + Serving.stall().toNanos();
        GenerationEvent event = null;
        while (event == null) {
            long wait = Math.min(stalledAt - System.nanoTime(), call.context().remainingNanos());
            if (wait <= 0) {
                break;
            }
            try {
                event = generation.next(Duration.ofNanos(Math.min(wait, HEARTBEAT.toNanos())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                generation.cancel();
                call.failing(Outcome.ENGINE_ERROR);
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
            }
            if (event == null) {
                sink.heartbeat();
            }
        }
        if (event != null) {
            return event;
        }
        GenerationEvent.Done last = stop(generation);
        Usage usage = new Usage(call.consumedUsage().inputTokens(), last.completionTokens(), 1,
                Serving.millis(last.computeNanos()));
        if (call.context().remainingNanos() == 0) {
            call.fail(Outcome.DEADLINE, usage);
            throw new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "model '" + resolved.model().name()
                    + "' did not finish within the call's deadline of " + serving.deadline().toSeconds() + " s");
        }
        call.fail(Outcome.ENGINE_ERROR, new Usage(usage.inputTokens(), 0, 1, 0));
        throw AtriumException.retryable(ErrorCode.OVERLOADED, "the model produced nothing for "
                + Serving.stall().toSeconds() + " s", 5);
    }

    private void cancelled(ModelCall call, Generation generation, int promptTokens, int produced, Outcome outcome) {
        if (call.isSettled()) {
            return;
        }
        GenerationEvent.Done last = stop(generation);
        call.fail(outcome, new Usage(promptTokens, Math.max(produced, last.completionTokens()), 1,
                Serving.millis(last.computeNanos())));
    }

    /** Cancels the generation and waits briefly for it to stop and say how much it produced. */
    private static GenerationEvent.Done stop(Generation generation) {
        generation.cancel();
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
}
