package dev.atrium.engine.llama;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactEngine;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.Generation;
import dev.atrium.engine.GenerationRequest;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.LanguageMetadata;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.ProgressWatch;
import dev.atrium.engine.RunContext;
import dev.atrium.engine.VersionKey;
import dev.atrium.engine.residency.Residency;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves GGUF language models with llama.cpp v0.5.0, bound with {@code java.lang.foreign} ({@link LlamaCpp}).
 *
 * <p>Design: per loaded version one model, one context with {@code slots} sequences of {@code contextPerSlot}
 * tokens each, and one {@link DecodeLoop} (Atrium's continuous-batching scheduler) on a platform thread of its
 * own; chat prompts are rendered in Java from the GGUF's chat template ({@link ChatTemplate}), JSON modes become
 * grammars in Java ({@link JsonSchemaGrammar}). Unloading stops the loop and frees the context and the model. An
 * uploaded file is loaded first in a child process ({@link GgufLoadCheck}), so a file crafted to crash llama.cpp
 * takes down the child, never the server. Without the llama.cpp libraries the server serves everything else, and
 * GGUF models answer 503 naming what is missing. Loads go through the server's {@link Residency}; a version is in
 * use while a call holds a lease on it (rendering, counting, queueing) and while its generations run, and only an
 * idle one is evicted.
 */
public final class LlamaEngine implements ArtifactEngine, LanguageEngine {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaEngine.class);
    private static final int DEFAULT_SLOTS = 4;
    private static final int DEFAULT_CONTEXT_PER_SLOT = 2048;
    /** The most tokens one decode takes: every running sequence's next token plus prompt chunks. */
    private static final int BATCH = 512;

    /**
     * @param threads llama.cpp threads per loaded model
     * @param queuePerSlot generations that may wait, per slot, before 503
     * @param stallAfter how long a model with work may produce nothing before it reports not ready
     * @param natives where the llama.cpp libraries are
     */
    public record Settings(int threads, int queuePerSlot, Duration stallAfter, LlamaNatives natives) {
        public Settings {
            requireNonNull(natives, "natives is null");
        }
    }

    /**
     * One loaded version. Calls take a lease while they use the model (tokenizing, rendering a prompt, queueing a
     * generation); once unloaded, the loop stops at once (cutting its generations) and the context and weights are
     * freed when the last lease is returned, so that nothing reads freed memory.
     */
    private static final class Loaded {
        final LlamaModel model;
        final LlamaContext context;
        final DecodeLoop loop;
        final Optional<ChatTemplate> template;
        final ProgressWatch progress;
        private int leases;
        private boolean unloaded;
        private boolean freed;

        Loaded(LlamaModel model, LlamaContext context, DecodeLoop loop, Optional<ChatTemplate> template,
                ProgressWatch progress) {
            this.model = model;
            this.context = context;
            this.loop = loop;
            this.template = template;
            this.progress = progress;
        }

        /** Takes a lease; false once unloaded, in which case the caller loads the version again. */
        synchronized boolean acquire() {
            if (unloaded) {
                return false;
            }
            leases++;
            return true;
        }

        void release() {
            synchronized (this) {
                leases--;
                if (!unloaded || leases > 0 || freed) {
                    return;
                }
                freed = true;
            }
            free();
        }

        /** Leases taken, and generations queued or running. */
        synchronized int inFlight() {
            return leases + progress.pending();
        }

        /** Unloads only when no call holds a lease and no generation is queued or running, atomically. */
        boolean unloadIfIdle() {
            synchronized (this) {
                if (unloaded || leases > 0 || progress.pending() > 0) {
                    return false;
                }
                unloaded = true;
            }
            stop();
            return true;
        }

        void unload() {
            synchronized (this) {
                if (unloaded) {
                    return;
                }
                unloaded = true;
            }
            stop();
        }

        private void stop() {
            loop.close();
            synchronized (this) {
                if (leases > 0 || freed) {
                    return;
                }
                freed = true;
            }
            free();
        }

        private void free() {
            context.close();
            model.close();
            LlamaCpp.releaseFreedMemory();
        }
    }

    private final Settings settings;
    private final ConcurrentHashMap<VersionKey, CompletableFuture<Loaded>> byVersion = new ConcurrentHashMap<>();
    /** Generations that reached a model: a cancelled one still waiting for its slot never does. */
    private final AtomicLong started = new AtomicLong();
    /**
     * Loads on one long-lived thread: llama.cpp allocates a model's cache from the loading thread's malloc arena,
     * and a new thread per load would leave a new arena holding freed memory each time.
     */
    private final java.util.concurrent.ExecutorService loader = java.util.concurrent.Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("llama-load").daemon(true).factory());

    private final Residency residency;
    private final Residency.Holder holder = new Residency.Holder() {
        @Override
        public int inFlight(VersionKey key) {
            Loaded loaded = loadedNow(key);
            return loaded == null ? 0 : loaded.inFlight();
        }

        @Override
        public boolean unloadIfIdle(VersionKey key) {
            CompletableFuture<Loaded> future = byVersion.get(key);
            Loaded loaded = future == null ? null : future.getNow(null);
            if (loaded == null || !loaded.unloadIfIdle()) {
                return false;
            }
            byVersion.remove(key, future);
            LOG.info("unloaded {}", key);
            return true;
        }
    };

    public LlamaEngine(Settings settings) {
        this(settings, Residency.unlimited());
    }

    /** @param residency keeps the loaded versions of every engine within the memory budget */
    public LlamaEngine(Settings settings, Residency residency) {
        this.settings = requireNonNull(settings, "settings is null");
        this.residency = requireNonNull(residency, "residency is null");
    }

    // ---- inspection ---------------------------------------------------------------------------------------------

    @Override
    public ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options) {
        if (files.tokenizer().isPresent()) {
            throw invalid("a GGUF file carries its own tokenizer; send no 'tokenizer' part");
        }
        GgufHeader header;
        try {
            header = GgufHeader.read(files.model());
        } catch (IllegalArgumentException e) {
            throw invalid("the 'gguf' part is not a GGUF model: " + e.getMessage());
        }
        String architecture = header.string("general.architecture", null);
        if (architecture == null) {
            throw invalid("the GGUF file names no general.architecture");
        }
        int contextLength = (int) Math.min(Integer.MAX_VALUE, header.number(architecture + ".context_length", 0));
        if (contextLength < 16) {
            throw invalid("the GGUF file gives no usable " + architecture + ".context_length");
        }
        boolean template = header.values().containsKey("tokenizer.chat_template");
        if (task == ModelTask.CHAT && !template) {
            throw invalid("a chat model needs a chat template (tokenizer.chat_template) in its GGUF file");
        }
        int slots = options.slots().orElse(DEFAULT_SLOTS);
        int contextPerSlot = options.contextPerSlot().orElse(Math.min(contextLength, DEFAULT_CONTEXT_PER_SLOT));
        if (contextPerSlot > contextLength) {
            throw invalid("context_per_slot " + contextPerSlot + " is more than the model's context length "
                    + contextLength);
        }
        if (contextPerSlot < 16 || slots > 64) {
            throw invalid("context_per_slot must be at least 16 and slots at most 64");
        }
        requireLlama();
        GgufLoadCheck.check(files.model(), settings.natives());
        return new ModelMetadata(List.of(), List.of(), null, new LanguageMetadata(architecture, contextLength,
                header.number("general.parameter_count", 0), GgufHeader.fileType(header.number("general.file_type", -1)),
                template, slots, contextPerSlot));
    }

    // ---- loading ------------------------------------------------------------------------------------------------

    /** The library, or a 503 saying what is missing. */
    private LlamaCpp requireLlama() {
        try {
            return LlamaCpp.open(settings.natives());
        } catch (LlamaException e) {
            throw AtriumException.retryable(ErrorCode.ENGINE_UNAVAILABLE, e.getMessage(), 60);
        }
    }

    @Override
    public void load(Deployment deployment) {
        lease(deployment).release();
    }

    @Override
    public boolean isLoaded(VersionKey key) {
        CompletableFuture<Loaded> future = byVersion.get(key);
        return future != null && future.isDone() && !future.isCompletedExceptionally();
    }

    /** How many generations have reached a model since the engine started. */
    public long generationsStarted() {
        return started.get();
    }

    /** Generations waiting for a slot, over every loaded model. */
    public int queueDepth() {
        int depth = 0;
        for (CompletableFuture<Loaded> future : byVersion.values()) {
            Loaded loaded = future.getNow(null);
            depth += loaded == null ? 0 : loaded.loop.queueDepth();
        }
        return depth;
    }

    @Override
    public boolean isStalled(VersionKey key) {
        CompletableFuture<Loaded> future = byVersion.get(key);
        Loaded loaded = future == null ? null : future.getNow(null);
        return loaded != null && loaded.progress.isStalled();
    }

    @Override
    public boolean isStalled() {
        return byVersion.keySet().stream().anyMatch(this::isStalled);
    }

    /** Stops the version's decode loop (cutting its running generations) and frees its context and weights. */
    @Override
    public boolean unload(VersionKey key) {
        CompletableFuture<Loaded> future = byVersion.remove(key);
        if (future == null) {
            return false;
        }
        residency.unloaded(key);
        Loaded loaded;
        try {
            loaded = future.join();
        } catch (CompletionException e) {
            return false;
        }
        loaded.unload();
        LOG.info("unloaded {}", key);
        return true;
    }

    private Loaded loadedNow(VersionKey key) {
        CompletableFuture<Loaded> future = byVersion.get(key);
        return future == null ? null : future.getNow(null);
    }

    /** A loaded version with a lease taken, for work outside a call's run (rendering, counting, an admin load). */
    private Loaded lease(Deployment deployment) {
        return lease(deployment, System.nanoTime() + residency.settings().loadWait().toNanos());
    }

    /**
     * A loaded version with a lease taken; the caller must release it. Concurrent calls for an unloaded version
     * share one load (one future per version), which waits for room in the memory budget until the deadline of the
     * call that started it; each call waits for the load no longer than its own deadline.
     */
    private Loaded lease(Deployment deployment, long deadlineNanos) {
        LanguageMetadata metadata = metadata(deployment);
        while (true) {
            CompletableFuture<Loaded> future = byVersion.computeIfAbsent(deployment.key(), key ->
                    CompletableFuture.supplyAsync(() -> residency.load(key, "llama", deployment.files().sizeBytes(),
                            estimateBytes(deployment, metadata), deadlineNanos, holder,
                            () -> open(deployment, metadata)), loader));
            Loaded loaded;
            try {
                loaded = future.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + deployment.key().modelName()
                        + "' is still loading; retry shortly", 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the call was interrupted while model '"
                        + deployment.key().modelName() + "' loaded", 1);
            } catch (java.util.concurrent.ExecutionException | CompletionException e) {
                byVersion.remove(deployment.key(), future);
                if (e.getCause() instanceof AtriumException atrium) {
                    throw atrium;
                }
                throw AtriumException.internal("loading model " + deployment.key() + " failed", e.getCause());
            }
            if (loaded.acquire()) {
                residency.used(deployment.key());
                return loaded;
            }
            byVersion.remove(deployment.key(), future);
        }
    }

    /**
     * What a first load is expected to hold: the weights (the file), the slots' cache (a few KiB a token for the
     * small models served on CPUs) and llama.cpp's compute buffers.
     */
    private static long estimateBytes(Deployment deployment, LanguageMetadata metadata) {
        return deployment.files().sizeBytes() + (long) metadata.slots() * metadata.contextPerSlot() * (8L << 10)
                + (16L << 20);
    }

    private Loaded open(Deployment deployment, LanguageMetadata metadata) {
        long start = System.nanoTime();
        LlamaCpp cpp = requireLlama();
        LlamaModel model = LlamaModel.load(cpp, deployment.files().model(),
                LlamaModel.Options.inference(CpuProbe.extraBufferTypesSafe()));
        LlamaContext context = null;
        try {
            int slots = metadata.slots();
            context = LlamaContext.create(model, new LlamaContext.Settings(slots * metadata.contextPerSlot(),
                    Math.max(BATCH, slots), slots, settings.threads()));
            warmUp(model, context);
            Optional<ChatTemplate> template = model.chatTemplate().map(text -> new ChatTemplate(text,
                    piece(model, model.bos()), piece(model, model.eos())));
            ProgressWatch progress = new ProgressWatch(settings.stallAfter(), System::nanoTime);
            DecodeLoop loop = new DecodeLoop(deployment.key().toString(), model, context, new DecodeLoop.Settings(
                    slots, metadata.contextPerSlot(), slots * settings.queuePerSlot(),
                    Math.max(context.settings().batchSize() - slots, 1)),
                    progress, started);
            LOG.info("loaded {} ({} slots x {} tokens) in {} ms", deployment.key(), slots, metadata.contextPerSlot(),
                    (System.nanoTime() - start) / 1_000_000);
            return new Loaded(model, context, loop, template, progress);
        } catch (RuntimeException | Error e) {
            if (context != null) {
                context.close();
            }
            model.close();
            if (e instanceof LlamaException) {
                throw AtriumException.internal("llama.cpp could not load model " + deployment.key(), e);
            }
            throw e;
        }
    }

    /** The first decode after a load is slow: one token, decoded and dropped, takes that cost off the first caller. */
    private static void warmUp(LlamaModel model, LlamaContext context) {
        context.batch().add(model.bos(), 0, 0, true);
        context.decode();
        context.removeSequence(0);
    }

    private static String piece(LlamaModel model, int token) {
        return token < 0 ? "" : new String(model.piece(token, true), StandardCharsets.UTF_8);
    }

    private static LanguageMetadata metadata(Deployment deployment) {
        return deployment.metadata().languageMetadata().orElseThrow(() -> new AtriumException(
                ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + deployment.key().modelName() + "' is not a language model"));
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    @Override
    public String chatPrompt(Deployment deployment, List<ChatMessage> messages) {
        Loaded loaded = lease(deployment);
        try {
            return loaded.template.orElseThrow(() -> new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, "model '"
                    + deployment.key().modelName() + "' has no chat template")).render(messages, true);
        } finally {
            loaded.release();
        }
    }

    @Override
    public int countTokens(Deployment deployment, String text) {
        Loaded loaded = lease(deployment);
        try {
            return tokens(loaded, text).length;
        } finally {
            loaded.release();
        }
    }

    /** The prompt's tokens as generation reads them: the model's BOS added, special tokens in the text read as such. */
    private static int[] tokens(Loaded loaded, String text) {
        return loaded.model.tokenize(text, true, true);
    }

    @Override
    public String jsonGrammar(String jsonSchema) {
        return JsonSchemaGrammar.fromSchema(jsonSchema);
    }

    @Override
    public Generation start(Deployment deployment, GenerationRequest request, RunContext context) {
        Loaded loaded = lease(deployment, context.deadlineNanos());
        try {
            int seed = request.seed() != null ? request.seed() : ThreadLocalRandom.current().nextInt();
            LlamaSampler.Settings sampling = new LlamaSampler.Settings(request.temperature(), 0, request.topP(), 0, 1,
                    request.frequencyPenalty(), request.presencePenalty(), 64, seed,
                    Optional.ofNullable(request.grammar()));
            // queued under the lease: the generation counts as work in flight before the lease is returned
            return loaded.loop.submit(tokens(loaded, request.prompt()), request.maxTokens(), request.stop(), sampling);
        } finally {
            loaded.release();
        }
    }

    private static AtriumException invalid(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }

    /** Unloads every version. */
    @Override
    public void close() {
        for (VersionKey key : List.copyOf(byVersion.keySet())) {
            unload(key);
        }
        loader.shutdown();
    }
}
