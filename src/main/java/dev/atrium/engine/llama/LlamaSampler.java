package dev.atrium.engine.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request's sampler chain in llama.cpp: penalties, grammar, top-k, top-p, min-p, temperature, then a seeded
 * draw (or greedy at temperature 0), in llama-server's order. Used by the decode loop's thread.
 */
public final class LlamaSampler implements AutoCloseable {
    /**
     * How a request samples.
     *
     * @param temperature 0 for greedy
     * @param topK 0 for off
     * @param topP 1 for off
     * @param minP 0 for off
     * @param repeatPenalty 1 for off
     * @param frequencyPenalty 0 for off
     * @param presencePenalty 0 for off
     * @param penaltyWindow the last tokens the penalties look at
     * @param seed the draw's seed
     * @param grammar a GBNF grammar whose {@code root} the output must match
     */
    public record Settings(float temperature, int topK, float topP, float minP, float repeatPenalty,
            float frequencyPenalty, float presencePenalty, int penaltyWindow, int seed, Optional<String> grammar) {
        public static Settings greedy() {
            return new Settings(0, 0, 1, 0, 1, 0, 0, 64, 0, Optional.empty());
        }

        boolean penalized() {
            return repeatPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0;
        }
    }

    private final LlamaCpp cpp;
    private final MemorySegment chain;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LlamaSampler(LlamaCpp cpp, MemorySegment chain) {
        this.cpp = cpp;
        this.chain = chain;
    }

    /**
     * @throws LlamaException when llama.cpp refuses the grammar
     */
    public static LlamaSampler create(LlamaModel model, Settings settings) {
        LlamaCpp cpp = model.cpp();
        MemorySegment chain = LlamaModel.call(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment params = (MemorySegment) cpp.chainDefaultParams.invokeExact((SegmentAllocator) arena);
                LlamaCpp.set(LlamaCpp.CHAIN_PARAMS, params, "no_perf", true);
                return (MemorySegment) cpp.samplerChainInit.invokeExact(params);
            }
        });
        LlamaSampler sampler = new LlamaSampler(cpp, chain);
        try {
            if (settings.penalized()) {
                sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitPenalties.invokeExact(
                        model.vocabularySize(), settings.penaltyWindow(), settings.repeatPenalty(),
                        settings.frequencyPenalty(), settings.presencePenalty())));
            }
            if (settings.grammar().isPresent()) {
                MemorySegment grammar = LlamaModel.call(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        return (MemorySegment) cpp.samplerInitGrammar.invokeExact(model.vocab(),
                                arena.allocateFrom(settings.grammar().get()), arena.allocateFrom("root"));
                    }
                });
                if (grammar.equals(MemorySegment.NULL)) {
                    throw new LlamaException("llama.cpp refused the grammar");
                }
                sampler.add(grammar);
            }
            if (settings.temperature() <= 0) {
                sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitGreedy.invokeExact()));
                return sampler;
            }
            if (settings.topK() > 0) {
                sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitTopK.invokeExact(settings.topK())));
            }
            if (settings.topP() < 1) {
                sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitTopP.invokeExact(settings.topP(), 1L)));
            }
            if (settings.minP() > 0) {
                sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitMinP.invokeExact(settings.minP(), 1L)));
            }
            sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitTemp.invokeExact(settings.temperature())));
            sampler.add(LlamaModel.call(() -> (MemorySegment) cpp.samplerInitDist.invokeExact(settings.seed())));
            return sampler;
        } catch (RuntimeException | Error e) {
            sampler.close();
            throw e;
        }
    }

    private void add(MemorySegment sampler) {
        LlamaModel.call(() -> {
            cpp.samplerChainAdd.invokeExact(chain, sampler); // the chain owns it from now on
            return null;
        });
    }

    /** Samples the next token from batch entry {@code index}'s logits and accepts it into the chain's state. */
    int sample(MemorySegment context, int index) {
        if (closed.get()) {
            throw new IllegalStateException("the sampler is closed");
        }
        // llama_sampler_sample accepts the token it returns (penalties and grammar advance)
        return LlamaModel.call(() -> (int) cpp.samplerSample.invokeExact(chain, context, index));
    }

    /** Tells the chain of a token that was not sampled by it (a prompt token, for the penalties). */
    public void accept(int token) {
        LlamaModel.call(() -> {
            cpp.samplerAccept.invokeExact(chain, token);
            return null;
        });
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            LlamaModel.call(() -> {
                cpp.samplerFree.invokeExact(chain);
                return null;
            });
        }
    }
}
