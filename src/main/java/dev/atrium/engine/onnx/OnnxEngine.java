package dev.atrium.engine.onnx;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.EmbeddingOptions;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.Engine;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.Pooling;
import dev.atrium.engine.Tensor;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.VersionKey;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
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

    /** At most this many inputs in one execution. */
    private static final int MAX_BATCH_INPUTS = 32;
    /** At most this many padded tokens in one execution, so long inputs run in small batches. */
    private static final int MAX_BATCH_TOKENS = 4096;
    private static final int DEFAULT_MAX_SEQUENCE_LENGTH = 512;

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
    private final ConcurrentMap<VersionKey, CompletableFuture<OnnxModel>> models = new ConcurrentHashMap<>();

    private OnnxEngine(Settings settings) {
        this.environment = OrtEnvironment.getEnvironment();
        this.settings = settings;
        this.executor = new ThreadPoolExecutor(settings.threads(), settings.threads(), 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(settings.queueCapacity()),
                Thread.ofPlatform().name("onnx-", 0).daemon(true).factory());
        this.loader = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("onnx-load-", 0).daemon(true).factory());
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

    // ---- inspection at upload -------------------------------------------------------------------------------

    @Override
    public ModelMetadata inspect(ModelTask task, ArtifactFiles files, EmbeddingOptions options) {
        try (OrtSession.SessionOptions sessionOptions = inspectionOptions();
                OrtSession session = openSession(files, sessionOptions)) {
            List<TensorSpec> inputs = specs(session.getInputInfo(), "input");
            List<TensorSpec> outputs = specs(session.getOutputInfo(), "output");
            EmbeddingMetadata embedding = switch (task) {
                case EMBEDDING -> inspectEmbedding(session, inputs, outputs, files, options);
                case TENSOR -> {
                    if (files.tokenizer().isPresent()) {
                        throw invalidArtifact("a tokenizer is only used by embedding models, not by tensor models");
                    }
                    yield null;
                }
            };
            return new ModelMetadata(inputs, outputs, embedding);
        } catch (OrtException e) {
            throw internal("inspecting the model failed", e);
        }
    }

    private OrtSession openSession(ArtifactFiles files, OrtSession.SessionOptions sessionOptions) {
        try {
            return environment.createSession(files.model().toString(), sessionOptions);
        } catch (OrtException e) {
            throw invalidArtifact("the 'onnx' part is not a model ONNX Runtime can load: "
                    + clientSafe(e.getMessage(), files.model().toString()));
        }
    }

    private static OrtSession.SessionOptions inspectionOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        return options;
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> nodes, String kind) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : nodes.values()) {
            if (!(node.getInfo() instanceof TensorInfo info)) {
                throw invalidArtifact(kind + " '" + node.getName() + "' is not a tensor; only tensor "
                        + kind + "s are supported");
            }
            DataType type = OnnxTensors.dataType(info.onnxType).orElseThrow(() -> invalidArtifact(
                    kind + " '" + node.getName() + "' has element type " + info.onnxType.name()
                            .replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "")
                            + ", which the ONNX engine cannot exchange"));
            specs.add(new TensorSpec(node.getName(), type, Arrays.stream(info.getShape()).boxed().toList()));
        }
        return specs;
    }

    private EmbeddingMetadata inspectEmbedding(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
            ArtifactFiles files, EmbeddingOptions options) throws OrtException {
        for (String name : List.of("input_ids", "attention_mask")) {
            TensorSpec input = inputs.stream().filter(spec -> spec.name().equals(name)).findFirst()
                    .orElseThrow(() -> invalidArtifact("an embedding model needs an '" + name + "' input"));
            if (input.datatype() != DataType.INT64 || input.shape().size() != 2) {
                throw invalidArtifact("input '" + name + "' must be INT64 of shape [batch, sequence]");
            }
        }
        for (TensorSpec input : inputs) {
            if (!List.of("input_ids", "attention_mask", "token_type_ids").contains(input.name())) {
                throw invalidArtifact("an embedding model may only have the inputs input_ids, attention_mask and"
                        + " token_type_ids, not '" + input.name() + "'");
            }
        }
        String outputName = options.output()
                .or(() -> outputs.stream().map(TensorSpec::name).filter("last_hidden_state"::equals).findFirst())
                .orElse(outputs.getFirst().name());
        TensorSpec output = outputs.stream().filter(spec -> spec.name().equals(outputName)).findFirst()
                .orElseThrow(() -> invalidArtifact("the model has no output '" + outputName + "'"));
        if (output.datatype() != DataType.FP32 || output.shape().size() < 2 || output.shape().size() > 3) {
            throw invalidArtifact("output '" + outputName + "' must be FP32 of shape [batch, sequence, dimension]"
                    + " or [batch, dimension]");
        }
        Pooling pooling = options.pooling().orElse(output.shape().size() == 3 ? Pooling.MEAN : Pooling.NONE);
        if ((pooling == Pooling.NONE) != (output.shape().size() == 2)) {
            throw invalidArtifact("pooling '" + pooling.wireName() + "' does not fit output '" + outputName
                    + "' of rank " + output.shape().size());
        }
        TextTokenizer tokenizer = null;
        try {
            if (files.tokenizer().isPresent()) {
                try {
                    tokenizer = TextTokenizer.load(files.tokenizer().get());
                } catch (IllegalArgumentException e) {
                    throw invalidArtifact("the 'tokenizer' part is not a valid tokenizer.json: " + e.getMessage());
                }
            }
            int maxLength = options.maxLength()
                    .orElse(tokenizer != null && tokenizer.truncationLength().isPresent()
                            ? tokenizer.truncationLength().getAsInt()
                            : DEFAULT_MAX_SEQUENCE_LENGTH);
            if (maxLength < 2) {
                throw invalidArtifact("max_length must be at least 2");
            }
            int vocabulary = tokenizer == null ? 0 : tokenizer.vocabularySize();
            long[] probe = tokenizer == null ? new long[] {0} : tokenizer.encode("probe");
            EmbeddingMetadata draft = new EmbeddingMetadata(tokenizer != null, maxLength, 0, vocabulary, pooling,
                    options.normalize().orElse(true), outputName);
            float[][] vectors;
            try {
                vectors = runEmbeddingBatch(session, session.getInputNames().contains("token_type_ids"), draft,
                        List.of(probe));
            } catch (OrtException e) {
                throw invalidArtifact("the model does not run as an embedding model: "
                        + clientSafe(e.getMessage(), files.model().toString()));
            }
            return new EmbeddingMetadata(tokenizer != null, maxLength, vectors[0].length, vocabulary, pooling,
                    draft.normalize(), outputName);
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    // ---- loading ------------------------------------------------------------------------------------------------

    @Override
    public void load(Deployment deployment) {
        OnnxModel model = lease(deployment);
        model.release();
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
    public EmbeddingResult embed(Deployment deployment, EmbeddingRequest request) {
        EmbeddingMetadata metadata = deployment.metadata().embeddingMetadata().orElseThrow(() -> new AtriumException(
                ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + deployment.key().modelName() + "' is not an embedding model"));
        OnnxModel model = lease(deployment);
        try {
            List<long[]> sequences = encode(model, metadata, request);
            long tokens = sequences.stream().mapToLong(sequence -> sequence.length).sum();
            List<int[]> batches = planBatches(sequences);
            List<Future<float[][]>> results = new ArrayList<>(batches.size());
            boolean tokenTypes = model.hasInput("token_type_ids");
            try {
                for (int[] batch : batches) {
                    List<long[]> batchSequences = Arrays.stream(batch).mapToObj(sequences::get).toList();
                    results.add(submit(() -> runEmbeddingBatch(model.session(), tokenTypes, metadata, batchSequences)));
                }
                float[][] vectors = new float[sequences.size()][];
                for (int b = 0; b < batches.size(); b++) {
                    float[][] batchVectors = await(results.get(b));
                    int[] batch = batches.get(b);
                    for (int i = 0; i < batch.length; i++) {
                        vectors[batch[i]] = batchVectors[i];
                    }
                }
                return new EmbeddingResult(Arrays.asList(vectors), tokens);
            } finally {
                settle(results);
            }
        } finally {
            model.release();
        }
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

    private static List<long[]> encode(OnnxModel model, EmbeddingMetadata metadata, EmbeddingRequest request) {
        String modelName = model.deployment().key().modelName();
        List<long[]> sequences = new ArrayList<>(request.inputs().size());
        for (int i = 0; i < request.inputs().size(); i++) {
            long[] ids = switch (request.inputs().get(i)) {
                case EmbeddingInput.Text text -> model.tokenizer()
                        .orElseThrow(() -> AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "input",
                                "model '" + modelName + "' has no tokenizer; send token ids instead of text"))
                        .encode(text.text());
                case EmbeddingInput.TokenIds tokens -> checkTokenIds(tokens.ids(), metadata, i, modelName);
            };
            if (ids.length > metadata.maxSequenceLength()) {
                if (!request.truncate()) {
                    throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "input", "input " + i + " is "
                            + ids.length + " tokens long, but model '" + modelName + "' accepts at most "
                            + metadata.maxSequenceLength() + " tokens per input");
                }
                ids = truncate(ids, metadata.maxSequenceLength(), request.inputs().get(i) instanceof EmbeddingInput.Text);
            }
            sequences.add(ids);
        }
        return sequences;
    }

    private static long[] checkTokenIds(long[] ids, EmbeddingMetadata metadata, int index, String modelName) {
        for (long id : ids) {
            if (id < 0 || (metadata.vocabularySize() > 0 && id >= metadata.vocabularySize())) {
                throw AtriumException.invalidParam("input", "input " + index + " has token id " + id
                        + ", outside the vocabulary of model '" + modelName + "' (0 to "
                        + (metadata.vocabularySize() - 1) + ")");
            }
        }
        return ids;
    }

    /** Keeps the first tokens; for tokenized text, keeps the closing special token as well. */
    private static long[] truncate(long[] ids, int maxLength, boolean keepLast) {
        long[] cut = Arrays.copyOf(ids, maxLength);
        if (keepLast) {
            cut[maxLength - 1] = ids[ids.length - 1];
        }
        return cut;
    }

    /**
     * Groups input indices by length (longest first) into batches that respect the input and token limits and
     * hold only inputs at least three quarters as long as the batch's longest, so little is padded. Padding
     * costs time, and with dynamically quantized models it also shifts the results of the short inputs.
     */
    static List<int[]> planBatches(List<long[]> sequences) {
        Integer[] order = new Integer[sequences.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> sequences.get(i).length).reversed());
        List<int[]> batches = new ArrayList<>();
        int start = 0;
        while (start < order.length) {
            int longest = sequences.get(order[start]).length;
            int end = start + 1;
            while (end < order.length && end - start < MAX_BATCH_INPUTS
                    && (long) (end - start + 1) * longest <= MAX_BATCH_TOKENS
                    && sequences.get(order[end]).length * 4L >= longest * 3L) {
                end++;
            }
            int[] batch = new int[end - start];
            for (int i = start; i < end; i++) {
                batch[i - start] = order[i];
            }
            batches.add(batch);
            start = end;
        }
        return batches;
    }

    private float[][] runEmbeddingBatch(OrtSession session, boolean tokenTypes, EmbeddingMetadata metadata,
            List<long[]> sequences) throws OrtException {
        int batch = sequences.size();
        int length = sequences.stream().mapToInt(sequence -> sequence.length).max().orElse(0);
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            long[] sequence = sequences.get(b);
            System.arraycopy(sequence, 0, ids, b * length, sequence.length);
            Arrays.fill(mask, b * length, b * length + sequence.length, 1L);
        }
        long[] shape = {batch, length};
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            inputs.put("attention_mask", OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (tokenTypes) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(new long[batch * length]), shape));
            }
            try (OrtSession.Result result = session.run(inputs, java.util.Set.of(metadata.output()))) {
                OnnxTensor output = (OnnxTensor) result.get(0);
                return pool(output.getFloatBuffer(), output.getInfo().getShape(), sequences, metadata);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static float[][] pool(FloatBuffer values, long[] shape, List<long[]> sequences, EmbeddingMetadata metadata) {
        int batch = sequences.size();
        int dimension = (int) shape[shape.length - 1];
        int length = shape.length == 3 ? (int) shape[1] : 1;
        float[][] vectors = new float[batch][dimension];
        for (int b = 0; b < batch; b++) {
            float[] vector = vectors[b];
            int base = b * length * dimension;
            switch (metadata.pooling()) {
                case MEAN -> {
                    int tokens = sequences.get(b).length;
                    for (int t = 0; t < tokens; t++) {
                        int offset = base + t * dimension;
                        for (int d = 0; d < dimension; d++) {
                            vector[d] += values.get(offset + d);
                        }
                    }
                    for (int d = 0; d < dimension; d++) {
                        vector[d] /= tokens;
                    }
                }
                case CLS, NONE -> values.get(base, vector, 0, dimension);
            }
            if (metadata.normalize()) {
                normalize(vector);
            }
        }
        return vectors;
    }

    private static void normalize(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += (double) value * value;
        }
        double norm = Math.sqrt(sum);
        if (norm > 0) {
            for (int d = 0; d < vector.length; d++) {
                vector[d] = (float) (vector[d] / norm);
            }
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
            try {
                result = model.session().run(inputs, new LinkedHashSet<>(outputs));
            } catch (OrtException e) {
                throw AtriumException.invalidParam("inputs", "the model could not run on these inputs: "
                        + clientSafe(e.getMessage(), model.deployment().files().model().toString()));
            }
            try (result) {
                List<Tensor> values = new ArrayList<>(outputs.size());
                for (String name : outputs) {
                    Optional<OnnxValue> value = result.get(name);
                    values.add(OnnxTensors.fromOnnx(name, (OnnxTensor) value.orElseThrow()));
                }
                return new InferenceResult(values);
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

    private static AtriumException invalidArtifact(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }

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
