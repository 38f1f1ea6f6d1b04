package dev.atrium.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;

/**
 * The in-process ceiling of generation: the same llama.cpp binding the server uses, STREAMS generations at once
 * on as many slots, each of at most MAX_TOKENS tokens, for ROUNDS rounds. Prints tokens/s over all streams and
 * time to first token.
 *
 * <p>Usage: {@code LlmCeiling MODEL.gguf STREAMS MAX_TOKENS ROUNDS CONTEXT_PER_SLOT SLOTS} (the server's slot
 * settings, so that both run the same llama.cpp configuration)
 */
public final class LlmCeiling {
    public static void main(String[] args) throws Exception {
        String file = args[0];
        int streams = Integer.parseInt(args[1]);
        int maxTokens = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        int contextPerSlot = Integer.parseInt(args[4]);
        int slots = Integer.parseInt(args[5]);
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
        // never closed: the binding's close() can hang and leaks anyway; the process ends right after
        LlamaModel model = new LlamaModel(new ModelParameters().setModel(file).setParallel(slots)
                .setCtxSize(slots * contextPerSlot).setThreads(Runtime.getRuntime().availableProcessors()));
        {
            Recorder ttft = new Recorder(3);
            AtomicLong tokens = new AtomicLong();
            long start = 0;
            for (int round = -1; round < rounds; round++) {
                if (round == 0) {
                    // round -1 warmed up (JIT, connections, llama.cpp's first batches): measure from here
                    ttft.reset();
                    tokens.set(0);
                    start = System.nanoTime();
                }
                List<Thread> threads = new ArrayList<>();
                for (int s = 0; s < streams; s++) {
                    int n = (round + 1) * streams + s;
                    threads.add(Thread.ofPlatform().start(() -> {
                        long began = System.nanoTime();
                        boolean first = true;
                        // exactly the sampling the server asks for a request with temperature 0.8 and a seed
                        // (its defaults: top_p 1, no presence or frequency penalty)
                        InferenceParameters parameters = new InferenceParameters("Story " + n + ": once upon a time")
                                .setNPredict(maxTokens).setTemperature(0.8f).setTopP(1f).setPresencePenalty(0f)
                                .setFrequencyPenalty(0f).setSeed(n);
                        for (LlamaOutput output : model.generate(parameters)) {
                            if (!output.text.isEmpty()) {
                                if (first) {
                                    ttft.recordValue(System.nanoTime() - began);
                                    first = false;
                                }
                                tokens.incrementAndGet();
                            }
                        }
                    }));
                }
                for (Thread thread : threads) {
                    thread.join();
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            var histogram = ttft.getIntervalHistogram();
            System.out.printf("streams=%d tokens_per_s=%.1f ttft_p50_ms=%.2f ttft_p99_ms=%.2f tokens=%d%n", streams,
                    tokens.get() / seconds, histogram.getValueAtPercentile(50) / 1e6,
                    histogram.getValueAtPercentile(99) / 1e6, tokens.get());
        }
        System.exit(0);
    }
}
