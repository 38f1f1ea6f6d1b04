package dev.atrium.engine.onnx;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
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
import dev.atrium.engine.Engine;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.Tensor;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.VersionKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves ONNX models with ONNX Runtime.
 *
 * <p>Design: sessions are created on first use (or by {@link #load}) and cached per version. Inference runs on a
 * fixed pool of platform threads with a bounded queue; a full queue answers 503. Each session uses
 * {@code intraOpThreads} threads, so {@code threads × intraOpThreads} should fit the cores: on a small CPU,
 * one single-threaded execution per core gives the most throughput. Embedding requests are split into batches
 * of inputs of similar length, each padded only to its own longest input, and the batches run in parallel.
 */
public final class OnnxEngine implements Engine {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxEngine.class);


    /**
     * @param threads concurrent executions
     * @param intraOpThreads ONNX Runtime threads per execution
     * @param cudaDevice CUDA device id, or -1 for the CPU
     * @param queueCapacity executions that may wait for a thread
     */
    public record Settings(int threads, int intraOpThreads, int cudaDevice, int queueCapacity) {}

    private final OrtEnvironment environment;
    private final Settings settings;
    private final ThreadPoolExecutor executor;
    private final ExecutorService loader;
    private final OnnxInspector inspector;
    private final ConcurrentMap<VersionKey, CompletableFuture<OnnxModel>> models = new ConcurrentHashMap<>();

    private OnnxEngine(Settings settings) {
        this.environment = OrtEnvironment.getEnvironment();
        this.settings = settings;
        this.executor = new ThreadPoolExecutor(settings.threads(), settings.threads(), 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(settings.queueCapacity()),
                Thread.ofPlatform().name("onnx-", 0).daemon(true).factory());
        this.loader = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("onnx-load-", 0).daemon(true).factory());
        this.inspector = new OnnxInspector(environment);
    }

    /**
     * @throws IllegalStateException when CUDA is asked for and this ONNX Runtime build has no CUDA provider
     */
    public static OnnxEngine create(Settings settings) {
        requireNonNull(settings, "settings is null");
        if (settings.cudaDevice() >= 0 && !OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new IllegalStateException("execution-provider cuda was asked for, but this ONNX Runtime build has"
                    + " no CUDA provider (available: " + OrtEnvironment.getAvailableProviders() + "); run with"
                    + " com.microsoft.onnxruntime:onnxruntime_gpu on the class path, or use execution-provider cpu");
        }
        return new OnnxEngine(settings);
    }

    @Override
    public ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options) {
        return inspector.inspect(task, files, options);
    }

    // ---- loading ------------------------------------------------------------------------------------------------

    @Override
    public void load(Deployment deployment) {
        OnnxModel model = lease(deployment);
        model.release();
    }

    /** Inference tasks waiting for an engine thread. */
    public int queueDepth() {
        return executor.getQueue().size();
    }

    @Override
    public boolean isLoaded(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.get(key);
        return future != null && future.isDone() && !future.isCompletedExceptionally();
    }

    @Override
    public void unload(VersionKey key) {
        CompletableFuture<OnnxModel> future = models.remove(key);
        if (future != null) {
            future.thenAccept(OnnxModel::unload);
        }
    }

    /** A loaded model with a lease taken; the caller must release it. */
    private OnnxModel lease(Deployment deployment) {
        while (true) {
            CompletableFuture<OnnxModel> future = models.computeIfAbsent(deployment.key(),
                    key -> CompletableFuture.supplyAsync(() -> open(deployment), loader));
            OnnxModel model;
            try {
                model = future.join();
            } catch (CompletionException e) {
                models.remove(deployment.key(), future);
                throw e.getCause() instanceof AtriumException atrium ? atrium
                        : internal("loading model " + deployment.key() + " failed", e.getCause());
            }
            if (model.acquire()) {
                return model;
            }
            models.remove(deployment.key(), future);
        }
    }

    private OnnxModel open(Deployment deployment) {
        long start = System.nanoTime();
        try {
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(settings.intraOpThreads());
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.cudaDevice() >= 0) {
                options.addCUDA(settings.cudaDevice());
            }
            OrtSession session = environment.createSession(deployment.files().model().toString(), options);
            TextTokenizer tokenizer = deployment.files().tokenizer().map(TextTokenizer::load).orElse(null);
            LOG.info("loaded {} in {} ms", deployment.key(), (System.nanoTime() - start) / 1_000_000);
            return new OnnxModel(deployment, session, tokenizer);
        } catch (OrtException | RuntimeException e) {
            throw internal("loading model " + deployment.key() + " failed", e);
        }
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    @Override
    public PreparedEmbedding prepare(Deployment deployment, EmbeddingRequest request) {
        EmbeddingMetadata metadata = embeddingMetadata(deployment);
        OnnxModel model = lease(deployment);
        try {
            List<long[]> sequences = EmbeddingPipeline.encode(model.tokenizer(), deployment.key().modelName(),
                    metadata, request);
            long tokens = sequences.stream().mapToLong(sequence -> sequence.length).sum();
            return new PreparedEmbedding(deployment, sequences, tokens);
        } finally {
            model.release();
        }
    }

    @Override
    public EmbeddingResult embed(PreparedEmbedding prepared) {
        Deployment deployment = prepared.deployment();
        EmbeddingMetadata metadata = embeddingMetadata(deployment);
        List<long[]> sequences = prepared.sequences();
        OnnxModel model = lease(deployment);
        try {
            List<int[]> batches = EmbeddingPipeline.planBatches(sequences);
            List<Future<float[][]>> results = new ArrayList<>(batches.size());
            boolean tokenTypes = model.hasInput("token_type_ids");
            java.util.concurrent.atomic.AtomicLong computeNanos = new java.util.concurrent.atomic.AtomicLong();
            try {
                for (int[] batch : batches) {
                    List<long[]> batchSequences = Arrays.stream(batch).mapToObj(sequences::get).toList();
                    results.add(submit(() -> {
                        long start = System.nanoTime();
                        try {
                            return EmbeddingPipeline.run(environment, model.session(), tokenTypes, metadata, batchSequences);
                        } finally {
                            computeNanos.addAndGet(System.nanoTime() - start);
                        }
                    }));
                }
                float[][] vectors = new float[sequences.size()][];
                for (int b = 0; b < batches.size(); b++) {
                    float[][] batchVectors = await(results.get(b));
                    int[] batch = batches.get(b);
                    for (int i = 0; i < batch.length; i++) {
                        vectors[batch[i]] = batchVectors[i];
                    }
                }
                return new EmbeddingResult(Arrays.asList(vectors), prepared.tokens(), computeNanos.get());
            } finally {
                settle(results);
            }
        } finally {
            model.release();
        }
    }

    private static EmbeddingMetadata embeddingMetadata(Deployment deployment) {
        return deployment.metadata().embeddingMetadata().orElseThrow(() -> new AtriumException(
                ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + deployment.key().modelName() + "' is not an embedding model"));
    }

    /**
     * Cancels batches that have not started and waits for running ones, so that no batch still uses the
     * session when the lease is returned (an unloaded model closes its session on the last release).
     */
    private static void settle(List<? extends Future<?>> futures) {
        for (Future<?> future : futures) {
            if (!future.isDone()) {
                future.cancel(false);
            }
        }
        boolean interrupted = false;
        for (Future<?> future : futures) {
            while (true) {
                try {
                    future.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    @Override
    public InferenceResult infer(Deployment deployment, InferenceRequest request) {
        OnnxModel model = lease(deployment);
        try {
            List<String> outputs = request.outputs().isEmpty()
                    ? deployment.metadata().outputs().stream().map(TensorSpec::name).toList()
                    : request.outputs();
            Future<InferenceResult> result = submit(() -> run(model, request.inputs(), outputs));
            try {
                return await(result);
            } finally {
                settle(List.of(result));
            }
        } finally {
            model.release();
        }
    }

    private InferenceResult run(OnnxModel model, List<Tensor> tensors, List<String> outputs) throws OrtException {
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            for (Tensor tensor : tensors) {
                inputs.put(tensor.name(), OnnxTensors.toOnnx(environment, tensor));
            }
            OrtSession.Result result;
            long start = System.nanoTime();
            try {
                result = model.session().run(inputs, new LinkedHashSet<>(outputs));
            } catch (OrtException e) {
                throw AtriumException.invalidParam("inputs", "the model could not run on these inputs: "
                        + clientSafe(e.getMessage(), model.deployment().files().model().toString()));
            }
            long computeNanos = System.nanoTime() - start;
            try (result) {
                List<Tensor> values = new ArrayList<>(outputs.size());
                for (String name : outputs) {
                    Optional<OnnxValue> value = result.get(name);
                    values.add(OnnxTensors.fromOnnx(name, (OnnxTensor) value.orElseThrow()));
                }
                return new InferenceResult(values, computeNanos);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    // ---- execution ----------------------------------------------------------------------------------------------

    private <T> Future<T> submit(Callable<T> task) {
        try {
            return executor.submit(task);
        } catch (RejectedExecutionException e) {
            throw AtriumException.retryable(ErrorCode.OVERLOADED,
                    "the ONNX engine's queue is full; retry shortly", 1);
        }
    }

    private static <T> T await(Future<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AtriumException atrium) {
                throw atrium;
            }
            throw internal("inference failed", e.getCause());
        }
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        loader.shutdownNow();
        for (VersionKey key : List.copyOf(models.keySet())) {
            unload(key);
        }
    }

    // ---- errors -------------------------------------------------------------------------------------------------

    private static AtriumException internal(String message, Throwable cause) {
        return AtriumException.internal(message, cause);
    }

    /** ONNX Runtime's message without the server's file paths, first line only. */
    static String clientSafe(String message, String path) {
        if (message == null) {
            return "unknown error";
        }
        String line = message.lines().findFirst().orElse("").replace(path, "model.onnx");
        return line.replaceAll("(/[^\\s/:'\"]+)+/?", "<path>").strip();
    }
}
