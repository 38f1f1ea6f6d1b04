package dev.atrium.bench;

import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.ProgressWatch;
import dev.atrium.engine.llama.CpuProbe;
import dev.atrium.engine.llama.DecodeLoop;
import dev.atrium.engine.llama.LlamaContext;
import dev.atrium.engine.llama.LlamaCpp;
import dev.atrium.engine.llama.LlamaModel;
import dev.atrium.engine.llama.LlamaNatives;
import dev.atrium.engine.llama.LlamaSampler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;

/**
 * The in-process ceiling of generation: the server's own llama.cpp binding and decode loop without the server,
 * STREAMS generations at once on SLOTS slots, each of at most MAX_TOKENS tokens, for ROUNDS rounds. Prints tokens/s over all streams and
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
        LlamaCpp cpp = LlamaCpp.open(LlamaNatives.defaults());
        LlamaModel model = LlamaModel.load(cpp, Path.of(file), LlamaModel.Options.inference(CpuProbe.extraBufferTypesSafe()));
        int threadsPerModel = Runtime.getRuntime().availableProcessors();
        LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(slots * contextPerSlot, 512, slots,
                threadsPerModel));
        // the server's own scheduler and settings (LlamaEngine: batch 512, prefill budget 512 - slots)
        DecodeLoop loop = new DecodeLoop("ceiling", model, context, new DecodeLoop.Settings(slots, contextPerSlot,
                4 * slots, Math.max(context.settings().batchSize() - slots, 1)),
                new ProgressWatch(Duration.ofMinutes(5), System::nanoTime), new AtomicLong());
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
                        int[] prompt = model.tokenize("Story " + n + ": once upon a time", true, true);
                        DecodeLoop.Sequence sequence = loop.submit(prompt, maxTokens, List.of(),
                                new LlamaSampler.Settings(0.8f, 0, 1, 0, 1, 0, 0, 64, n, Optional.empty()));
                        try {
                            while (true) {
                                GenerationEvent event = sequence.next(Duration.ofMinutes(5));
                                if (event instanceof GenerationEvent.Text) {
                                    if (first) {
                                        ttft.recordValue(System.nanoTime() - began);
                                        first = false;
                                    }
                                    tokens.incrementAndGet();
                                } else {
                                    break;
                                }
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
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
