package dev.atrium.engine.llama;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.Pair;
import de.kherud.llama.args.LogFormat;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactEngine;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.RunContext;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.Generation;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.GenerationRequest;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.LanguageMetadata;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.ProgressWatch;
import dev.atrium.engine.VersionKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves GGUF language models with llama.cpp (through the de.kherud JNI binding).
 *
 * <p>Design: one llama.cpp instance per model file for the life of the process (the binding's {@code close()}
 * leaks native memory, so instances are never closed: unloading keeps them). Each instance has
 * {@code slots} parallel sequences (continuous batching) and a pool of as many platform threads, each running one
 * generation and passing its text through a queue to the request's thread; a bounded queue of waiting
 * generations answers 503 when full. A generation checks for cancellation at every token, so a client that
 * goes away frees its slot after at most one more token.
 */
public final class LlamaEngine implements ArtifactEngine, LanguageEngine {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaEngine.class);
    private static final int DEFAULT_SLOTS = 4;
    private static final int DEFAULT_CONTEXT_PER_SLOT = 2048;

    /**
     * @param threads llama.cpp threads per instance
     * @param queuePerSlot generations that may wait, per slot, before 503
     * @param stallAfter how long a model with work may produce nothing before it reports not ready
     */
    public record Settings(int threads, int queuePerSlot, Duration stallAfter) {}

    private record Loaded(LlamaModel model, ThreadPoolExecutor executor, ProgressWatch progress) {}

    private final ConcurrentHashMap<VersionKey, Loaded> byVersion = new ConcurrentHashMap<>();

    private final Settings settings;
    /** Generations that reached a model: a cancelled one still waiting for its slot never does. */
    private final AtomicLong started = new AtomicLong();
    private final ConcurrentHashMap<String, CompletableFuture<Loaded>> instances = new ConcurrentHashMap<>();

    public LlamaEngine(Settings settings) {
        this.settings = requireNonNull(settings, "settings is null");
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> LOG.trace("llama.cpp {}: {}", level, message.strip()));
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
        GgufLoadCheck.check(files.model());
        return new ModelMetadata(List.of(), List.of(), null, new LanguageMetadata(architecture, contextLength,
                header.number("general.parameter_count", 0), GgufHeader.fileType(header.number("general.file_type", -1)),
                template, slots, contextPerSlot));
    }

    // ---- loading ------------------------------------------------------------------------------------------------

    @Override
    public void load(Deployment deployment) {
        loaded(deployment);
    }

    @Override
    public boolean isLoaded(VersionKey key) {
        return byVersion.containsKey(key);
    }

    /** How many generations have reached a model since the engine started. */
    public long generationsStarted() {
        return started.get();
    }

    /** Generations waiting for a slot, over every loaded model. */
    public int queueDepth() {
        int depth = 0;
        for (CompletableFuture<Loaded> future : instances.values()) {
            Loaded loaded = future.getNow(null);
            depth += loaded == null ? 0 : loaded.executor().getQueue().size();
        }
        return depth;
    }

    @Override
    public boolean isStalled(VersionKey key) {
        Loaded loaded = byVersion.get(key);
        return loaded != null && loaded.progress().isStalled();
    }

    @Override
    public boolean isStalled() {
        return byVersion.values().stream().anyMatch(loaded -> loaded.progress().isStalled());
    }

    /**
     * Cannot: the binding's close leaks native memory rather than freeing it, so an instance lives as long as the
     * process (and serves the same file again when it is asked for).
     *
     * @throws AtriumException {@code UNSUPPORTED_BY_MODEL}, saying so
     */
    @Override
    public boolean unload(VersionKey key) {
        throw new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + key.modelName() + "' cannot be"
                + " unloaded: llama.cpp models stay loaded for the life of the server process (the binding cannot"
                + " free their memory)");
    }

    private Loaded loaded(Deployment deployment) {
        LanguageMetadata metadata = metadata(deployment);
        String key = deployment.files().model() + "|" + metadata.slots() + "|" + metadata.contextPerSlot();
        CompletableFuture<Loaded> future = instances.computeIfAbsent(key, k -> CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            LlamaModel model = new LlamaModel(new ModelParameters()
                    .setModel(deployment.files().model().toString())
                    .setCtxSize(metadata.slots() * metadata.contextPerSlot())
                    .setParallel(metadata.slots())
                    .setThreads(settings.threads()));
            ThreadPoolExecutor executor = new ThreadPoolExecutor(metadata.slots(), metadata.slots(), 0,
                    TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(metadata.slots() * settings.queuePerSlot()),
                    Thread.ofPlatform().name("llama-", 0).daemon(true).factory());
            LOG.info("loaded {} ({} slots x {} tokens) in {} ms", deployment.key(), metadata.slots(),
                    metadata.contextPerSlot(), (System.nanoTime() - start) / 1_000_000);
            return new Loaded(model, executor, new ProgressWatch(settings.stallAfter(), System::nanoTime));
        }, runnable -> Thread.ofPlatform().name("llama-load").daemon(true).start(runnable)));
        try {
            Loaded loaded = future.join();
            byVersion.put(deployment.key(), loaded);
            return loaded;
        } catch (CompletionException e) {
            instances.remove(key, future);
            throw AtriumException.internal("loading model " + deployment.key() + " failed", e.getCause());
        }
    }

    private static LanguageMetadata metadata(Deployment deployment) {
        return deployment.metadata().languageMetadata().orElseThrow(() -> new AtriumException(
                ErrorCode.UNSUPPORTED_BY_MODEL, "model '" + deployment.key().modelName() + "' is not a language model"));
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    @Override
    public String chatPrompt(Deployment deployment, List<ChatMessage> messages) {
        StringBuilder system = new StringBuilder();
        List<Pair<String, String>> turns = new ArrayList<>();
        for (ChatMessage message : messages) {
            if (message.role().equals("system") || message.role().equals("developer")) {
                system.append(system.isEmpty() ? "" : "\n").append(message.content());
            } else {
                turns.add(new Pair<>(message.role(), message.content()));
            }
        }
        InferenceParameters chat = new InferenceParameters("").setMessages(system.isEmpty() ? null : system.toString(), turns);
        return loaded(deployment).model().applyTemplate(chat);
    }

    @Override
    public int countTokens(Deployment deployment, String text) {
        return loaded(deployment).model().encode(text).length;
    }

    @Override
    public String jsonGrammar(String jsonSchema) {
        // in Java: the binding's converter aborts the process on schemas it cannot handle
        return JsonSchemaGrammar.fromSchema(jsonSchema);
    }

    @Override
    public Generation start(Deployment deployment, GenerationRequest request, RunContext context) {
        Loaded loaded = loaded(deployment);
        InferenceParameters parameters = new InferenceParameters(request.prompt())
                .setNPredict(request.maxTokens())
                .setTemperature(request.temperature())
                .setTopP(request.topP())
                .setPresencePenalty(request.presencePenalty())
                .setFrequencyPenalty(request.frequencyPenalty());
        if (request.seed() != null) {
            parameters.setSeed(request.seed());
        }
        if (!request.stop().isEmpty()) {
            parameters.setStopStrings(request.stop().toArray(String[]::new));
        }
        if (request.grammar() != null) {
            parameters.setGrammar(request.grammar());
        }
        QueuedGeneration generation = new QueuedGeneration(loaded.progress(), started);
        loaded.progress().accepted();
        try {
            loaded.executor().execute(() -> {
                try {
                    generation.run(loaded.model(), parameters, request.maxTokens());
                } finally {
                    loaded.progress().finished();
                }
            });
        } catch (RejectedExecutionException e) {
            loaded.progress().finished();
            throw AtriumException.retryable(ErrorCode.OVERLOADED, "every slot of model '"
                    + deployment.key().modelName() + "' is busy and its queue is full; retry shortly", 1);
        }
        return generation;
    }

    /** A generation whose events flow from its platform thread through a queue. */
    private static final class QueuedGeneration implements Generation {
        private final BlockingQueue<GenerationEvent> events = new LinkedBlockingQueue<>();
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private final ProgressWatch progress;
        private final AtomicLong started;

        QueuedGeneration(ProgressWatch progress, AtomicLong started) {
            this.progress = progress;
            this.started = started;
        }

        /** Runs on a slot's thread; counts the tokens it produces (one output per token). */
        void run(LlamaModel model, InferenceParameters parameters, int maxTokens) {
            long start = System.nanoTime();
            int tokens = 0;
            try {
                if (cancelled.get()) {
                    events.add(new GenerationEvent.Done("cancelled", 0, 0));
                    return;
                }
                started.incrementAndGet();
                LlamaIterator iterator = model.generate(parameters).iterator();
                while (iterator.hasNext()) {
                    LlamaOutput output = iterator.next();
                    if (cancelled.get()) {
                        iterator.cancel();
                        events.add(new GenerationEvent.Done("cancelled", tokens, System.nanoTime() - start));
                        return;
                    }
                    progress.progressed();
                    if (!output.text.isEmpty()) {
                        tokens++;
                        events.add(new GenerationEvent.Text(output.text));
                    }
                }
                tokens = Math.min(tokens, maxTokens);
                events.add(new GenerationEvent.Done(tokens >= maxTokens ? "length" : "stop", tokens,
                        System.nanoTime() - start));
            } catch (RuntimeException e) {
                LOG.error("generation failed", e);
                events.add(new GenerationEvent.Failure("the model failed while generating"));
            }
        }

        @Override
        public GenerationEvent next(Duration timeout) throws InterruptedException {
            return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void cancel() {
            cancelled.set(true);
        }
    }

    private static AtriumException invalid(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }

    /** Stops taking generations; the llama.cpp instances are left to the process's end (see the class note). */
    @Override
    public void close() {
        for (CompletableFuture<Loaded> future : instances.values()) {
            future.thenAccept(loaded -> loaded.executor().shutdownNow());
        }
    }
}
