package dev.atrium.engine.onnx;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.ArtifactEngine;
import dev.atrium.engine.ClassificationEngine;
import dev.atrium.engine.ClassificationInput;
import dev.atrium.engine.ClassificationRequest;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.PreparedClassification;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.RunContext;
import dev.atrium.engine.TensorEngine;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.VersionKey;
import dev.atrium.engine.residency.Residency;
import dev.atrium.scheduling.Batcher;
import dev.atrium.scheduling.SchedulerMetrics;
import dev.atrium.scheduling.SchedulingOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves ONNX models with ONNX Runtime.
 *
 * <p>Design: sessions are created on first use (or by {@link #load}) and cached per version. Each loaded version
 * has its own {@link Batcher}: a bounded queue and {@code instances} platform threads that run batches of inputs
 * of similar length from any requests, each padded only to its own longest input (and v2 requests to models
 * with a dynamic first dimension, concatenated). Each execution uses {@code intraOpThreads} threads, so
 * {@code instances × intraOpThreads} should fit the cores: on a small CPU, one single-threaded execution per
 * core gives the most throughput. Loads go through the server's {@link Residency}, which keeps the loaded versions
 * within the memory budget: a version it evicts is loaded again by its next request.
 */
public final class OnnxEngine implements ArtifactEngine, EmbeddingEngine, TensorEngine, ClassificationEngine,
        dev.atrium.engine.PredictionEngine, dev.atrium.engine.TranscriptionEngine {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxEngine.class);


    /**
     * The engine's defaults, which a model version's {@link SchedulingOptions} override.
     *
     * @param threads concurrent executions (instances) per model
     * @param intraOpThreads ONNX Runtime threads per execution
     * @param cudaDevice CUDA device id, or -1 for the CPU
     * @param queueCapacity inputs that may wait, per model
     * @param batching batch size, token budget, queue delay and deadline
     * @param outputLimit the most output one request may produce
     * @param maxAudioDuration the longest audio one transcription decodes
     */
    public record Settings(int threads, int intraOpThreads, int cudaDevice, int queueCapacity, SchedulingOptions batching,
            OutputLimit outputLimit, Duration maxAudioDuration) {
        public Settings {
            requireNonNull(outputLimit, "outputLimit is null");
            requireNonNull(maxAudioDuration, "maxAudioDuration is null");
        }

        public Settings(int threads, int intraOpThreads, int cudaDevice, int queueCapacity, SchedulingOptions batching,
                OutputLimit outputLimit) {
            this(threads, intraOpThreads, cudaDevice, queueCapacity, batching, outputLimit, Duration.ofMinutes(30));
        }

        public Settings(int threads, int intraOpThreads, int cudaDevice, int queueCapacity, SchedulingOptions batching) {
            this(threads, intraOpThreads, cudaDevice, queueCapacity, batching, OutputLimit.DEFAULT);
        }

        public Settings(int threads, int intraOpThreads, int cudaDevice, int queueCapacity) {
            this(threads, intraOpThreads, cudaDevice, queueCapacity, DEFAULT_BATCHING);
        }
    }

    /**
     * Tuned on a 2-core CPU with the bundled int8 MiniLM: about 8 sentences to a batch, a 128-token paragraph alone
     * (batching helps short inputs only there), and no waiting for company: batches form from the inputs that
     * arrive while every instance is busy, so a lone request is never delayed.
     */
    public static final SchedulingOptions DEFAULT_BATCHING = new SchedulingOptions(8, 192, 0L, null, null, null, 30_000L);
    /** The share of a model's queue one tenant may hold. */
    private static final double OWNER_SHARE = 0.5;

    private final OrtEnvironment environment;
    private final Settings settings;
    private final SchedulerMetrics metrics;
    /**
     * Loads on one long-lived thread: a session allocates its graph and arena from the loading thread's malloc arena,
     * and a new thread per load left a new arena holding freed memory each time (about 9 MiB per MiniLM load and
     * unload, measured). Loads run one at a time in the residency anyway, so that their memory is measured apart.
     */
    private final ExecutorService loader;
    private final OnnxInspector inspector;
    private final ConcurrentMap<VersionKey, CompletableFuture<OnnxModel>> models = new ConcurrentHashMap<>();
    private final Residency residency;
    private final Residency.Holder holder = new Residency.Holder() {
        @Override
        public int inFlight(VersionKey key) {
            OnnxModel model = loadedModel(key);
            return model == null ? 0 : model.inFlight();
        }

        @Override
        public boolean unloadIfIdle(VersionKey key) {
            CompletableFuture<OnnxModel> future = models.get(key);
            OnnxModel model = future == null ? null : future.getNow(null);
            if (model == null || !model.unloadIfIdle()) {
                return false;
            }
            models.remove(key, future);
            return true;
        }
    };

    private OnnxEngine(Settings settings, SchedulerMetrics metrics, Residency residency) {
        this.environment = OrtEnvironment.getEnvironment();
        this.settings = settings;
        this.metrics = metrics;
        this.residency = residency;
        this.loader = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("onnx-load").daemon(true).factory());
        this.inspector = new OnnxInspector(environment, settings.outputLimit());
    }

    /**
     * @throws IllegalStateException when CUDA is asked for and this ONNX Runtime build has no CUDA provider
     */
    public static OnnxEngine create(Settings settings) {
        return create(settings, SchedulerMetrics.NONE);
    }

    public static OnnxEngine create(Settings settings, SchedulerMetrics metrics) {
        return create(settings, metrics, Residency.unlimited());
    }

    /** @param residency keeps the loaded versions of every engine within the memory budget */
    public static OnnxEngine create(Settings settings, SchedulerMetrics metrics, Residency residency) {
        requireNonNull(settings, "settings is null");
        requireNonNull(metrics, "metrics is null");
        requireNonNull(residency, "residency is null");
        if (settings.cudaDevice() >= 0 && !OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new IllegalStateException("execution-provider cuda was asked for, but this ONNX Runtime build has"
                    + " no CUDA provider (available: " + OrtEnvironment.getAvailableProviders() + "); run with"
                    + " com.microsoft.onnxruntime:onnxruntime_gpu on the class path, or use execution-provider cpu");
        }
        return new OnnxEngine(settings, metrics, residency);
    }

    @Override
    public ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options) {
        return inspector.inspect(task, files, options, java.util.Map.of());
    }

    @Override
    public ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options,
            java.util.Map<String, Deployment> parts) {
        return inspector.inspect(task, files, options, parts);
    }

    // ---- loading ------------------------------------------------------------------------------------------------

    @Override
    public void load(Deployment deployment) {
        OnnxModel model = lease(deployment);
        model.release();
    }

    /** Inputs waiting in the queues of every loaded model. */
    public int queueDepth() {
        int depth = 0;
        for (CompletableFuture<OnnxModel> future : models.values()) {
            OnnxModel model = future.getNow(null);
            depth += model == null ? 0 : model.batcher().queueDepth();
        }
        return depth;
    }

    /** How a loaded version is scheduled now, defaults filled in; empty when it is not loaded. */
    public Optional<Batcher.Settings> scheduling(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.get(key);
        OnnxModel model = future == null ? null : future.getNow(null);
        return Optional.ofNullable(model).map(loaded -> loaded.batcher().settings());
    }

    @Override
    public boolean isLoaded(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.get(key);
        return future != null && future.isDone() && !future.isCompletedExceptionally();
    }

    @Override
    public boolean unload(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.remove(key);
        if (future == null) {
            return false;
        }
        residency.unloaded(key);
        OnnxModel model = future.getNow(null);
        if (model != null) {
            model.unload();
        } else {
            future.thenAccept(OnnxModel::unload);
        }
        return true;
    }

    private OnnxModel loadedModel(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.get(key);
        return future == null ? null : future.getNow(null);
    }

    /** A loaded model with a lease taken, for work outside a call's run (its preparation, an admin load). */
    private OnnxModel lease(Deployment deployment) {
        return lease(deployment, System.nanoTime() + residency.settings().loadWait().toNanos());
    }

    /**
     * A loaded model with a lease taken; the caller must release it. Concurrent requests for an unloaded version
     * share one load (one future per version), which waits for room in the memory budget until the deadline of the
     * request that started it; each request waits for the load no longer than its own deadline.
     */
    private OnnxModel lease(Deployment deployment, long deadlineNanos) {
        while (true) {
            CompletableFuture<OnnxModel> future = models.computeIfAbsent(deployment.key(),
                    key -> CompletableFuture.supplyAsync(() -> residency.load(key, "onnx",
                            deployment.files().sizeBytes(), estimateBytes(deployment), deadlineNanos, holder,
                            () -> open(deployment)), loader));
            OnnxModel model;
            try {
                model = future.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + deployment.key().modelName()
                        + "' is still loading; retry shortly", 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the call was interrupted while model '"
                        + deployment.key().modelName() + "' loaded", 1);
            } catch (java.util.concurrent.ExecutionException | CompletionException e) {
                models.remove(deployment.key(), future);
                throw e.getCause() instanceof AtriumException atrium ? atrium
                        : internal("loading model " + deployment.key() + " failed", e.getCause());
            }
            if (model.acquire()) {
                residency.used(deployment.key());
                return model;
            }
            models.remove(deployment.key(), future);
        }
    }

    /**
     * What a first load is expected to hold, before it is measured: a session measured 1.3 times its file for the
     * int8 MiniLM and 2.5 times for MobileNet v3 (docs/benchmarks.md); twice the file and 8 MiB err on the large side,
     * so that a first load seldom needs more room made after it.
     */
    private static long estimateBytes(Deployment deployment) {
        return 2 * deployment.files().sizeBytes() + (8L << 20);
    }

    private OnnxModel open(Deployment deployment) {
        long start = System.nanoTime();
        SchedulingOptions scheduling = deployment.scheduling().orElse(settings.batching());
        int instances = scheduling.instances() != null ? scheduling.instances() : settings.threads();
        int intraOpThreads = scheduling.intraOpThreads() != null ? scheduling.intraOpThreads()
                : scheduling.instances() != null
                        ? Math.max(1, settings.threads() * settings.intraOpThreads() / instances) : settings.intraOpThreads();
        try {
            OrtSession.SessionOptions options = deployment.task() == ModelTask.TRANSCRIPTION
                    ? SpeechRecognition.sessionOptions(intraOpThreads) : new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.cudaDevice() >= 0) {
                options.addCUDA(settings.cudaDevice());
            }
            OrtSession session = environment.createSession(deployment.files().model().toString(), options);
            TextTokenizer tokenizer = deployment.files().tokenizer().map(TextTokenizer::load).orElse(null);
            Batcher.Settings batching = new Batcher.Settings(
                    scheduling.maxBatchSize() != null ? scheduling.maxBatchSize() : 8,
                    scheduling.maxBatchTokens() != null ? scheduling.maxBatchTokens() : 192,
                    Duration.ofNanos(1000 * (scheduling.maxQueueDelayMicros() != null ? scheduling.maxQueueDelayMicros() : 0)),
                    scheduling.queueCapacity() != null ? scheduling.queueCapacity() : settings.queueCapacity(),
                    instances, OWNER_SHARE,
                    Duration.ofMillis(scheduling.deadlineMillis() != null ? scheduling.deadlineMillis() : 30_000));
            OnnxModel model = new OnnxModel(deployment, session, tokenizer);
            if (deployment.task() != ModelTask.TRANSCRIPTION) {
                // a transcription model's options hold the Extensions library, which stays loaded for the process
                model.closeWith(options);
            }
            switch (deployment.task()) {
                case TABULAR -> model.taskState(TabularPrediction.load(environment, session, deployment,
                        settings.outputLimit()));
                case TRANSCRIPTION -> model.taskState(SpeechRecognition.load(environment, session, deployment));
                case TEXT_CLASSIFICATION -> model.taskState(TextClassifiers.output(session, deployment));
                case IMAGE_CLASSIFICATION -> model.taskState(ImageClassification.state(session,
                        deployment.metadata().inputs(), deployment.metadata().outputs(), deployment.config()));
                default -> { }
            }
            String name = deployment.key().modelName() + ":" + deployment.key().version();
            // the running batch holds the session, whatever happens to the requests it runs for
            model.start(new Batcher<>(name, batching, OnnxBatches.SHAPE, batch -> {
                model.batchStarted();
                try {
                    return OnnxBatches.run(environment, model, settings.outputLimit(), batch);
                } finally {
                    model.batchEnded();
                }
            },
                    metrics.register(name, model::queueDepth)), () -> metrics.unregister(name));
            LOG.info("loaded {} in {} ms ({} instances x {} intra-op threads, batches of {} up to {} tokens)",
                    deployment.key(), (System.nanoTime() - start) / 1_000_000, instances, intraOpThreads,
                    batching.maxBatchSize(), batching.maxBatchTokens());
            return model;
        } catch (OrtException | RuntimeException e) {
            throw internal("loading model " + deployment.key() + " failed", e);
        }
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    @Override
    public PreparedEmbedding prepare(Deployment deployment, EmbeddingRequest request) {
        EmbeddingMetadata metadata = embeddingMetadata(deployment);
        if (request.dimensions().isPresent()) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "dimensions", "model '"
                    + deployment.key().modelName() + "' does not support 'dimensions'; its embeddings always have "
                    + metadata.dimension() + " dimensions");
        }
        settings.outputLimit().checkEmbeddings(request.inputs().size(), metadata.dimension());
        OnnxModel model = lease(deployment);
        try {
            List<long[]> sequences = EmbeddingPipeline.encode(model.tokenizer(), deployment.key().modelName(),
                    metadata, request);
            long tokens = sequences.stream().mapToLong(sequence -> sequence.length).sum();
            return new PreparedEmbedding(deployment, request, sequences, tokens, tokens);
        } finally {
            model.release();
            residency.prepared(deployment.key()); // its run comes next: kept from evictions meanwhile
        }
    }

    @Override
    public EmbeddingResult embed(PreparedEmbedding prepared, RunContext context) {
        Deployment deployment = prepared.deployment();
        embeddingMetadata(deployment);
        List<OnnxBatches.Work> inputs = prepared.sequences().stream().<OnnxBatches.Work>map(OnnxBatches.Embed::new).toList();
        List<OnnxBatches.Done> results = run(deployment, inputs, context);
        List<float[]> vectors = new ArrayList<>(results.size());
        long computeNanos = 0;
        for (OnnxBatches.Done done : results) {
            vectors.add((float[]) done.valueOrThrow());
            computeNanos += done.computeNanos();
        }
        return new EmbeddingResult(vectors, prepared.tokens(), computeNanos);
    }

    /**
     * Queues work on the version's batcher and waits for it. A version unloaded (or reconfigured) between the
     * lease and the queue is loaded again, so the request does not fail for it.
     */
    private List<OnnxBatches.Done> run(Deployment deployment, List<OnnxBatches.Work> work, RunContext context) {
        while (true) {
            OnnxModel model = lease(deployment, context.deadlineNanos());
            try {
                Batcher<OnnxBatches.Work, OnnxBatches.Done>.Ticket ticket;
                try {
                    ticket = model.batcher().submit(context.queueOwner(), work,
                            Duration.ofNanos(context.remainingNanos()));
                } catch (AtriumException e) {
                    if (model.batcher().isClosed()) {
                        continue;
                    }
                    throw e;
                }
                context.accepted().run();
                return ticket.await();
            } finally {
                model.release();
            }
        }
    }

    private static EmbeddingMetadata embeddingMetadata(Deployment deployment) {
        return deployment.metadata().embeddingMetadata().orElseThrow(() -> new AtriumException(
                ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + deployment.key().modelName() + "' is not an embedding model"));
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    /** An image classifier's {@code BYTES} input holds encoded images: they become its preprocessed input tensor. */
    @Override
    public dev.atrium.engine.PreparedInference prepare(Deployment deployment, InferenceRequest request) {
        if (deployment.task() != ModelTask.IMAGE_CLASSIFICATION
                || request.inputs().stream().noneMatch(tensor -> tensor.datatype() == dev.atrium.engine.DataType.BYTES)) {
            return new dev.atrium.engine.PreparedInference(request, 0);
        }
        if (request.inputs().size() != 1) {
            throw AtriumException.invalidParam("inputs", "encoded images come as one BYTES input, one image per"
                    + " element");
        }
        dev.atrium.engine.Tensor encoded = request.inputs().getFirst();
        List<byte[]> images = java.util.Arrays.stream((byte[][]) encoded.data()).map(ImageClassification::unwrap)
                .toList();
        if (images.isEmpty()) {
            throw AtriumException.invalidParam("inputs", "the BYTES input '" + encoded.name() + "' holds no images");
        }
        OnnxModel model = lease(deployment);
        try {
            ImageClassification.State state = model.taskState(ImageClassification.State.class);
            dev.atrium.engine.Tensor tensor = ImageClassification.tensor(state, images, "inputs");
            return new dev.atrium.engine.PreparedInference(new InferenceRequest(List.of(tensor), request.outputs()),
                    images.size());
        } finally {
            model.release();
            residency.prepared(deployment.key()); // its run comes next: kept from evictions meanwhile
        }
    }

    @Override
    public InferenceResult infer(Deployment deployment, InferenceRequest request, RunContext context) {
        List<String> outputs = request.outputs().isEmpty()
                ? deployment.metadata().outputs().stream().map(TensorSpec::name).toList()
                : request.outputs();
        OnnxBatches.Work work = OnnxBatches.infer(deployment.metadata(), request.inputs(), outputs);
        return (InferenceResult) run(deployment, List.of(work), context).getFirst().valueOrThrow();
    }

    // ---- classification -----------------------------------------------------------------------------------------

    /** A text classification's inputs, tokenized by its encoder (the model itself, or a composed model's part). */
    private record TextWork(PreparedEmbedding embedding) {}

    /** An image classification's inputs, decoded and preprocessed into the model's input tensor. */
    private record ImageWork(dev.atrium.engine.Tensor tensor) {}

    @Override
    public PreparedClassification prepare(Deployment deployment, ClassificationRequest request) {
        String name = deployment.key().modelName();
        if (!request.labels().isEmpty()) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "labels", "model '" + name
                    + "' classifies into its own labels; 'labels' are for zero-shot classification by an embedding"
                    + " model");
        }
        return switch (deployment.task()) {
            case TEXT_CLASSIFICATION -> {
                List<dev.atrium.engine.EmbeddingInput> texts = new ArrayList<>(request.inputs().size());
                for (ClassificationInput input : request.inputs()) {
                    if (!(input instanceof ClassificationInput.Text text)) {
                        throw AtriumException.invalidParam("input", "model '" + name + "' classifies texts, not images");
                    }
                    texts.add(new dev.atrium.engine.EmbeddingInput.Text(text.text()));
                }
                Deployment encoder = deployment.part(Deployment.EMBEDDING_PART).orElse(deployment);
                PreparedEmbedding embedding = prepare(encoder, new EmbeddingRequest(texts, false));
                yield new PreparedClassification(deployment, request, new TextWork(embedding), embedding.tokens(), 0);
            }
            case IMAGE_CLASSIFICATION -> {
                List<byte[]> images = ImageClassification.images(request.inputs(), name);
                OnnxModel model = lease(deployment);
                try {
                    dev.atrium.engine.Tensor tensor = ImageClassification.tensor(
                            model.taskState(ImageClassification.State.class), images, "input");
                    yield new PreparedClassification(deployment, request, new ImageWork(tensor), 0, images.size());
                } finally {
                    model.release();
                    residency.prepared(deployment.key()); // its run comes next: kept from evictions meanwhile
                }
            }
            default -> throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + name
                    + "' is a " + deployment.task().wireName() + " model; it does not classify");
        };
    }

    @Override
    public ClassificationResult classify(PreparedClassification prepared, RunContext context) {
        Deployment deployment = prepared.deployment();
        int topK = prepared.request().topK();
        return switch (prepared.work()) {
            case TextWork text -> {
                EmbeddingResult embedded = embed(text.embedding(), context);
                dev.atrium.engine.onnx.image.ClassificationOutput output = classificationOutput(deployment);
                List<float[]> rows = embedded.vectors();
                if (deployment.part(Deployment.EMBEDDING_PART).isEmpty()) {
                    yield new ClassificationResult(rows.stream().map(row -> ImageClassification.top(output, row, 1,
                            topK).getFirst()).toList(), embedded.computeNanos());
                }
                InferenceResult head = runScores(deployment, headInput(deployment, rows), output.output(), context);
                yield new ClassificationResult(ImageClassification.top(output, (float[]) head.outputs().getFirst()
                        .data(), rows.size(), topK), embedded.computeNanos() + head.computeNanos());
            }
            case ImageWork image -> {
                dev.atrium.engine.onnx.image.ClassificationOutput output = classificationOutput(deployment);
                InferenceResult scores = runScores(deployment, image.tensor(), output.output(), context);
                yield new ClassificationResult(ImageClassification.top(output, (float[]) scores.outputs().getFirst()
                        .data(), (int) image.tensor().shape()[0], topK), scores.computeNanos());
            }
            default -> throw new IllegalStateException("unknown classification work " + prepared.work().getClass());
        };
    }

    /** How a loaded classifier's scores are read (made when it loaded). */
    private dev.atrium.engine.onnx.image.ClassificationOutput classificationOutput(Deployment deployment) {
        OnnxModel model = lease(deployment);
        try {
            Object state = model.taskState(Object.class);
            return state instanceof ImageClassification.State image ? image.output()
                    : (dev.atrium.engine.onnx.image.ClassificationOutput) state;
        } finally {
            model.release();
        }
    }

    /** A composed classifier's embeddings as its head's one {@code [n, dimension]} input. */
    private static dev.atrium.engine.Tensor headInput(Deployment deployment, List<float[]> vectors) {
        int dimension = vectors.getFirst().length;
        float[] flat = new float[vectors.size() * dimension];
        for (int i = 0; i < vectors.size(); i++) {
            System.arraycopy(vectors.get(i), 0, flat, i * dimension, dimension);
        }
        return new dev.atrium.engine.Tensor(deployment.metadata().inputs().getFirst().name(),
                dev.atrium.engine.DataType.FP32, new long[] {vectors.size(), dimension}, flat);
    }

    /**
     * Runs one input tensor of {@code n} rows for one output on the model's batcher, batched with other requests of
     * the same shapes; a model whose batch is fixed at 1 runs each row as its own item.
     */
    private InferenceResult runScores(Deployment deployment, dev.atrium.engine.Tensor input, String output,
            RunContext context) {
        int rows = (int) input.shape()[0];
        TensorSpec spec = deployment.metadata().input(input.name()).orElseThrow();
        List<OnnxBatches.Work> work = new ArrayList<>();
        if (spec.hasDynamicBatchDimension() || rows == 1) {
            work.add(OnnxBatches.infer(deployment.metadata(), List.of(input), List.of(output)));
        } else {
            for (int row = 0; row < rows; row++) {
                work.add(OnnxBatches.infer(deployment.metadata(), List.of(OnnxBatches.slice(input, row, 1)),
                        List.of(output)));
            }
        }
        List<OnnxBatches.Done> done = run(deployment, work, context);
        List<dev.atrium.engine.Tensor> parts = new ArrayList<>(done.size());
        long computeNanos = 0;
        for (OnnxBatches.Done item : done) {
            InferenceResult result = (InferenceResult) item.valueOrThrow();
            parts.add(result.outputs().getFirst());
            computeNanos += result.computeNanos();
        }
        dev.atrium.engine.Tensor scores = parts.size() == 1 ? parts.getFirst()
                : OnnxBatches.concat(parts.getFirst(), parts, rows);
        return new InferenceResult(List.of(scores), computeNanos);
    }

    // ---- tabular prediction -------------------------------------------------------------------------------------

    @Override
    public dev.atrium.engine.PreparedPrediction prepare(Deployment deployment,
            dev.atrium.engine.PredictionRequest request) {
        OnnxModel model = lease(deployment);
        try {
            dev.atrium.engine.onnx.tabular.TabularRunner runner = model.taskState(
                    dev.atrium.engine.onnx.tabular.TabularRunner.class);
            if (runner == null) {
                throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                        + deployment.key().modelName() + "' is not a tabular model");
            }
            dev.atrium.engine.onnx.tabular.TabularRows rows = TabularPrediction.rows(runner, request.body());
            return new dev.atrium.engine.PreparedPrediction(deployment, rows, rows.rowCount());
        } finally {
            model.release();
            residency.prepared(deployment.key()); // its run comes next: kept from evictions meanwhile
        }
    }

    @Override
    public dev.atrium.engine.PredictionResult predict(dev.atrium.engine.PreparedPrediction prepared,
            RunContext context) {
        dev.atrium.engine.onnx.tabular.TabularRows rows = (dev.atrium.engine.onnx.tabular.TabularRows) prepared.work();
        OnnxBatches.Work work = new OnnxBatches.Rows(rows);
        OnnxBatches.Done done = run(prepared.deployment(), List.of(work), context).getFirst();
        return TabularPrediction.result((dev.atrium.engine.onnx.tabular.TabularPredictions) done.valueOrThrow(),
                rows.schema().integerLabels(), done.computeNanos());
    }

    // ---- transcription ------------------------------------------------------------------------------------------

    @Override
    public dev.atrium.engine.PreparedTranscription prepare(Deployment deployment,
            dev.atrium.engine.TranscriptionRequest request) {
        if (deployment.task() != ModelTask.TRANSCRIPTION) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + deployment.key().modelName() + "' is not a transcription model");
        }
        SpeechRecognition.check(deployment, request);
        dev.atrium.engine.onnx.audio.DecodedAudio audio = new dev.atrium.engine.onnx.audio.AudioDecoder(
                settings.maxAudioDuration()).decode(request.audio());
        return new dev.atrium.engine.PreparedTranscription(deployment, request, audio,
                Math.round(audio.durationSeconds() * 1000));
    }

    /**
     * Cuts the audio into windows (at silences, by the voice activity detector, run as the model's own work), queues
     * every window at once as its own item, so that the model's instances transcribe them in parallel, and awaits
     * them in order, telling the progress of each segment as soon as the windows before it are done. A window that
     * would start past the call's deadline is cut; when the call ends early, the windows still queued are dropped.
     */
    @Override
    public dev.atrium.engine.Transcript transcribe(dev.atrium.engine.PreparedTranscription prepared,
            RunContext context, dev.atrium.engine.TranscriptionProgress progress) {
        dev.atrium.engine.onnx.audio.DecodedAudio audio = (dev.atrium.engine.onnx.audio.DecodedAudio) prepared.work();
        Deployment deployment = prepared.deployment();
        OnnxBatches.Done planned = run(deployment, List.of(new OnnxBatches.Run(model -> model.taskState(
                SpeechRecognition.State.class).pipeline().windows(audio))), context).getFirst();
        @SuppressWarnings("unchecked")
        List<dev.atrium.engine.onnx.audio.AudioWindow> windows =
                (List<dev.atrium.engine.onnx.audio.AudioWindow>) planned.valueOrThrow();
        long computeNanos = planned.computeNanos();
        progress.planned(windows.size());
        OnnxModel model = lease(deployment, context.deadlineNanos());
        List<Batcher<OnnxBatches.Work, OnnxBatches.Done>.Ticket> tickets = new ArrayList<>(windows.size());
        try {
            SpeechRecognition.State state = model.taskState(SpeechRecognition.State.class);
            for (dev.atrium.engine.onnx.audio.AudioWindow window : windows) {
                tickets.add(model.batcher().submit(context.queueOwner(), List.of(new OnnxBatches.Run(running -> {
                    if (context.remainingNanos() == 0) {
                        throw new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "the transcription did not finish"
                                + " within the call's deadline; send shorter audio");
                    }
                    return state.pipeline().whisper().transcribe(audio.samples(), window.startSample(),
                            window.endSample(), state.options());
                })), Duration.ofNanos(context.remainingNanos())));
                context.accepted().run();
            }
            List<String> texts = new ArrayList<>(windows.size());
            int told = 0;
            dev.atrium.engine.Transcript transcript = SpeechRecognition.transcript(state, audio, List.of(), List.of(),
                    computeNanos);
            for (int i = 0; i < windows.size(); i++) {
                OnnxBatches.Done done;
                try {
                    done = tickets.get(i).await().getFirst();
                } catch (AtriumException e) {
                    if (e.code() != ErrorCode.QUEUE_TIMEOUT) {
                        throw e;
                    }
                    // its window never started: the call's deadline passed while the windows before it ran
                    throw new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "the transcription did not finish within"
                            + " the call's deadline (" + i + " of " + windows.size() + " windows done); send shorter"
                            + " audio");
                }
                texts.add((String) done.valueOrThrow());
                computeNanos += done.computeNanos();
                // joined again from the start: overlapping fixed windows drop the words they repeat
                transcript = SpeechRecognition.transcript(state, audio, windows.subList(0, i + 1), texts, computeNanos);
                for (; told < transcript.segments().size(); told++) {
                    progress.segment(transcript.segments().get(told), i + 1, windows.size());
                }
            }
            return transcript;
        } finally {
            tickets.forEach(Batcher.Ticket::cancel);
            model.release();
        }
    }

    /** Unloads every model: waiting requests are refused, running batches finish, then sessions close. */
    @Override
    public void close() {
        loader.shutdownNow();
        for (VersionKey key : List.copyOf(models.keySet())) {
            unload(key);
        }
    }

    // ---- errors -------------------------------------------------------------------------------------------------

    private static AtriumException internal(String message, Throwable cause) {
        return AtriumException.internal(message, cause);
    }
}
