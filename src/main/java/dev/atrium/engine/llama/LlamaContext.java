package dev.atrium.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A llama.cpp context of a model: the KV cache of {@code sequences} sequences and one batch to decode with.
 * Used by one thread at a time (the scheduler's decode loop); {@link #abort()} may be called from any thread.
 */
public final class LlamaContext implements AutoCloseable {
    /**
     * @param contextLength tokens of KV cache in all (each sequence gets contextLength / sequences)
     * @param batchSize the most tokens one decode takes
     * @param sequences sequences decoded together
     * @param threads CPU threads for generation and for prompt processing
     */
    public record Settings(int contextLength, int batchSize, int sequences, int threads) {
        public Settings {
            if (contextLength < 1 || batchSize < 1 || sequences < 1 || threads < 1) {
                throw new IllegalArgumentException("invalid context settings: " + this);
            }
        }
    }

    /** llama.cpp rounds each sequence's share of a context up to a multiple of this many cells. */
    static final int CONTEXT_PADDING = 256;

    /** What {@link #decode} reports. */
    public enum DecodeResult { OK, NO_ROOM, ABORTED }

    private static final MethodHandle ABORT_TARGET;

    static {
        try {
            ABORT_TARGET = MethodHandles.lookup().findVirtual(LlamaContext.class, "aborting",
                    MethodType.methodType(boolean.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LlamaModel model;
    private final LlamaCpp cpp;
    private final Settings settings;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment context;
    private final MemorySegment threadpool;
    private final MemorySegment memory;
    private final Batch batch;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean abort;

    private LlamaContext(LlamaModel model, Settings settings, MemorySegment context) throws Throwable {
        this.model = model;
        this.cpp = model.cpp();
        this.settings = settings;
        this.context = context;
        // the context's own threads, started once and parked between decodes (llama-server does the same);
        // without a threadpool, ggml starts and joins its threads at every decode
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment params = scratch.allocate(LlamaCpp.THREADPOOL_PARAMS);
            cpp.threadpoolParamsInit.invokeExact(params, settings.threads());
            this.threadpool = (MemorySegment) cpp.threadpoolNew.invokeExact(params);
        }
        if (threadpool.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp could not start a threadpool of " + settings.threads() + " threads");
        }
        cpp.attachThreadpool.invokeExact(context, threadpool, MemorySegment.NULL);
        this.memory = (MemorySegment) cpp.getMemory.invokeExact(context);
        this.batch = new Batch(arena, settings.batchSize());
        MemorySegment stub = Linker.nativeLinker().upcallStub(ABORT_TARGET.bindTo(this),
                FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_BOOLEAN, ADDRESS), arena);
        cpp.setAbortCallback.invokeExact(context, stub, MemorySegment.NULL);
    }

    /**
     * Makes a context and reads its settings back through the library's getters.
     *
     * @throws LlamaException when llama.cpp refuses the settings, or reads back other values than were written
     */
    public static LlamaContext create(LlamaModel model, Settings requested) {
        LlamaCpp cpp = model.cpp();
        // llama.cpp caps a batch at the context's length
        Settings settings = new Settings(requested.contextLength(), Math.min(requested.batchSize(),
                requested.contextLength()), requested.sequences(), requested.threads());
        MemorySegment context;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment params = (MemorySegment) cpp.contextDefaultParams.invokeExact((SegmentAllocator) scratch);
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_ctx", settings.contextLength());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_batch", settings.batchSize());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_ubatch", settings.batchSize());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_seq_max", settings.sequences());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_threads", settings.threads());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "n_threads_batch", settings.threads());
            LlamaCpp.set(LlamaCpp.CONTEXT_PARAMS, params, "no_perf", true);
            context = (MemorySegment) cpp.initFromModel.invokeExact(model.pointer(), params);
        } catch (LlamaException e) {
            throw e;
        } catch (Throwable e) {
            throw new LlamaException("llama.cpp failed to make a context: " + e);
        }
        if (context.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp refused a context of " + settings.contextLength() + " tokens for "
                    + settings.sequences() + " sequences");
        }
        try {
            List<String> wrong = readBack(cpp, context, settings);
            if (!wrong.isEmpty()) {
                throw new LlamaException("the llama.cpp context reads back other settings than were written ("
                        + String.join("; ", wrong) + "): the library's struct layout is not this engine's");
            }
            return new LlamaContext(model, settings, context);
        } catch (Throwable e) {
            LlamaModel.call(() -> {
                cpp.free.invokeExact(context);
                return null;
            });
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e instanceof Error error) {
                throw error;
            }
            throw new LlamaException("llama.cpp failed to make a context: " + e);
        }
    }

    private static List<String> readBack(LlamaCpp cpp, MemorySegment context, Settings settings) throws Throwable {
        List<String> wrong = new ArrayList<>();
        // llama.cpp pads each sequence's share of the context to a multiple of 256 cells
        int contextLength = (int) cpp.nCtx.invokeExact(context);
        int perSequence = (settings.contextLength() + settings.sequences() - 1) / settings.sequences();
        int padded = settings.sequences() * ((perSequence + CONTEXT_PADDING - 1) / CONTEXT_PADDING * CONTEXT_PADDING);
        if (contextLength < settings.contextLength() || contextLength > padded) {
            wrong.add("n_ctx written " + settings.contextLength() + ", read " + contextLength);
        }
        compare(wrong, "n_batch", settings.batchSize(), (int) cpp.nBatch.invokeExact(context));
        compare(wrong, "n_ubatch", settings.batchSize(), (int) cpp.nUbatch.invokeExact(context));
        compare(wrong, "n_seq_max", settings.sequences(), (int) cpp.nSeqMax.invokeExact(context));
        compare(wrong, "n_threads", settings.threads(), (int) cpp.nThreads.invokeExact(context));
        compare(wrong, "n_threads_batch", settings.threads(), (int) cpp.nThreadsBatch.invokeExact(context));
        return wrong;
    }

    private static void compare(List<String> wrong, String field, int written, int read) {
        if (written != read) {
            wrong.add(field + " written " + written + ", read " + read);
        }
    }

    public Settings settings() {
        return settings;
    }

    public LlamaModel model() {
        return model;
    }

    /** The batch the next {@link #decode} runs; cleared after it. */
    public Batch batch() {
        return batch;
    }

    /**
     * Decodes the batch: logits for the tokens that asked for them, and their keys and values in the cache.
     *
     * @throws LlamaException when llama.cpp fails the decode
     */
    public DecodeResult decode() {
        requireOpen();
        int result = LlamaModel.call(() -> (int) cpp.decode.invokeExact(context, batch.struct()));
        batch.clear();
        return switch (result) {
            case 0 -> DecodeResult.OK;
            case 1 -> DecodeResult.NO_ROOM;
            case 2 -> {
                abort = false;
                yield DecodeResult.ABORTED;
            }
            default -> throw new LlamaException("llama.cpp failed a decode (" + result + ")");
        };
    }

    /** Makes a running {@link #decode} return {@link DecodeResult#ABORTED} as soon as llama.cpp checks. */
    public void abort() {
        abort = true;
    }

    /** {@code ggml_abort_callback}: never throws into native code. */
    @SuppressWarnings("unused")
    private boolean aborting(MemorySegment data) {
        return abort;
    }

    /** The next token of the batch entry {@code index} (one that asked for logits), by the sampler. */
    public int sample(LlamaSampler sampler, int index) {
        requireOpen();
        return sampler.sample(context, index);
    }

    /** The logits of batch entry {@code index}, one per vocabulary token. */
    public float[] logits(int index) {
        requireOpen();
        MemorySegment logits = LlamaModel.call(() -> (MemorySegment) cpp.getLogitsIth.invokeExact(context, index));
        if (logits.equals(MemorySegment.NULL)) {
            throw new LlamaException("no logits for batch entry " + index);
        }
        int vocabulary = model.vocabularySize();
        return logits.reinterpret((long) vocabulary * Float.BYTES).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
    }

    /** Drops a sequence's cache (all its positions); the sequence may be reused at once. */
    public void removeSequence(int sequence) {
        requireOpen();
        LlamaModel.call(() -> (boolean) cpp.memorySeqRm.invokeExact(memory, sequence, -1, -1));
    }

    /** Drops positions {@code from} and after of a sequence (keeping a shared prefix, say). */
    public boolean truncateSequence(int sequence, int from) {
        requireOpen();
        return LlamaModel.call(() -> (boolean) cpp.memorySeqRm.invokeExact(memory, sequence, from, -1));
    }

    /** Copies positions [0, {@code length}) of one sequence's cache to another (a shared prompt prefix). */
    public void copySequence(int from, int to, int length) {
        requireOpen();
        LlamaModel.call(() -> {
            cpp.memorySeqCp.invokeExact(memory, from, to, 0, length);
            return null;
        });
    }

    /** The last position a sequence holds, or −1 when it holds none. */
    public int lastPosition(int sequence) {
        requireOpen();
        return LlamaModel.call(() -> (int) cpp.memorySeqPosMax.invokeExact(memory, sequence));
    }

    /** Empties the whole cache. */
    public void clear() {
        requireOpen();
        LlamaModel.call(() -> {
            cpp.memoryClear.invokeExact(memory, true);
            return null;
        });
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            LlamaModel.call(() -> {
                cpp.detachThreadpool.invokeExact(context);
                cpp.free.invokeExact(context);
                cpp.threadpoolFree.invokeExact(threadpool);
                return null;
            });
            arena.close();
        }
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the context is closed");
        }
    }

    /**
     * The tokens of one decode, in native memory the context owns: each with its position, its one sequence and
     * whether its logits are wanted.
     */
    public static final class Batch {
        private final int capacity;
        private final MemorySegment struct;
        private final MemorySegment tokens;
        private final MemorySegment positions;
        private final MemorySegment sequenceCounts;
        private final MemorySegment sequencePointers;
        private final MemorySegment sequences;
        private final MemorySegment logits;
        private int size;

        Batch(Arena arena, int capacity) {
            this.capacity = capacity;
            this.struct = arena.allocate(LlamaCpp.BATCH);
            this.tokens = arena.allocate(JAVA_INT, capacity);
            this.positions = arena.allocate(JAVA_INT, capacity);
            this.sequenceCounts = arena.allocate(JAVA_INT, capacity);
            this.sequencePointers = arena.allocate(ADDRESS, capacity);
            this.sequences = arena.allocate(JAVA_INT, capacity);
            this.logits = arena.allocate(JAVA_BYTE, capacity);
            for (int i = 0; i < capacity; i++) {
                sequenceCounts.setAtIndex(JAVA_INT, i, 1);
                sequencePointers.setAtIndex(ADDRESS, i, sequences.asSlice((long) i * Integer.BYTES, Integer.BYTES));
            }
            LlamaCpp.set(LlamaCpp.BATCH, struct, "token", tokens);
            LlamaCpp.set(LlamaCpp.BATCH, struct, "embd", MemorySegment.NULL);
            LlamaCpp.set(LlamaCpp.BATCH, struct, "pos", positions);
            LlamaCpp.set(LlamaCpp.BATCH, struct, "n_seq_id", sequenceCounts);
            LlamaCpp.set(LlamaCpp.BATCH, struct, "seq_id", sequencePointers);
            LlamaCpp.set(LlamaCpp.BATCH, struct, "logits", logits);
        }

        /**
         * Adds a token; returns its index in the batch (for {@link #sample} when {@code wantLogits}).
         *
         * @throws IllegalStateException when the batch is full
         */
        public int add(int token, int position, int sequence, boolean wantLogits) {
            if (size == capacity) {
                throw new IllegalStateException("the batch is full (" + capacity + " tokens)");
            }
            tokens.setAtIndex(JAVA_INT, size, token);
            positions.setAtIndex(JAVA_INT, size, position);
            sequences.setAtIndex(JAVA_INT, size, sequence);
            logits.set(JAVA_BYTE, size, (byte) (wantLogits ? 1 : 0));
            return size++;
        }

        public int size() {
            return size;
        }

        public int capacity() {
            return capacity;
        }

        public int room() {
            return capacity - size;
        }

        public void clear() {
            size = 0;
        }

        MemorySegment struct() {
            LlamaCpp.set(LlamaCpp.BATCH, struct, "n_tokens", size);
            return struct;
        }
    }
}
