package dev.atrium.serving;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationEngine;
import dev.atrium.engine.ClassificationRequest;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.PreparedClassification;
import dev.atrium.engine.PredictionEngine;
import dev.atrium.engine.PredictionRequest;
import dev.atrium.engine.PredictionResult;
import dev.atrium.engine.PreparedPrediction;
import dev.atrium.engine.PreparedTranscription;
import dev.atrium.engine.Transcript;
import dev.atrium.engine.TranscriptionEngine;
import dev.atrium.engine.TranscriptionRequest;
import dev.atrium.engine.ZeroShot;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.Engine;
import dev.atrium.engine.ForwardingEngine;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.engine.TensorEngine;
import dev.atrium.engine.TensorValidation;
import dev.atrium.gateway.Admission;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Outcome;
import dev.atrium.metering.Usage;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelReference;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.rollout.VersionMonitors;
import dev.atrium.rollout.Shadows;
import dev.atrium.rollout.VersionTraffic;
import dev.atrium.server.RequestContext;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The one path of every model call, whatever the protocol: resolve the reference (name, version, alias, and a
 * remote model's fallbacks) → authorize → check the model can do it → admit its tokens → reserve its worst case
 * → run it on the engine's capability → settle → one usage record with its {@link Outcome} → the answer, for the
 * protocol adapter to encode. Adapters only parse and encode; engines know nothing of callers or prices.
 *
 * <p>Reservations are upper bounds: tokens are bounded before the model runs (a local prompt is counted, an
 * upstream's output is capped by the {@code max_tokens} and {@code n} the request is sent with), and compute time
 * is reserved up to the call's deadline, past which the call is cut.
 */
public final class Serving {
    private static final Logger LOG = LoggerFactory.getLogger(Serving.class);
    /** How long a local model may go without a token while generating before it is taken as stalled. */
    private static final Duration STALL = Duration.ofSeconds(60);
    private static final Set<ErrorCode> FALL_BACK_ON = Set.of(ErrorCode.UPSTREAM_ERROR, ErrorCode.UPSTREAM_TIMEOUT,
            ErrorCode.UPSTREAM_RATE_LIMITED, ErrorCode.OVERLOADED);

    private final ModelRegistry registry;
    private final Metering metering;
    private final Duration deadline;
    private final VersionTraffic traffic;
    private final VersionMonitors monitors;
    private final Shadows shadows;

    /**
     * @param deadline how long one model call may take, queueing included; compute is reserved for as long
     * @param traffic told how each call that reached a model ended, per version
     * @param monitors told of each answer's outputs, per version (embeddings, classes, predictions)
     * @param shadows which aliases mirror some of their requests to another version
     */
    public Serving(ModelRegistry registry, Metering metering, Duration deadline, VersionTraffic traffic,
            VersionMonitors monitors, Shadows shadows) {
        this.registry = requireNonNull(registry, "registry is null");
        this.metering = requireNonNull(metering, "metering is null");
        this.deadline = requireNonNull(deadline, "deadline is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.monitors = requireNonNull(monitors, "monitors is null");
        this.shadows = requireNonNull(shadows, "shadows is null");
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("the deadline must be positive");
        }
    }

    /**
     * The model a caller names, as it sees it: an alias with a traffic split lands on one of its versions, by the
     * split's weights and stickiness (the caller's key, or the request's {@code user}).
     */
    public ResolvedModel resolve(Caller caller, String reference) {
        return resolve(caller, ModelReference.parse(reference));
    }

    public ResolvedModel resolve(Caller caller, ModelReference reference) {
        RequestContext request = RequestContext.current();
        return registry.resolve(caller.modelScope(), reference, new dev.atrium.registry.Split.Routing(
                caller.key().id(), request.served().user()));
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    /** An embedding answer: the model that answered, its vectors, and the budget alerts its charge crossed. */
    public record Embedded(ResolvedModel model, EmbeddingResult result, Map<String, List<BigDecimal>> alerts) {}

    /**
     * @param localChecks what the protocol checks only when a model that does not forward the client's body serves
     *     it (fields such a model does not take)
     */
    public Embedded embed(Caller caller, String reference, EmbeddingRequest request, Runnable localChecks) {
        caller.requireCallsModels();
        return withFallbacks(caller, resolve(caller, reference), (resolved, attempts) -> {
            requireTask(resolved, ModelTask.EMBEDDING, "embeddings");
            EmbeddingEngine engine = capability(resolved, Endpoint.EMBEDDINGS, EmbeddingEngine.class, "embeddings");
            if (!(engine instanceof ForwardingEngine)) {
                localChecks.run();
            }
            PreparedEmbedding prepared = engine.prepare(resolved.deployment(), request);
            Ran<EmbeddingResult> ran = call(caller, resolved, Endpoint.EMBEDDINGS, prepared.tokens(),
                    new Usage(prepared.maxTokens(), 0, 1, deadline.toMillis()), attempts,
                    modelCall -> engine.embed(prepared, modelCall.context()),
                    result -> new Usage(boundedTokens(resolved, result, prepared), 0, 1, millis(result.computeNanos())));
            monitors.embedded(resolved, ran.result().vectors(), ran.used());
            mirror(reference, resolved, Endpoint.EMBEDDINGS, ran.result(), Shadows::cosine, candidate -> {
                PreparedEmbedding again = engine.prepare(candidate.deployment(), request);
                return new Rerun<>(new Usage(again.maxTokens(), 0, 1, deadline.toMillis()),
                        context -> engine.embed(again, context),
                        result -> new Usage(Math.min(Math.max(result.promptTokens(), 0), again.maxTokens()), 0, 1,
                                millis(result.computeNanos())));
            });
            return new Embedded(resolved, ran.result(), ran.alerts());
        });
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    /** A tensor answer: the model that answered, its outputs, and the budget alerts its charge crossed. */
    public record Inferred(ResolvedModel model, InferenceResult result, Map<String, List<BigDecimal>> alerts) {}

    public Inferred infer(Caller caller, ResolvedModel resolved, InferenceRequest request) {
        caller.requireCallsModels();
        TensorEngine engine = capability(resolved, Endpoint.INFER, TensorEngine.class, "tensor inference");
        dev.atrium.engine.PreparedInference prepared = engine.prepare(resolved.deployment(), request);
        TensorValidation.check(resolved.version().metadata(), prepared.request());
        long images = prepared.images();
        Ran<InferenceResult> ran = call(caller, resolved, Endpoint.INFER, 0,
                new Usage(0, 0, 1, deadline.toMillis(), 0, images, 0), null,
                modelCall -> engine.infer(resolved.deployment(), prepared.request(), modelCall.context()),
                result -> new Usage(0, 0, 1, millis(result.computeNanos()), 0, images, 0));
        return new Inferred(resolved, ran.result(), ran.alerts());
    }

    // ---- classification -----------------------------------------------------------------------------------------

    /** A classification answer: the model that answered, the labels of each input, what it was metered by. */
    public record Classified(ResolvedModel model, ClassificationResult result, Usage usage,
            Map<String, List<BigDecimal>> alerts) {}

    /**
     * Classifies texts or images with a classifier, or texts against the request's labels with an embedding model
     * (zero-shot: one embedding call for the inputs and the labels, metered by their tokens).
     */
    public Classified classify(Caller caller, String reference, ClassificationRequest request) {
        caller.requireCallsModels();
        ResolvedModel resolved = resolve(caller, reference);
        ModelTask task = resolved.model().task();
        if (task == ModelTask.EMBEDDING) {
            return zeroShot(caller, reference, resolved, request);
        }
        if (task != ModelTask.TEXT_CLASSIFICATION && task != ModelTask.IMAGE_CLASSIFICATION) {
            requireTask(resolved, ModelTask.TEXT_CLASSIFICATION, "classifications");
        }
        ClassificationEngine engine = capability(resolved, Endpoint.CLASSIFICATIONS, ClassificationEngine.class,
                "classifications");
        PreparedClassification prepared = engine.prepare(resolved.deployment(), request);
        Usage reserved = new Usage(prepared.tokens(), 0, 1, deadline.toMillis(), 0, prepared.images(), 0);
        Ran<ClassificationResult> ran = call(caller, resolved, Endpoint.CLASSIFICATIONS, prepared.tokens(), reserved,
                null, modelCall -> engine.classify(prepared, modelCall.context()),
                result -> new Usage(prepared.tokens(), 0, 1, millis(result.computeNanos()), 0, prepared.images(), 0));
        monitors.classified(resolved, ran.result(), ran.used());
        mirror(reference, resolved, Endpoint.CLASSIFICATIONS, ran.result(), Shadows::labelAgreement, candidate -> {
            PreparedClassification again = engine.prepare(candidate.deployment(), request);
            return new Rerun<>(new Usage(again.tokens(), 0, 1, deadline.toMillis(), 0, again.images(), 0),
                    context -> engine.classify(again, context),
                    result -> new Usage(again.tokens(), 0, 1, millis(result.computeNanos()), 0, again.images(), 0));
        });
        return new Classified(resolved, ran.result(), ran.used(), ran.alerts());
    }

    private Classified zeroShot(Caller caller, String reference, ResolvedModel resolved, ClassificationRequest request) {
        if (request.labels().isEmpty()) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "labels", "model '"
                    + resolved.model().name() + "' is an embedding model: it classifies zero-shot, against the"
                    + " 'labels' given in the request");
        }
        EmbeddingEngine engine = capability(resolved, Endpoint.CLASSIFICATIONS, EmbeddingEngine.class,
                "classifications");
        EmbeddingRequest embedding = ZeroShot.embeddingRequest(request);
        PreparedEmbedding prepared = engine.prepare(resolved.deployment(), embedding);
        Ran<EmbeddingResult> ran = call(caller, resolved, Endpoint.CLASSIFICATIONS, prepared.tokens(),
                new Usage(prepared.maxTokens(), 0, 1, deadline.toMillis()), null,
                modelCall -> engine.embed(prepared, modelCall.context()),
                result -> new Usage(boundedTokens(resolved, result, prepared), 0, 1, millis(result.computeNanos())));
        // the embedding model's outputs are the inputs' vectors; the labels' are the caller's
        monitors.embedded(resolved, ran.result().vectors().subList(0, request.inputs().size()), ran.used());
        ClassificationResult labels = ZeroShot.classify(request, ran.result());
        mirror(reference, resolved, Endpoint.CLASSIFICATIONS, labels, Shadows::labelAgreement, candidate -> {
            PreparedEmbedding again = engine.prepare(candidate.deployment(), embedding);
            return new Rerun<>(new Usage(again.maxTokens(), 0, 1, deadline.toMillis()),
                    context -> ZeroShot.classify(request, engine.embed(again, context)),
                    result -> new Usage(again.tokens(), 0, 1, millis(result.computeNanos())));
        });
        return new Classified(resolved, labels, ran.used(), ran.alerts());
    }

    // ---- transcription ------------------------------------------------------------------------------------------

    /** A transcription answer: the model that answered, what was said, what it was metered by. */
    public record Transcribed(ResolvedModel model, Transcript transcript, Usage usage,
            Map<String, List<BigDecimal>> alerts) {}

    /**
     * Transcribes audio, metered by its duration (reserved in full once decoded, before the model runs).
     *
     * @param progress told of the windows and each segment as the model goes, on this thread
     */
    public Transcribed transcribe(Caller caller, String reference, TranscriptionRequest request,
            dev.atrium.engine.TranscriptionProgress progress) {
        caller.requireCallsModels();
        ResolvedModel resolved = resolve(caller, reference);
        requireTask(resolved, ModelTask.TRANSCRIPTION, "audio transcriptions");
        TranscriptionEngine engine = capability(resolved, Endpoint.TRANSCRIPTIONS, TranscriptionEngine.class,
                "audio transcriptions");
        PreparedTranscription prepared = engine.prepare(resolved.deployment(), request);
        Usage reserved = new Usage(0, 0, 1, deadline.toMillis(), prepared.audioMillis(), 0, 0);
        // a transcription that ends early (its client gone, its deadline passed) is billed for the audio it got to
        java.util.concurrent.atomic.AtomicReference<ModelCall> current = new java.util.concurrent.atomic.AtomicReference<>();
        dev.atrium.engine.TranscriptionProgress metered = new dev.atrium.engine.TranscriptionProgress() {
            @Override
            public void planned(int windows) {
                progress.planned(windows);
            }

            @Override
            public void segment(Transcript.Segment segment, int windowsDone, int windows) {
                current.get().consumed(new Usage(0, 0, 1, 0, Math.min(prepared.audioMillis(),
                        Math.round(segment.end() * 1000)), 0, 0));
                progress.segment(segment, windowsDone, windows);
            }
        };
        Ran<Transcript> ran = call(caller, resolved, Endpoint.TRANSCRIPTIONS, 0, reserved, null, modelCall -> {
                    current.set(modelCall);
                    return engine.transcribe(prepared, modelCall.context(), metered);
                },
                transcript -> new Usage(0, 0, 1, millis(transcript.computeNanos()), prepared.audioMillis(), 0, 0));
        return new Transcribed(resolved, ran.result(), ran.used(), ran.alerts());
    }

    // ---- prediction ---------------------------------------------------------------------------------------------

    /** A prediction answer: the model that answered, one prediction per row, what it was metered by. */
    public record Predicted(ResolvedModel model, PredictionResult result, Usage usage,
            Map<String, List<BigDecimal>> alerts) {}

    /** Predicts rows with a tabular model, metered per row. */
    public Predicted predict(Caller caller, String reference, PredictionRequest request) {
        caller.requireCallsModels();
        ResolvedModel resolved = resolve(caller, reference);
        requireTask(resolved, ModelTask.TABULAR, "predictions");
        PredictionEngine engine = capability(resolved, Endpoint.PREDICTIONS, PredictionEngine.class, "predictions");
        PreparedPrediction prepared = engine.prepare(resolved.deployment(), request);
        Usage reserved = new Usage(0, 0, 1, deadline.toMillis(), 0, 0, prepared.rows());
        Ran<PredictionResult> ran = call(caller, resolved, Endpoint.PREDICTIONS, 0, reserved, null,
                modelCall -> engine.predict(prepared, modelCall.context()),
                result -> new Usage(0, 0, 1, millis(result.computeNanos()), 0, 0, prepared.rows()));
        monitors.predicted(resolved, ran.result(), ran.used());
        mirror(reference, resolved, Endpoint.PREDICTIONS, ran.result(), Shadows::exactMatch, candidate -> {
            PreparedPrediction again = engine.prepare(candidate.deployment(), request);
            return new Rerun<>(new Usage(0, 0, 1, deadline.toMillis(), 0, 0, again.rows()),
                    context -> engine.predict(again, context),
                    result -> new Usage(0, 0, 1, millis(result.computeNanos()), 0, 0, again.rows()));
        });
        return new Predicted(resolved, ran.result(), ran.used(), ran.alerts());
    }

    // ---- jobs: fine-tuning, quantization ------------------------------------------------------------------------

    /**
     * A job as one model call (a fine-tuning job, a quantization): its compute-seconds reserved for its longest run
     * before it starts (a budget that cannot cover them refuses it, 429, before anything runs), and one usage record
     * when it ends.
     */
    public static final class JobCall {
        private final Metering.Meter meter;
        private final Duration maxTime;

        private JobCall(Metering.Meter meter, Duration maxTime) {
            this.meter = meter;
            this.maxTime = maxTime;
        }

        /** The longest the job may run: what its reservation covers. */
        public Duration maxTime() {
            return maxTime;
        }

        /** Records the job's end: its compute time on the job's thread (cut to its reservation) and outcome. */
        public void finish(long computeMillis, Outcome outcome) {
            meter.finish(new Usage(0, 0, 1, Math.min(maxTime.toMillis(), computeMillis)), outcome);
        }

        /** Gives the reservation back with no record: the job never ran, or stops with the server to run again. */
        public void release() {
            meter.release();
        }
    }

    /**
     * Opens a fine-tuning job's call for the caller (its key pays), priced by the {@code per_compute_second} of
     * {@code pricedModel} (the embedding model it trains over, or the family it trains).
     *
     * @param jobId the job, which its usage record names as its request
     */
    public JobCall openJob(Caller caller, String jobId, String pricedModel, Duration maxTime) {
        return openJob(caller, jobId, pricedModel, 0, maxTime, Endpoint.FINE_TUNING);
    }

    /**
     * Opens a job's call for the caller (its key pays), priced by the {@code per_compute_second} of
     * {@code pricedModel}.
     *
     * @param jobId the job, which its usage record names as its request
     * @param version the version it works on, 0 for none
     * @param endpoint what kind of job: an entry point that no engine serves
     */
    public JobCall openJob(Caller caller, String jobId, String pricedModel, int version, Duration maxTime,
            Endpoint endpoint) {
        if (!endpoint.isJob()) {
            throw new IllegalArgumentException(endpoint + " is not a job");
        }
        caller.requireCallsModels();
        Metering.Meter meter = metering.start(new Metering.Subject(jobId, null, caller.key().tenantId(),
                caller.key().id(), pricedModel, version, endpoint.wireName()));
        meter.reserve(new Usage(0, 0, 1, maxTime.toMillis()));
        return new JobCall(meter, maxTime);
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    /**
     * A chat completion or a completion, whole or streamed, through the sink. Throws only before the sink's
     * {@code begin}; after it, failures go to the sink.
     *
     * @param body the client's body, which a remote model's upstream receives (its fields Atrium does not read
     *     included)
     * @param local parses the body for a local model; only called when one serves it
     */
    public void generate(Caller caller, String reference, boolean chat, boolean stream, ObjectNode body,
            java.util.function.Supplier<TextGeneration> local, GenerationSink sink) {
        caller.requireCallsModels();
        Endpoint endpoint = chat ? Endpoint.CHAT_COMPLETIONS : Endpoint.COMPLETIONS;
        if (body.path("user").isString()) {
            RequestContext.current().served().user(body.path("user").stringValue()); // a sticky split's routing
        }
        withFallbacks(caller, resolve(caller, reference), (resolved, attempts) -> {
            ModelTask task = resolved.model().task();
            if ((chat && task != ModelTask.CHAT) || (!chat && task != ModelTask.CHAT && task != ModelTask.COMPLETION)) {
                throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                        + resolved.model().name() + "' is a " + task.wireName() + " model; it cannot do "
                        + (chat ? "chat completions" : "completions"));
            }
            Engine engine = registry.engine(resolved.model());
            if (!endpoint.servedBy(engine)) {
                throw unsupported(resolved, chat ? "chat completions" : "completions");
            }
            switch (engine) {
                case LanguageEngine language -> new LocalGeneration(this, caller, resolved, language, endpoint, chat,
                        stream).run(local.get(), sink);
                case ForwardingEngine forwarding -> new ForwardedGeneration(this, caller, resolved, forwarding,
                        endpoint, attempts).run(body, chat, sink);
                default -> throw unsupported(resolved, chat ? "chat completions" : "completions");
            }
            return null;
        });
    }

    // ---- the path's steps ---------------------------------------------------------------------------------------

    /** A call's result, the usage recorded for it (cut to its reservation) and the budget alerts it crossed. */
    private record Ran<R>(R result, Usage used, Map<String, List<BigDecimal>> alerts) {}

    /**
     * Runs one model call that answers whole: admits and reserves, runs, and records what the result says it used
     * (or, when it fails after the engine took it, what the failure says), settling the reservation either way.
     *
     * @param usage what a result used; may throw to refuse a result (an upstream's absurd report)
     */
    private <R> Ran<R> call(Caller caller, ResolvedModel resolved, Endpoint endpoint, long admittedTokens,
            Usage reserved, Attempts attempts, java.util.function.Function<ModelCall, R> run,
            java.util.function.Function<R, Usage> usage) {
        ModelCall call = open(caller, resolved, endpoint, admittedTokens, reserved, attempts);
        try {
            R result = run.apply(call);
            Usage used = usage.apply(result);
            Map<String, List<BigDecimal>> alerts = call.succeed(used);
            return new Ran<>(result, call.withinReservation(used), alerts);
        } catch (RuntimeException e) {
            call.failing(outcome(e));
            throw e;
        } finally {
            call.close();
        }
    }

    /** The prompt tokens an embedding engine reports, refused (502) when outside what the inputs allow. */
    private static long boundedTokens(ResolvedModel resolved, EmbeddingResult result, PreparedEmbedding prepared) {
        if (result.promptTokens() < 0 || result.promptTokens() > prepared.maxTokens()) {
            throw new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + resolved.model().name()
                    + "' failed: it reported " + result.promptTokens() + " prompt tokens for inputs of at most "
                    + prepared.maxTokens());
        }
        return result.promptTokens();
    }

    /** Admits a call's tokens and reserves its worst case: the call that follows is settled by its close. */
    ModelCall open(Caller caller, ResolvedModel resolved, Endpoint endpoint, long admittedTokens, Usage worstCase,
            Attempts attempts) {
        Admission.takeTokens(admittedTokens);
        RequestContext request = RequestContext.current();
        request.served().version(resolved.version().version());
        Metering.Meter meter = metering.start(new Metering.Subject(request.serverRequestId(),
                request.clientRequestId(), caller.key().tenantId(), caller.key().id(), resolved.model().name(),
                resolved.version().version(), endpoint.wireName()));
        meter.reserve(worstCase);
        String owner = caller.key().tenantId() == null ? "" : caller.key().tenantId();
        dev.atrium.engine.VersionKey version = resolved.deployment().key();
        return new ModelCall(meter, worstCase, owner, System.nanoTime() + deadline.toNanos(), attempts,
                (outcome, latency) -> traffic.record(version, outcome, latency));
    }

    // ---- shadows ------------------------------------------------------------------------------------------------

    /** The key a shadow's mirrors are recorded under: the model owner's internal usage, not a caller's. */
    public static final String SHADOW_KEY = "shadow";

    /** A request's work made again for another version: what it reserves, how it runs, what it used. */
    private record Rerun<R>(Usage reserved, java.util.function.Function<dev.atrium.engine.RunContext, R> run,
            java.util.function.Function<R, Usage> usage) {}

    /**
     * Sends the request again to its alias's shadow version, if it has one and the draw picks it, and compares the
     * answers there. The caller's answer is made already and goes out untouched: the mirror runs on its own virtual
     * thread, as the model owner's free internal usage (one record under {@link #SHADOW_KEY}), outside the caller's
     * rate limits and budgets.
     *
     * @param answer the answer the caller gets
     * @param rerun prepares the request for the shadow version (on the mirror's thread)
     */
    private <R> void mirror(String reference, ResolvedModel answered, Endpoint endpoint, R answer,
            java.util.function.BiFunction<R, R, Shadows.Sample> compare,
            java.util.function.Function<ResolvedModel, Rerun<R>> rerun) {
        ModelReference parsed = ModelReference.parse(reference);
        if (parsed.version().isPresent() || !parsed.name().equals(answered.model().name())) {
            return; // a version named, or a fallback that answered: no alias's request
        }
        String alias = parsed.alias().orElse(ModelReference.PRODUCTION);
        java.util.Optional<Shadows.Mirror> drawn = shadows.draw(answered.model(), alias,
                answered.version().version());
        if (drawn.isEmpty()) {
            return;
        }
        Shadows.Mirror mirror = drawn.get();
        String requestId = RequestContext.current().serverRequestId() + "-shadow";
        try {
            Thread.ofVirtual().name("shadow-" + requestId).start(() -> runMirror(mirror, requestId, answered,
                    endpoint, answer, compare, rerun));
        } catch (RuntimeException | OutOfMemoryError e) {
            mirror.failed();
            mirror.close();
        }
    }

    private <R> void runMirror(Shadows.Mirror mirror, String requestId, ResolvedModel answered, Endpoint endpoint,
            R answer, java.util.function.BiFunction<R, R, Shadows.Sample> compare,
            java.util.function.Function<ResolvedModel, Rerun<R>> rerun) {
        try (mirror) {
            Model model = answered.model();
            ResolvedModel candidate = registry.readableVersion(ModelScope.ownerOf(model), model.name(),
                    mirror.shadow().version());
            Rerun<R> work = rerun.apply(candidate);
            Metering.Meter meter = metering.startInternal(new Metering.Subject(requestId, null,
                    model.isPublic() ? null : model.owner(), SHADOW_KEY, model.name(), candidate.version().version(),
                    endpoint.wireName()));
            dev.atrium.engine.VersionKey version = candidate.deployment().key();
            R result;
            try (ModelCall call = new ModelCall(meter, work.reserved(), model.owner(), System.nanoTime()
                    + deadline.toNanos(), null, (outcome, latency) -> traffic.record(version, outcome, latency))) {
                try {
                    result = work.run().apply(call.context());
                    call.succeed(work.usage().apply(result));
                } catch (RuntimeException e) {
                    call.failing(outcome(e));
                    throw e;
                }
            }
            Shadows.Sample sample;
            try {
                sample = compare.apply(answer, result);
            } catch (IllegalArgumentException incomparable) {
                mirror.incomparable();
                return;
            }
            mirror.compared(sample);
        } catch (RuntimeException e) {
            mirror.failed();
            LOG.debug("shadow {} of {} failed: {}", mirror.shadow().version(), answered.model().name(),
                    e.getMessage());
        }
    }

    Duration deadline() {
        return deadline;
    }

    static Duration stall() {
        return STALL;
    }

    /** The outcome a failure gives a call that reached its model: a write that failed means its client left. */
    static Outcome outcome(RuntimeException failure) {
        if (failure instanceof java.io.UncheckedIOException) {
            return Outcome.CLIENT_CANCELLED;
        }
        if (failure instanceof AtriumException atrium) {
            return switch (atrium.code()) {
                case QUEUE_TIMEOUT, DEADLINE_EXCEEDED -> Outcome.DEADLINE;
                case UPSTREAM_ERROR, UPSTREAM_TIMEOUT, UPSTREAM_RATE_LIMITED -> Outcome.UPSTREAM_ERROR;
                default -> Outcome.ENGINE_ERROR;
            };
        }
        return Outcome.ENGINE_ERROR;
    }

    static long millis(long nanos) {
        return (nanos + 500_000) / 1_000_000;
    }

    private static void requireTask(ResolvedModel resolved, ModelTask task, String what) {
        if (resolved.model().task() != task) {
            String hint = resolved.model().task() == ModelTask.TENSOR
                    ? "; call it with POST /v2/models/" + resolved.model().name() + "/infer" : "";
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + resolved.model().name() + "' is a " + resolved.model().task().wireName()
                    + " model; it cannot do " + what + hint);
        }
    }

    /** The model's engine as the capability an entry point calls, as {@link Endpoint#servedBy} decides. */
    private <T extends Engine> T capability(ResolvedModel resolved, Endpoint endpoint, Class<T> capability,
            String what) {
        Engine engine = registry.engine(resolved.model());
        if (!endpoint.servedBy(engine) || !capability.isInstance(engine)) {
            throw unsupported(resolved, what);
        }
        return capability.cast(engine);
    }

    private static AtriumException unsupported(ResolvedModel resolved, String what) {
        return AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + resolved.model().name()
                + "' is a " + resolved.model().task().wireName() + " model served by engine "
                + resolved.model().engine().wireName() + "; it does not do " + what);
    }

    /**
     * Serves a request with a model and, when that model fails in a way another could fix (its upstream
     * unreachable, failing, rate limiting or too slow after its retries; its queue full), with its fallbacks in
     * order, each resolved as the caller sees it, so a fallback never reaches a model the caller could not call
     * itself. A model is tried at most once; a refused request (400) is not retried elsewhere. The attempt must
     * throw only before anything was sent to the client. The request keeps one usage record (see
     * {@link Attempts}).
     */
    private <T> T withFallbacks(Caller caller, ResolvedModel primary, BiFunction<ResolvedModel, Attempts, T> attempt) {
        Attempts attempts = new Attempts();
        try {
            return attempt(caller, primary, attempt, attempts, new HashSet<>());
        } finally {
            attempts.flush();
        }
    }

    private <T> T attempt(Caller caller, ResolvedModel model, BiFunction<ResolvedModel, Attempts, T> attempt,
            Attempts attempts, Set<Long> tried) {
        tried.add(model.model().id());
        try {
            return attempt.apply(model, attempts);
        } catch (AtriumException failure) {
            List<String> fallbacks = model.version().metadata().remoteMetadata().map(RemoteMetadata::fallbacks)
                    .orElse(List.of());
            if (!FALL_BACK_ON.contains(failure.code()) || fallbacks.isEmpty()) {
                throw failure;
            }
            for (String reference : fallbacks) {
                ResolvedModel next;
                try {
                    next = resolve(caller, reference);
                } catch (AtriumException missing) {
                    LOG.warn("model {}: fallback {} is not available to this caller: {}", model.model().name(),
                            reference, missing.getMessage());
                    continue;
                }
                if (tried.contains(next.model().id())) {
                    continue;
                }
                LOG.info("model {} failed ({}); falling back to {}", model.model().name(), failure.getMessage(),
                        next.model().name());
                try {
                    return attempt(caller, next, attempt, attempts, tried);
                } catch (AtriumException fallbackFailure) {
                    if (!FALL_BACK_ON.contains(fallbackFailure.code())) {
                        throw fallbackFailure;
                    }
                }
            }
            throw failure;
        }
    }
}
