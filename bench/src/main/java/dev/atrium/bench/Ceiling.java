package dev.atrium.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;

/**
 * The in-process ceiling: the bundled all-MiniLM-L6-v2 called straight through ONNX Runtime, with no server,
 * on the full embedding path (tokenize, run, mean-pool, normalize). Prints one line of key=value results.
 *
 * <p>Usage: {@code Ceiling THREADS INTRA_OP_THREADS BATCH SECONDS sentence|paragraph}
 */
public final class Ceiling {
    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        int intraOp = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        List<String> texts = Texts.of(args[4]);

        Path model = extract("/all-minilm-l6-v2-q.onnx", ".onnx");
        Path tokenizerFile = extract("/all-minilm-l6-v2-q-tokenizer.json", ".json");
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(intraOp);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        try (OrtSession session = environment.createSession(model.toString(), options);
                HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(Files.newInputStream(tokenizerFile),
                        Map.of("padding", "false", "truncation", "false"))) {
            Recorder latencies = new Recorder(3);
            AtomicLong inputs = new AtomicLong();
            AtomicLong cpuNanos = new AtomicLong(); // the workers' own CPU: the model's cost even on a shared machine
            AtomicLong tokenizeNanos = new AtomicLong(); // the part of it spent tokenizing (the carriers do it)
            var threadBean = java.lang.management.ManagementFactory.getThreadMXBean();
            long warmupEnd = System.nanoTime() + 3_000_000_000L;
            long end = warmupEnd + seconds * 1_000_000_000L;
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t;
                workers.add(Thread.ofPlatform().start(() -> {
                    int next = offset;
                    while (true) {
                        long start = System.nanoTime();
                        if (start >= end) {
                            return;
                        }
                        List<String> group = new ArrayList<>(batch);
                        for (int i = 0; i < batch; i++) {
                            group.add(texts.get(next++ % texts.size()));
                        }
                        long cpuStart = threadBean.getCurrentThreadCpuTime();
                        long[] tokenizing = new long[1];
                        embed(environment, session, tokenizer, group, tokenizing);
                        long now = System.nanoTime();
                        if (start >= warmupEnd) {
                            cpuNanos.addAndGet(threadBean.getCurrentThreadCpuTime() - cpuStart);
                            tokenizeNanos.addAndGet(tokenizing[0]);
                            latencies.recordValue(now - start);
                            inputs.addAndGet(batch);
                        }
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            var histogram = latencies.getIntervalHistogram();
            System.out.printf("threads=%d intra_op=%d batch=%d inputs_per_s=%.1f call_p50_ms=%.2f call_p99_ms=%.2f"
                            + " cpu_ms_per_input=%.3f tokenize_ms_per_input=%.3f%n",
                    threads, intraOp, batch, inputs.get() / (double) seconds,
                    histogram.getValueAtPercentile(50) / 1e6, histogram.getValueAtPercentile(99) / 1e6,
                    cpuNanos.get() / 1e6 / Math.max(1, inputs.get()),
                    tokenizeNanos.get() / 1e6 / Math.max(1, inputs.get()));
        }
    }

    /** @param tokenizing gets the calling thread's CPU nanoseconds spent tokenizing */
    private static float[][] embed(OrtEnvironment environment, OrtSession session, HuggingFaceTokenizer tokenizer,
            List<String> texts, long[] tokenizing) {
        try {
            long tokenizeStart = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            List<long[]> ids = new ArrayList<>();
            int length = 0;
            for (String text : texts) {
                // only the ids, as the engine reads them (TextTokenizer.encode): the whole Encoding costs more
                long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, true);
                long[] sequence;
                try {
                    sequence = TokenizersLibrary.LIB.getTokenIds(encoding);
                } finally {
                    TokenizersLibrary.LIB.deleteEncoding(encoding);
                }
                ids.add(sequence);
                length = Math.max(length, sequence.length);
            }
            tokenizing[0] = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime()
                    - tokenizeStart;
            int batch = texts.size();
            long[] inputIds = new long[batch * length];
            long[] mask = new long[batch * length];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(ids.get(b), 0, inputIds, b * length, ids.get(b).length);
                java.util.Arrays.fill(mask, b * length, b * length + ids.get(b).length, 1L);
            }
            long[] shape = {batch, length};
            try (OnnxTensor idTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(inputIds), shape);
                    OnnxTensor maskTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape);
                    OnnxTensor typeTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(new long[batch * length]), shape);
                    OrtSession.Result result = session.run(Map.of("input_ids", idTensor, "attention_mask", maskTensor,
                            "token_type_ids", typeTensor))) {
                OnnxTensor hidden = (OnnxTensor) result.get(0);
                FloatBuffer values = hidden.getFloatBuffer();
                int dimension = (int) hidden.getInfo().getShape()[2];
                float[][] vectors = new float[batch][dimension];
                for (int b = 0; b < batch; b++) {
                    int tokens = ids.get(b).length;
                    for (int t = 0; t < tokens; t++) {
                        for (int d = 0; d < dimension; d++) {
                            vectors[b][d] += values.get((b * length + t) * dimension + d) / tokens;
                        }
                    }
                    double norm = 0;
                    for (float v : vectors[b]) {
                        norm += v * v;
                    }
                    for (int d = 0; d < dimension; d++) {
                        vectors[b][d] /= (float) Math.sqrt(norm);
                    }
                }
                return vectors;
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path extract(String resource, String suffix) throws Exception {
        Path file = Files.createTempFile("atrium-bench-", suffix);
        file.toFile().deleteOnExit();
        try (InputStream in = Ceiling.class.getResourceAsStream(resource)) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }
}
