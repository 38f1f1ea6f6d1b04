package dev.atrium.training.quantize;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationEngine;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.ClassificationRequest;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.Engine;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.RunContext;
import dev.atrium.engine.ZeroShot;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Outcome;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.registry.StagedArtifact;
import dev.atrium.serving.Endpoint;
import dev.atrium.serving.Serving;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Makes a new version of a float ONNX model with its MatMul/Gemm weights (and large embedding tables) in int8
 * ({@link Int8Quantizer}), with the source version's tokenizer and config, and records in its lineage how it
 * compares with the source: its size, its speed in process and its accuracy on a sample (the cosine of an
 * embedding model's vectors to the float ones, or how often a text classifier's top label agrees).
 *
 * <p>One call on the serving path ({@link Endpoint#QUANTIZE}), bounded: the source must be within the size limit,
 * one quantization runs at a time on a server (another is refused with 503 and {@code Retry-After}), since it holds
 * the model and its copy in memory, and the measurement is cut at {@link #MAX_TIME}.
 */
public final class Quantizations {
    /** Each text of a measurement may take this long (the model's queue included). */
    private static final long TEXT_TIMEOUT_NANOS = 60_000_000_000L;
    /** The method a quantized version's lineage names. */
    public static final String METHOD = "int8-dynamic";
    /**
     * The longest a quantization may run: its compute-seconds are reserved for this long before it starts, and its
     * measurement is cut here.
     */
    public static final Duration MAX_TIME = Duration.ofMinutes(10);

    /**
     * What is asked for.
     *
     * @param sample the texts it is measured on
     * @param sampleGiven whether they are the caller's (else {@link QuantizationSample#SENTENCES})
     * @param perChannel one scale per output channel where that lowers the weights' error
     */
    public record Order(List<String> sample, boolean sampleGiven, boolean perChannel) {
        public Order {
            sample = List.copyOf(sample);
        }
    }

    private final ModelRegistry registry;
    private final Serving serving;
    private final long maxModelBytes;
    private final Function<ModelVersion, ModelOptions> optionsOf;
    private final Semaphore running = new Semaphore(1);

    /**
     * @param maxModelBytes the largest model quantized: the upload limit
     * @param optionsOf the engine options a version was uploaded with (read from its config), which the new
     *     version keeps
     */
    public Quantizations(ModelRegistry registry, Serving serving, long maxModelBytes,
            Function<ModelVersion, ModelOptions> optionsOf) {
        this.registry = requireNonNull(registry, "registry is null");
        this.serving = requireNonNull(serving, "serving is null");
        this.maxModelBytes = maxModelBytes;
        this.optionsOf = requireNonNull(optionsOf, "optionsOf is null");
    }

    /**
     * Quantizes the caller's version (checked with {@link #refuseUnsupported} and {@link #refuseTooLarge} first)
     * and makes the new version.
     *
     * @param requestId the request its usage record names
     * @throws AtriumException 503 while another runs; 429 when the caller's budget cannot cover it
     */
    public Made quantize(Caller caller, String requestId, ModelScope scope, ResolvedModel source, Order order) {
        if (!running.tryAcquire()) {
            throw AtriumException.retryable(ErrorCode.OVERLOADED, "another quantization is running on this server;"
                    + " try again when it ends", 30);
        }
        try {
            return metered(caller, requestId, source, deadline -> quantize(scope, source, order,
                    caller.key().tenantId(), deadline));
        } finally {
            running.release();
        }
    }

    /** The version made, and its lineage. */
    public record Made(ModelVersion version, JsonNode lineage) {}

    /**
     * The quantization as one call on the serving path, on the caller's key: its compute-seconds (priced by the
     * model's {@code per_compute_second}) reserved for {@link #MAX_TIME} before anything runs (a budget that
     * cannot cover them refuses it, 429), then one usage record with the time it took and how it ended. A request
     * the quantizer refuses (4xx: nothing in the model to quantize, say) gives the reservation back unrecorded.
     */
    private Made metered(Caller caller, String requestId, ResolvedModel source,
            java.util.function.LongFunction<Made> work) {
        Serving.JobCall call = serving.openJob(caller, requestId,
                source.model().name(), source.version().version(), MAX_TIME, Endpoint.QUANTIZE);
        long start = System.nanoTime();
        Outcome outcome = Outcome.ENGINE_ERROR;
        try {
            Made made = work.apply(start + call.maxTime().toNanos());
            outcome = Outcome.OK;
            return made;
        } catch (AtriumException e) {
            if (e.code() == ErrorCode.DEADLINE_EXCEEDED) {
                outcome = Outcome.DEADLINE;
            } else if (e.code().httpStatus() < 500) {
                outcome = null; // refused for what it was asked: nothing was made
            }
            throw e;
        } finally {
            if (outcome == null) {
                call.release();
            } else {
                call.finish((System.nanoTime() - start) / 1_000_000, outcome);
            }
        }
    }

    private Made quantize(ModelScope scope, ResolvedModel source, Order order, String tenantId, long deadline) {
        Path sourceFile = source.deployment().files().model();
        Int8Quantizer.Options options = Int8Quantizer.Options.perChannel(order.perChannel(), maxModelBytes);
        Int8Quantizer.Quantized quantized = Int8Quantizer.quantize(sourceFile, options);
        Int8Quantizer.Summary summary = quantized.summary();
        StagedArtifact onnx = stage(quantized);
        quantized = null; // the rewritten model is on disk: let its memory go before the measurements
        Map<String, StagedArtifact> staged = new LinkedHashMap<>();
        try {
            staged.put(ArtifactFile.ONNX, onnx);
            ModelOptions modelOptions = optionsOf.apply(source.version());
            Deployment trial = registry.trial(source, onnx, modelOptions);
            Comparison comparison = compare(source, trial, order.sample(), tenantId, deadline);
            Optional<ArtifactFile> tokenizer = source.version().file(ArtifactFile.TOKENIZER);
            if (tokenizer.isPresent()) {
                try (InputStream in = Files.newInputStream(registry.artifacts().path(tokenizer.get()))) {
                    staged.put(ArtifactFile.TOKENIZER, registry.artifacts().stage(in, Long.MAX_VALUE));
                }
            }
            ObjectNode lineage = lineage(source, onnx, options, summary, comparison, order);
            ModelVersion version = registry.addTrainedVersion(scope, source.model().name(), staged, modelOptions,
                    source.version().config(), "quantize-" + UUID.randomUUID(), lineage.toString());
            return new Made(version, lineage);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            staged.values().forEach(file -> registry.artifacts().discard(file.path()));
            registry.artifacts().discard(onnx.path());
        }
    }

    /** Writes the quantized model into staging, hashed as any upload is. */
    private StagedArtifact stage(Int8Quantizer.Quantized quantized) {
        Path file;
        try {
            file = Files.createTempFile(registry.artifacts().stagingDirectory(), "quantized-", ".onnx");
        } catch (IOException e) {
            throw AtriumException.internal("cannot create a staging file", e);
        }
        try {
            try (OutputStream out = Files.newOutputStream(file)) {
                quantized.writeTo(out);
            }
            try (InputStream in = Files.newInputStream(file)) {
                return registry.artifacts().stage(in, maxModelBytes);
            }
        } catch (IOException e) {
            throw AtriumException.internal("cannot write the quantized model", e);
        } finally {
            registry.artifacts().discard(file);
        }
    }

    // ---- measurement --------------------------------------------------------------------------------------------

    /**
     * @param scores each sample text's score: the cosine between the float and the quantized embedding, or 1 when a
     *     classifier's top label is the same and 0 when not
     * @param floatPerSecond texts embedded (or classified) per second by the float version, one per call, in process
     * @param quantizedPerSecond the same for the quantized one
     */
    private record Comparison(Metric metric, double[] scores, double floatPerSecond, double quantizedPerSecond) {}

    /** How a quantized version is compared with its float one. */
    private enum Metric {
        /** Embedding models: the cosine of their vectors. */
        COSINE,
        /** Classifiers: how often their top labels agree. */
        AGREEMENT
    }

    /** One text's answer of a version: its embedding, or its top label. */
    private interface Answer {
        Object of(Deployment deployment, String text);
    }

    /**
     * Runs the sample through both, one text per call (as requests come; int8 activations are quantized per call,
     * so a text batched with longer ones would come out a little differently), after a warm-up; the speed is the
     * better of two timed passes each, taken in turn so that both see the same machine.
     */
    private Comparison compare(ResolvedModel source, Deployment trial, List<String> sample, String tenantId,
            long deadline) {
        Engine engine = registry.engine(source.model());
        Deployment original = source.deployment();
        boolean wasLoaded = engine.isLoaded(original.key());
        String owner = tenantId == null ? "" : tenantId;
        Metric metric = source.model().task() == ModelTask.EMBEDDING ? Metric.COSINE : Metric.AGREEMENT;
        Answer answer = switch (metric) {
            case COSINE -> (deployment, text) -> embed((EmbeddingEngine) engine, deployment, text,
                    context(owner, deadline));
            case AGREEMENT -> (deployment, text) -> topLabel((ClassificationEngine) engine, deployment, text,
                    context(owner, deadline));
        };
        try {
            engine.load(original);
            engine.load(trial);
            List<String> warmUp = sample.subList(0, Math.min(4, sample.size()));
            answers(answer, original, warmUp, deadline);
            answers(answer, trial, warmUp, deadline);
            long floatNanos = Long.MAX_VALUE;
            long quantizedNanos = Long.MAX_VALUE;
            List<Object> floats = null;
            List<Object> quantized = null;
            for (int pass = 0; pass < 2; pass++) {
                long start = System.nanoTime();
                floats = answers(answer, original, sample, deadline);
                floatNanos = Math.min(floatNanos, System.nanoTime() - start);
                start = System.nanoTime();
                quantized = answers(answer, trial, sample, deadline);
                quantizedNanos = Math.min(quantizedNanos, System.nanoTime() - start);
            }
            double[] scores = new double[sample.size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = switch (metric) {
                    case COSINE -> ZeroShot.cosine((float[]) floats.get(i), (float[]) quantized.get(i));
                    case AGREEMENT -> floats.get(i).equals(quantized.get(i)) ? 1 : 0;
                };
            }
            return new Comparison(metric, scores, sample.size() * 1e9 / floatNanos,
                    sample.size() * 1e9 / quantizedNanos);
        } finally {
            engine.unload(trial.key());
            if (!wasLoaded) {
                engine.unload(original.key());
            }
        }
    }

    private static List<Object> answers(Answer answer, Deployment deployment, List<String> texts, long deadline) {
        List<Object> answers = new ArrayList<>(texts.size());
        for (String text : texts) {
            if (System.nanoTime() - deadline > 0) {
                throw new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "the quantization ran longer than its "
                        + MAX_TIME.toMinutes() + " minutes; the new version was not made");
            }
            answers.add(answer.of(deployment, text));
        }
        return answers;
    }

    private static float[] embed(EmbeddingEngine engine, Deployment deployment, String text, RunContext context) {
        var prepared = engine.prepare(deployment, new EmbeddingRequest(List.of(new EmbeddingInput.Text(text)), true));
        return engine.embed(prepared, context).vectors().getFirst();
    }

    private static String topLabel(ClassificationEngine engine, Deployment deployment, String text,
            RunContext context) {
        var prepared = engine.prepare(deployment, new ClassificationRequest(List.of(
                new ClassificationInput.Text(text)), 1, List.of()));
        return engine.classify(prepared, context).labels().getFirst().getFirst().label();
    }

    /** A text's call: within the text's own timeout and the quantization's deadline. */
    private static RunContext context(String owner, long deadline) {
        long textDeadline = System.nanoTime() + TEXT_TIMEOUT_NANOS;
        return new RunContext(owner, textDeadline - deadline < 0 ? textDeadline : deadline, () -> { });
    }


    private static ObjectNode lineage(ResolvedModel source, StagedArtifact onnx, Int8Quantizer.Options options,
            Int8Quantizer.Summary summary, Comparison comparison, Order order) {
        ObjectNode lineage = JsonNodeFactory.instance.objectNode();
        lineage.put("quantized_from", source.version().version());
        lineage.put("method", METHOD);
        lineage.put("per_channel", options.perChannel());
        lineage.put("reduce_range", options.reduceRange());
        ObjectNode base = lineage.putObject("base_model");
        base.put("model", source.model().name());
        base.put("version", source.version().version());
        base.put("sha256", source.version().artifact().sha256());
        ObjectNode weights = lineage.putObject("weights");
        weights.put("matmul", summary.matMuls());
        weights.put("gemm", summary.gemms());
        weights.put("gather", summary.gathers());
        weights.put("per_channel", summary.perChannel());
        weights.put("per_tensor", summary.perTensor());
        ObjectNode size = lineage.putObject("size_bytes");
        size.put("before", source.version().artifact().sizeBytes());
        size.put("after", onnx.sizeBytes());
        size.put("ratio", round((double) onnx.sizeBytes() / source.version().artifact().sizeBytes(), 4));
        ObjectNode speed = lineage.putObject("speed");
        speed.put("unit", "texts_per_second_in_process");
        speed.put("before", round(comparison.floatPerSecond(), 2));
        speed.put("after", round(comparison.quantizedPerSecond(), 2));
        speed.put("speedup", round(comparison.quantizedPerSecond() / comparison.floatPerSecond(), 3));
        ObjectNode accuracy = lineage.putObject("accuracy");
        double[] scores = comparison.scores();
        double sum = 0;
        double min = Double.MAX_VALUE;
        for (double score : scores) {
            sum += score;
            min = Math.min(min, score);
        }
        switch (comparison.metric()) {
            case COSINE -> {
                accuracy.put("metric", "cosine");
                accuracy.put("cosine_mean", round(sum / scores.length, 6));
                accuracy.put("cosine_min", round(min, 6));
            }
            case AGREEMENT -> {
                accuracy.put("metric", "agreement");
                accuracy.put("agreement", round(sum / scores.length, 6));
            }
        }
        accuracy.put("sample", scores.length);
        accuracy.put("sample_source", order.sampleGiven() ? "request" : "default");
        ObjectNode libraries = lineage.putObject("libraries");
        libraries.put("atrium", dev.atrium.Atrium.VERSION);
        libraries.put("onnxruntime", Optional.ofNullable(ai.onnxruntime.OrtEnvironment.class.getPackage()
                .getImplementationVersion()).orElse("unknown"));
        return lineage;
    }

    private static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }

    /** Refuses (400 {@code unsupported_by_model}) a model this cannot quantize and measure. */
    public void refuseUnsupported(Model model) {
        if (model.engine() != EngineKind.ONNX) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + model.name()
                    + "' is served by engine " + model.engine().wireName() + "; only ONNX models are quantized here");
        }
        Engine engine = registry.engine(model);
        boolean measurable = model.task() == ModelTask.EMBEDDING ? engine instanceof EmbeddingEngine
                : model.task() == ModelTask.TEXT_CLASSIFICATION && engine instanceof ClassificationEngine;
        if (!measurable) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + model.name()
                    + "' is a " + model.task().wireName() + " model; quantizing measures embedding models (the cosine"
                    + " of their vectors to the float ones) and text classifiers (how often their labels agree)");
        }
    }

    /** Refuses (413) a version over the size limit. */
    public void refuseTooLarge(ResolvedModel source) {
        if (source.version().artifact().sizeBytes() > maxModelBytes) {
            throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "version " + source.version().version()
                    + " is larger than the upload limit of " + maxModelBytes + " bytes");
        }
    }
}
