package dev.atrium.engine.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.Tensor;
import dev.atrium.engine.TensorSpec;
import dev.atrium.scheduling.Batcher;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an ONNX model's batcher runs: embedding inputs (token ids, batched by length and padded to the longest in
 * the batch), and v2 tensor requests, which requests with the same shapes share when the model's inputs and
 * outputs all have a dynamic first dimension: concatenated along it, run once, and split back.
 *
 * <p>A batch that fails is run again one item at a time, so one request's bad input never fails another's.
 */
final class OnnxBatches {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxBatches.class);

    private OnnxBatches() {}

    /** One item of work. */
    sealed interface Work permits Embed, Infer, Run, Rows {}

    /** A tabular request's rows: batched with other requests' rows of the same model into one run, split after. */
    record Rows(dev.atrium.engine.onnx.tabular.TabularRows rows) implements Work {}

    /**
     * A task model's own run (a tabular request's rows, a window of speech), done alone on an instance thread with
     * the model's session, queued and cut by deadlines like any other work.
     */
    record Run(java.util.function.Function<OnnxModel, Object> run) implements Work {}

    /** An embedding input. */
    record Embed(long[] sequence) implements Work {}

    /**
     * A v2 request.
     *
     * @param rows its first dimension (1 when it cannot be batched)
     * @param group equal for requests that can share a batch; unique otherwise
     */
    record Infer(List<Tensor> inputs, List<String> outputs, int rows, Object group) implements Work {}

    /**
     * An item's result: a vector or an {@link InferenceResult}, with its share of the batch's compute time, or
     * the failure of this item alone.
     */
    record Done(Object value, long computeNanos, RuntimeException failure) {
        Object valueOrThrow() {
            if (failure != null) {
                throw failure;
            }
            return value;
        }
    }

    private static final String EMBEDDING_GROUP = "embedding";
    private static final String ROWS_GROUP = "rows";
    private static final String OUTPUTS = "the output tensors";

    static final Batcher.Shape<Work> SHAPE = new Batcher.Shape<>() {
        @Override
        public int length(Work item) {
            return item instanceof Embed embed ? embed.sequence().length : 1;
        }

        @Override
        public int rows(Work item) {
            return switch (item) {
                case Infer infer -> infer.rows();
                case Rows rows -> Math.max(1, rows.rows().rowCount());
                default -> 1;
            };
        }

        @Override
        public Object group(Work item) {
            return switch (item) {
                case Infer infer -> infer.group();
                case Run run -> run; // alone
                case Embed embed -> EMBEDDING_GROUP;
                case Rows rows -> ROWS_GROUP;
            };
        }
    };

    /** A v2 request as work: batchable with others of the same shapes if the model allows it. */
    static Infer infer(ModelMetadata metadata, List<Tensor> inputs, List<String> outputs) {
        boolean dynamic = !metadata.inputs().isEmpty()
                && metadata.inputs().stream().allMatch(TensorSpec::hasDynamicBatchDimension)
                && metadata.outputs().stream().allMatch(TensorSpec::hasDynamicBatchDimension);
        long rows = inputs.isEmpty() || inputs.getFirst().shape().length == 0 ? -1 : inputs.getFirst().shape()[0];
        boolean sameRows = inputs.stream().allMatch(tensor -> tensor.shape().length > 0 && tensor.shape()[0] == rows);
        if (!dynamic || !sameRows || rows < 1 || rows > Integer.MAX_VALUE) {
            return new Infer(inputs, outputs, 1, new Object());
        }
        List<Object> group = new ArrayList<>();
        inputs.stream().sorted(Comparator.comparing(Tensor::name)).forEach(tensor -> {
            group.add(tensor.name());
            group.add(tensor.datatype());
            group.add(Arrays.toString(Arrays.copyOfRange(tensor.shape(), 1, tensor.shape().length)));
        });
        group.add(outputs);
        return new Infer(inputs, outputs, (int) rows, group);
    }

    /** Runs a batch on the calling instance thread. */
    static List<Done> run(OrtEnvironment environment, OnnxModel model, OutputLimit limit, List<Work> batch) {
        try {
            return runTogether(environment, model, limit, batch);
        } catch (RuntimeException | OrtException e) {
            if (batch.size() == 1) {
                return List.of(new Done(null, 0, failure(e, model)));
            }
        }
        List<Done> alone = new ArrayList<>(batch.size());
        for (Work work : batch) {
            try {
                alone.add(runTogether(environment, model, limit, List.of(work)).getFirst());
            } catch (RuntimeException | OrtException e) {
                alone.add(new Done(null, 0, failure(e, model)));
            }
        }
        return alone;
    }

    private static RuntimeException failure(Exception e, OnnxModel model) {
        if (e instanceof AtriumException atrium) {
            return atrium;
        }
        if (e instanceof OrtException) {
            LOG.info("{} could not run a request: {}", model.deployment().key(), e.getMessage());
            return AtriumException.invalidParam("inputs", "the model could not run on these inputs: "
                    + OnnxMessages.clientSafe(e.getMessage(), model.deployment().files().model().toString()));
        }
        return AtriumException.internal("inference failed", e);
    }

    private static List<Done> runTogether(OrtEnvironment environment, OnnxModel model, OutputLimit limit,
            List<Work> batch) throws OrtException {
        long start = System.nanoTime();
        if (batch.getFirst() instanceof Run run) {
            Object value = run.run().apply(model);
            return List.of(new Done(value, System.nanoTime() - start, null));
        }
        if (batch.getFirst() instanceof Rows) {
            List<dev.atrium.engine.onnx.tabular.TabularRows> parts = batch.stream().map(work -> ((Rows) work).rows())
                    .toList();
            dev.atrium.engine.onnx.tabular.TabularPredictions predicted = model.taskState(
                    dev.atrium.engine.onnx.tabular.TabularRunner.class).predict(
                    parts.size() == 1 ? parts.getFirst() : dev.atrium.engine.onnx.tabular.TabularRows.concat(parts));
            long elapsed = System.nanoTime() - start;
            int total = Math.max(1, predicted.rowCount());
            List<Done> results = new ArrayList<>(parts.size());
            int offset = 0;
            for (dev.atrium.engine.onnx.tabular.TabularRows part : parts) {
                results.add(new Done(predicted.slice(offset, part.rowCount()), elapsed * part.rowCount() / total,
                        null));
                offset += part.rowCount();
            }
            return results;
        }
        if (batch.getFirst() instanceof Embed) {
            EmbeddingMetadata metadata = model.deployment().metadata().embeddingMetadata().orElseThrow();
            List<long[]> sequences = batch.stream().map(work -> ((Embed) work).sequence()).toList();
            float[][] vectors = EmbeddingPipeline.run(environment, model.session(), model.hasInput("token_type_ids"),
                    metadata, sequences);
            long share = (System.nanoTime() - start) / batch.size();
            List<Done> results = new ArrayList<>(batch.size());
            for (float[] vector : vectors) {
                results.add(new Done(vector, share, null));
            }
            return results;
        }
        List<Infer> requests = batch.stream().map(work -> (Infer) work).toList();
        if (requests.size() == 1) {
            Infer only = requests.getFirst();
            List<Tensor> outputs = runTensors(environment, model, only.inputs(), only.outputs(), limit);
            return List.of(new Done(new InferenceResult(outputs, System.nanoTime() - start), System.nanoTime() - start, null));
        }
        int totalRows = requests.stream().mapToInt(Infer::rows).sum();
        List<Tensor> joined = new ArrayList<>();
        for (Tensor first : requests.getFirst().inputs()) {
            List<Tensor> parts = requests.stream().map(request -> request.inputs().stream()
                    .filter(tensor -> tensor.name().equals(first.name())).findFirst().orElseThrow()).toList();
            joined.add(concat(first, parts, totalRows));
        }
        // the batch may hold each request's share; past it, run() tries each alone against the limit itself
        List<Tensor> outputs = runTensors(environment, model, joined, requests.getFirst().outputs(),
                limit.times(requests.size()));
        long elapsed = System.nanoTime() - start;
        List<Done> results = new ArrayList<>(requests.size());
        int offset = 0;
        for (Infer request : requests) {
            List<Tensor> own = new ArrayList<>(outputs.size());
            for (Tensor output : outputs) {
                if (output.shape().length == 0 || output.shape()[0] != totalRows) {
                    throw new IllegalStateException("output " + output.name() + " has no batch dimension of "
                            + totalRows);
                }
                own.add(slice(output, offset, request.rows()));
            }
            long share = elapsed * request.rows() / totalRows;
            try {
                limit.check(own.stream().mapToLong(OutputLimit::bytes).sum(), OUTPUTS);
                results.add(new Done(new InferenceResult(own, share), share, null));
            } catch (AtriumException e) {
                results.add(new Done(null, share, e));
            }
            offset += request.rows();
        }
        return results;
    }

    /** Runs tensors through the model; refuses outputs past the limit before copying them out. */
    private static List<Tensor> runTensors(OrtEnvironment environment, OnnxModel model, List<Tensor> tensors,
            List<String> outputs, OutputLimit limit) throws OrtException {
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            for (Tensor tensor : tensors) {
                inputs.put(tensor.name(), OnnxTensors.toOnnx(environment, tensor));
            }
            try (OrtSession.Result result = model.session().run(inputs, new LinkedHashSet<>(outputs))) {
                long bytes = 0;
                for (String name : outputs) {
                    OnnxTensor value = (OnnxTensor) result.get(name).orElseThrow();
                    long more = OnnxTensors.bytes(value);
                    bytes = more > Long.MAX_VALUE - bytes ? Long.MAX_VALUE : bytes + more;
                }
                limit.check(bytes, OUTPUTS);
                List<Tensor> values = new ArrayList<>(outputs.size());
                bytes = 0;
                for (String name : outputs) {
                    Optional<OnnxValue> value = result.get(name);
                    Tensor tensor = OnnxTensors.fromOnnx(name, (OnnxTensor) value.orElseThrow());
                    bytes += OutputLimit.bytes(tensor);
                    limit.check(bytes, OUTPUTS);
                    values.add(tensor);
                }
                return values;
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** The parts one after another along the first dimension. */
    static Tensor concat(Tensor first, List<Tensor> parts, int totalRows) {
        int total = parts.stream().mapToInt(Tensor::size).sum();
        Object data = Array.newInstance(first.data().getClass().getComponentType(), total);
        int offset = 0;
        for (Tensor part : parts) {
            System.arraycopy(part.data(), 0, data, offset, part.size());
            offset += part.size();
        }
        long[] shape = first.shape().clone();
        shape[0] = totalRows;
        return new Tensor(first.name(), first.datatype(), shape, data);
    }

    /** Rows {@code [from, from + rows)} along the first dimension. */
    static Tensor slice(Tensor tensor, int from, int rows) {
        int rowSize = tensor.shape()[0] == 0 ? 0 : (int) (tensor.size() / tensor.shape()[0]);
        Object data = Array.newInstance(tensor.data().getClass().getComponentType(), rowSize * rows);
        System.arraycopy(tensor.data(), from * rowSize, data, 0, rowSize * rows);
        long[] shape = tensor.shape().clone();
        shape[0] = rows;
        return new Tensor(tensor.name(), tensor.datatype(), shape, data);
    }
}
