package dev.atrium.engine.llama;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The llama.cpp C API ({@code llama.h} of release v0.5.0) bound with {@code java.lang.foreign}: the libraries
 * of a directory ({@link LlamaNatives}), one downcall handle per function used, and the layouts of the structs
 * Atrium reads and writes.
 *
 * <p>A struct layout that does not match the library's would corrupt memory silently, and layouts move between
 * releases. So {@link #open} refuses a library unless its version is the one these layouts were written for and
 * the defaults it hands out ({@code llama_*_default_params}) read back, field by field at these offsets, as
 * that release's source sets them; and each context created reads its settings back through the library's
 * getters ({@link LlamaContext}). A library that fails either is refused with {@link LlamaException}, before
 * anything is written through a layout.
 *
 * <p>One per process (a native library is loaded once); thread-safe: the handles are stateless.
 */
public final class LlamaCpp {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaCpp.class);
    private static final Logger NATIVE_LOG = LoggerFactory.getLogger("dev.atrium.engine.llama.native");

    /** The release these layouts were written for; {@code llama_version()} must start with it. */
    public static final String RELEASE = "0.5.0";

    /** {@code struct llama_model_params}: 80 bytes. */
    static final StructLayout MODEL_PARAMS = structLayout(
            ADDRESS.withName("devices"),
            ADDRESS.withName("tensor_buft_overrides"),
            JAVA_INT.withName("n_gpu_layers"),
            JAVA_INT.withName("split_mode"),
            JAVA_INT.withName("load_mode"),
            JAVA_INT.withName("lazy_mode"),
            JAVA_INT.withName("main_gpu"),
            paddingLayout(4),
            ADDRESS.withName("tensor_split"),
            ADDRESS.withName("progress_callback"),
            ADDRESS.withName("progress_callback_user_data"),
            ADDRESS.withName("kv_overrides"),
            JAVA_BOOLEAN.withName("vocab_only"),
            JAVA_BOOLEAN.withName("check_tensors"),
            JAVA_BOOLEAN.withName("use_extra_bufts"),
            JAVA_BOOLEAN.withName("no_host"),
            JAVA_BOOLEAN.withName("no_alloc"),
            JAVA_BOOLEAN.withName("load_mtp"),
            paddingLayout(2)).withName("llama_model_params");

    /** {@code struct llama_context_params}: 160 bytes. */
    static final StructLayout CONTEXT_PARAMS = structLayout(
            JAVA_INT.withName("n_ctx"),
            JAVA_INT.withName("n_batch"),
            JAVA_INT.withName("n_ubatch"),
            JAVA_INT.withName("n_seq_max"),
            JAVA_INT.withName("n_rs_seq"),
            JAVA_INT.withName("n_outputs_max"),
            JAVA_INT.withName("n_outputs_max_per_seq"),
            JAVA_INT.withName("n_threads"),
            JAVA_INT.withName("n_threads_batch"),
            JAVA_INT.withName("ctx_type"),
            JAVA_INT.withName("rope_scaling_type"),
            JAVA_INT.withName("pooling_type"),
            JAVA_INT.withName("attention_type"),
            JAVA_INT.withName("flash_attn_type"),
            JAVA_FLOAT.withName("rope_freq_base"),
            JAVA_FLOAT.withName("rope_freq_scale"),
            JAVA_FLOAT.withName("yarn_ext_factor"),
            JAVA_FLOAT.withName("yarn_attn_factor"),
            JAVA_FLOAT.withName("yarn_beta_fast"),
            JAVA_FLOAT.withName("yarn_beta_slow"),
            JAVA_INT.withName("yarn_orig_ctx"),
            JAVA_FLOAT.withName("defrag_thold"),
            ADDRESS.withName("cb_eval"),
            ADDRESS.withName("cb_eval_user_data"),
            JAVA_INT.withName("type_k"),
            JAVA_INT.withName("type_v"),
            ADDRESS.withName("abort_callback"),
            ADDRESS.withName("abort_callback_data"),
            JAVA_BOOLEAN.withName("embeddings"),
            JAVA_BOOLEAN.withName("offload_kqv"),
            JAVA_BOOLEAN.withName("no_perf"),
            JAVA_BOOLEAN.withName("op_offload"),
            JAVA_BOOLEAN.withName("swa_full"),
            JAVA_BOOLEAN.withName("kv_unified"),
            paddingLayout(2),
            ADDRESS.withName("samplers"),
            JAVA_LONG.withName("n_samplers"),
            ADDRESS.withName("ctx_other")).withName("llama_context_params");

    /** {@code struct llama_batch}: 56 bytes, passed by value. */
    static final StructLayout BATCH = structLayout(
            JAVA_INT.withName("n_tokens"),
            paddingLayout(4),
            ADDRESS.withName("token"),
            ADDRESS.withName("embd"),
            ADDRESS.withName("pos"),
            ADDRESS.withName("n_seq_id"),
            ADDRESS.withName("seq_id"),
            ADDRESS.withName("logits")).withName("llama_batch");

    /** {@code struct ggml_threadpool_params}: 528 bytes, passed by pointer. */
    static final StructLayout THREADPOOL_PARAMS = structLayout(
            MemoryLayout.sequenceLayout(512, JAVA_BOOLEAN).withName("cpumask"),
            JAVA_INT.withName("n_threads"),
            JAVA_INT.withName("prio"),
            JAVA_INT.withName("poll"),
            JAVA_BOOLEAN.withName("strict_cpu"),
            JAVA_BOOLEAN.withName("paused"),
            paddingLayout(2)).withName("ggml_threadpool_params");

    /** {@code struct llama_sampler_chain_params}: one bool, passed by value (in a register). */
    static final StructLayout CHAIN_PARAMS = structLayout(JAVA_BOOLEAN.withName("no_perf"))
            .withName("llama_sampler_chain_params");

    /**
     * The defaults of release v0.5.0 ({@code llama_model_default_params} in {@code src/llama-model.cpp}) that
     * the model layout reads back: a field at a wrong offset reads something else.
     */
    static final Map<String, Object> MODEL_DEFAULTS = Map.ofEntries(
            Map.entry("n_gpu_layers", -1), Map.entry("split_mode", 1), Map.entry("load_mode", -1),
            Map.entry("lazy_mode", 1), Map.entry("main_gpu", 0), Map.entry("vocab_only", false),
            Map.entry("check_tensors", false), Map.entry("use_extra_bufts", true), Map.entry("no_host", false),
            Map.entry("no_alloc", false), Map.entry("load_mtp", false));

    /** The defaults of {@code llama_context_default_params} ({@code src/llama-context.cpp}) read back. */
    static final Map<String, Object> CONTEXT_DEFAULTS = Map.ofEntries(
            Map.entry("n_ctx", 512), Map.entry("n_batch", 2048), Map.entry("n_ubatch", 512),
            Map.entry("n_seq_max", 1), Map.entry("n_rs_seq", 0), Map.entry("n_outputs_max", 0),
            Map.entry("n_outputs_max_per_seq", 1), Map.entry("n_threads", 4), Map.entry("n_threads_batch", 4),
            Map.entry("rope_freq_base", 0.0f), Map.entry("yarn_ext_factor", -1.0f),
            Map.entry("yarn_beta_slow", -1.0f), Map.entry("yarn_orig_ctx", 0), Map.entry("defrag_thold", -1.0f),
            Map.entry("type_k", 1), Map.entry("type_v", 1), Map.entry("embeddings", false),
            Map.entry("offload_kqv", true), Map.entry("no_perf", true), Map.entry("op_offload", true),
            Map.entry("swa_full", true), Map.entry("kv_unified", false), Map.entry("n_samplers", 0L));

    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile LlamaCpp instance;

    private final Path directory;
    private final String version;
    private final String systemInfo;

    final MethodHandle modelDefaultParams;
    final MethodHandle contextDefaultParams;
    final MethodHandle chainDefaultParams;
    final MethodHandle modelLoadFromFile;
    final MethodHandle modelFree;
    final MethodHandle initFromModel;
    final MethodHandle free;
    final MethodHandle nCtx;
    final MethodHandle nBatch;
    final MethodHandle nUbatch;
    final MethodHandle nSeqMax;
    final MethodHandle nThreads;
    final MethodHandle nThreadsBatch;
    final MethodHandle getMemory;
    final MethodHandle modelGetVocab;
    final MethodHandle modelNCtxTrain;
    final MethodHandle modelSize;
    final MethodHandle modelMetaValStr;
    final MethodHandle modelChatTemplate;
    final MethodHandle vocabNTokens;
    final MethodHandle vocabIsEog;
    final MethodHandle vocabBos;
    final MethodHandle vocabEos;
    final MethodHandle vocabGetAddBos;
    final MethodHandle tokenize;
    final MethodHandle tokenToPiece;
    final MethodHandle decode;
    final MethodHandle getLogitsIth;
    final MethodHandle memorySeqRm;
    final MethodHandle memorySeqCp;
    final MethodHandle memoryClear;
    final MethodHandle memorySeqPosMax;
    final MethodHandle setAbortCallback;
    final MethodHandle samplerChainInit;
    final MethodHandle samplerChainAdd;
    final MethodHandle samplerInitGreedy;
    final MethodHandle samplerInitDist;
    final MethodHandle samplerInitTopK;
    final MethodHandle samplerInitTopP;
    final MethodHandle samplerInitMinP;
    final MethodHandle samplerInitTemp;
    final MethodHandle samplerInitPenalties;
    final MethodHandle samplerInitGrammar;
    final MethodHandle samplerSample;
    final MethodHandle samplerAccept;
    final MethodHandle samplerReset;
    final MethodHandle samplerFree;

    final MethodHandle threadpoolParamsInit;
    final MethodHandle threadpoolNew;
    final MethodHandle threadpoolFree;
    final MethodHandle attachThreadpool;
    final MethodHandle detachThreadpool;

    private LlamaCpp(Path directory, SymbolLookup llama, SymbolLookup ggml, SymbolLookup ggmlBase) throws Throwable {
        this.directory = directory;
        Binder b = new Binder(llama);
        MethodHandle llamaVersion = b.bind("llama_version", FunctionDescriptor.of(ADDRESS));
        this.version = cString((MemorySegment) llamaVersion.invokeExact());
        if (!version.startsWith(RELEASE)) {
            throw new LlamaException("the llama.cpp library in " + directory + " is release " + version
                    + "; this engine is written for " + RELEASE);
        }
        modelDefaultParams = b.bind("llama_model_default_params", FunctionDescriptor.of(MODEL_PARAMS));
        contextDefaultParams = b.bind("llama_context_default_params", FunctionDescriptor.of(CONTEXT_PARAMS));
        chainDefaultParams = b.bind("llama_sampler_chain_default_params", FunctionDescriptor.of(CHAIN_PARAMS));
        checkDefaults();

        // logs into SLF4J before anything else speaks
        MethodHandle logSet = b.bind("llama_log_set", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        MethodHandle logTarget = MethodHandles.lookup().findStatic(LlamaCpp.class, "log",
                MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class));
        MemorySegment logStub = LINKER.upcallStub(logTarget, FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS),
                Arena.global());
        logSet.invokeExact(logStub, MemorySegment.NULL);

        MethodHandle loadAll = new Binder(ggml).bind("ggml_backend_load_all_from_path", FunctionDescriptor.ofVoid(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            loadAll.invokeExact(arena.allocateFrom(directory.toString()));
        }
        MethodHandle backendInit = b.bind("llama_backend_init", FunctionDescriptor.ofVoid());
        backendInit.invokeExact();
        MethodHandle printSystemInfo = b.bind("llama_print_system_info", FunctionDescriptor.of(ADDRESS));
        this.systemInfo = cString((MemorySegment) printSystemInfo.invokeExact());

        modelLoadFromFile = b.bind("llama_model_load_from_file", FunctionDescriptor.of(ADDRESS, ADDRESS, MODEL_PARAMS));
        modelFree = b.bind("llama_model_free", FunctionDescriptor.ofVoid(ADDRESS));
        initFromModel = b.bind("llama_init_from_model", FunctionDescriptor.of(ADDRESS, ADDRESS, CONTEXT_PARAMS));
        free = b.bind("llama_free", FunctionDescriptor.ofVoid(ADDRESS));
        nCtx = b.critical("llama_n_ctx", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nBatch = b.critical("llama_n_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nUbatch = b.critical("llama_n_ubatch", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nSeqMax = b.critical("llama_n_seq_max", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nThreads = b.critical("llama_n_threads", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nThreadsBatch = b.critical("llama_n_threads_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getMemory = b.critical("llama_get_memory", FunctionDescriptor.of(ADDRESS, ADDRESS));
        modelGetVocab = b.critical("llama_model_get_vocab", FunctionDescriptor.of(ADDRESS, ADDRESS));
        modelNCtxTrain = b.critical("llama_model_n_ctx_train", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelSize = b.critical("llama_model_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        modelMetaValStr = b.bind("llama_model_meta_val_str",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        modelChatTemplate = b.bind("llama_model_chat_template", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        vocabNTokens = b.critical("llama_vocab_n_tokens", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabIsEog = b.critical("llama_vocab_is_eog", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT));
        vocabBos = b.critical("llama_vocab_bos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabEos = b.critical("llama_vocab_eos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabGetAddBos = b.critical("llama_vocab_get_add_bos", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS));
        tokenize = b.bind("llama_tokenize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        tokenToPiece = b.critical("llama_token_to_piece", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
        decode = b.bind("llama_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, BATCH));
        getLogitsIth = b.critical("llama_get_logits_ith", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        memorySeqRm = b.bind("llama_memory_seq_rm", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT));
        memorySeqCp = b.bind("llama_memory_seq_cp", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT));
        memoryClear = b.bind("llama_memory_clear", FunctionDescriptor.ofVoid(ADDRESS, JAVA_BOOLEAN));
        memorySeqPosMax = b.critical("llama_memory_seq_pos_max", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setAbortCallback = b.bind("llama_set_abort_callback", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        samplerChainInit = b.bind("llama_sampler_chain_init", FunctionDescriptor.of(ADDRESS, CHAIN_PARAMS));
        samplerChainAdd = b.bind("llama_sampler_chain_add", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        samplerInitGreedy = b.bind("llama_sampler_init_greedy", FunctionDescriptor.of(ADDRESS));
        samplerInitDist = b.bind("llama_sampler_init_dist", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        samplerInitTopK = b.bind("llama_sampler_init_top_k", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        samplerInitTopP = b.bind("llama_sampler_init_top_p", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
        samplerInitMinP = b.bind("llama_sampler_init_min_p", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
        samplerInitTemp = b.bind("llama_sampler_init_temp", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT));
        samplerInitPenalties = b.bind("llama_sampler_init_penalties", FunctionDescriptor.of(ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT));
        samplerInitGrammar = b.bind("llama_sampler_init_grammar", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS,
                ADDRESS));
        samplerSample = b.bind("llama_sampler_sample", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        samplerAccept = b.bind("llama_sampler_accept", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        samplerReset = b.bind("llama_sampler_reset", FunctionDescriptor.ofVoid(ADDRESS));
        samplerFree = b.bind("llama_sampler_free", FunctionDescriptor.ofVoid(ADDRESS));

        // a context's own CPU threadpool, as llama-server attaches one: without it ggml starts threads per decode
        threadpoolParamsInit = new Binder(ggmlBase).bind("ggml_threadpool_params_init",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        Binder g = new Binder(ggml);
        MethodHandle devByType = g.bind("ggml_backend_dev_by_type", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle devBackendReg = g.bind("ggml_backend_dev_backend_reg", FunctionDescriptor.of(ADDRESS, ADDRESS));
        MethodHandle regProcAddress = g.bind("ggml_backend_reg_get_proc_address",
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        int cpuDevice = 0; // GGML_BACKEND_DEVICE_TYPE_CPU
        MemorySegment device = (MemorySegment) devByType.invokeExact(cpuDevice);
        if (device.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp found no CPU backend in " + directory);
        }
        MemorySegment registry = (MemorySegment) devBackendReg.invokeExact(device);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment create = (MemorySegment) regProcAddress.invokeExact(registry,
                    arena.allocateFrom("ggml_threadpool_new"));
            MemorySegment destroy = (MemorySegment) regProcAddress.invokeExact(registry,
                    arena.allocateFrom("ggml_threadpool_free"));
            if (create.equals(MemorySegment.NULL) || destroy.equals(MemorySegment.NULL)) {
                throw new LlamaException("the CPU backend in " + directory + " has no threadpool functions");
            }
            threadpoolNew = LINKER.downcallHandle(create, FunctionDescriptor.of(ADDRESS, ADDRESS));
            threadpoolFree = LINKER.downcallHandle(destroy, FunctionDescriptor.ofVoid(ADDRESS));
            MemorySegment params = arena.allocate(THREADPOOL_PARAMS);
            threadpoolParamsInit.invokeExact(params, 3);
            List<String> wrong = mismatches(THREADPOOL_PARAMS, params, Map.of("n_threads", 3, "prio", 0, "poll", 50,
                    "strict_cpu", false, "paused", false));
            if (!wrong.isEmpty()) {
                throw new LlamaException("the ggml library in " + directory + " does not have the threadpool layout"
                        + " this engine writes: " + String.join("; ", wrong));
            }
        }
        attachThreadpool = b.bind("llama_attach_threadpool", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        detachThreadpool = b.bind("llama_detach_threadpool", FunctionDescriptor.ofVoid(ADDRESS));
    }

    /**
     * The library of {@code natives}, loaded on first use (later calls return the same one: a process holds one
     * llama.cpp).
     *
     * @throws LlamaException when the directory lacks the libraries, or they are another release or layout
     */
    public static LlamaCpp open(LlamaNatives natives) {
        LlamaCpp loaded = instance;
        if (loaded != null) {
            // one llama.cpp per process: the directory asked for must still hold it
            natives.requireDirectory();
            return loaded;
        }
        synchronized (LlamaCpp.class) {
            if (instance == null) {
                Path directory = natives.requireDirectory();
                try {
                    SymbolLookup llama = SymbolLookup.libraryLookup(directory.resolve(LlamaNatives.LLAMA), Arena.global());
                    SymbolLookup ggml = SymbolLookup.libraryLookup(directory.resolve(LlamaNatives.GGML), Arena.global());
                    SymbolLookup ggmlBase = SymbolLookup.libraryLookup(directory.resolve(LlamaNatives.GGML_BASE),
                            Arena.global());
                    instance = new LlamaCpp(directory, llama, ggml, ggmlBase);
                    LOG.info("llama.cpp {} from {}: {}", instance.version, directory, instance.systemInfo.strip());
                } catch (LlamaException e) {
                    throw e;
                } catch (IllegalArgumentException e) {
                    throw new LlamaException("the llama.cpp libraries in " + directory + " cannot be loaded: "
                            + e.getMessage());
                } catch (Throwable e) {
                    throw new LlamaException("the llama.cpp libraries in " + directory + " cannot be bound: " + e);
                }
            }
            return instance;
        }
    }

    private static final MethodHandle MALLOC_TRIM = LINKER.defaultLookup().find("malloc_trim")
            .map(symbol -> LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, JAVA_LONG))).orElse(null);

    /**
     * Gives the memory a freed model and context leave in glibc's heaps back to the system ({@code malloc_trim}):
     * glibc keeps freed chunks of each thread's arena, and a model loaded and freed again would otherwise leave
     * its cache's size resident in some arena each time. Does nothing where there is no glibc.
     */
    public static void releaseFreedMemory() {
        if (MALLOC_TRIM != null) {
            try {
                int ignored = (int) MALLOC_TRIM.invokeExact(0L);
            } catch (Throwable e) {
                LOG.debug("malloc_trim failed", e);
            }
        }
    }

    public String version() {
        return version;
    }

    public Path directory() {
        return directory;
    }

    /** What llama.cpp says of the CPU features it uses. */
    public String systemInfo() {
        return systemInfo;
    }

    // ---- layout checks ------------------------------------------------------------------------------------------

    private void checkDefaults() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment model = (MemorySegment) modelDefaultParams.invokeExact((java.lang.foreign.SegmentAllocator) arena);
            MemorySegment context = (MemorySegment) contextDefaultParams.invokeExact((java.lang.foreign.SegmentAllocator) arena);
            List<String> wrong = new ArrayList<>();
            wrong.addAll(mismatches(MODEL_PARAMS, model, MODEL_DEFAULTS));
            wrong.addAll(mismatches(CONTEXT_PARAMS, context, CONTEXT_DEFAULTS));
            for (String pointer : List.of("devices", "tensor_buft_overrides", "tensor_split", "progress_callback",
                    "kv_overrides")) {
                if (!get(MODEL_PARAMS, model, pointer).equals(MemorySegment.NULL)) {
                    wrong.add("llama_model_params." + pointer + " is not NULL");
                }
            }
            for (String pointer : List.of("cb_eval", "abort_callback", "samplers", "ctx_other")) {
                if (!get(CONTEXT_PARAMS, context, pointer).equals(MemorySegment.NULL)) {
                    wrong.add("llama_context_params." + pointer + " is not NULL");
                }
            }
            if (!wrong.isEmpty()) {
                throw new LlamaException("the llama.cpp library in " + directory + " (" + version
                        + ") does not have the struct layouts this engine writes: " + String.join("; ", wrong));
            }
        }
    }

    /**
     * The fields of {@code segment}, read through {@code layout}, that differ from {@code expected}: empty when
     * the layout matches the library that filled it.
     */
    static List<String> mismatches(StructLayout layout, MemorySegment segment, Map<String, Object> expected) {
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Object> field : expected.entrySet()) {
            Object actual = get(layout, segment, field.getKey());
            if (!field.getValue().equals(actual)) {
                wrong.add(layout.name().orElse("struct") + "." + field.getKey() + " reads " + actual + ", expected "
                        + field.getValue());
            }
        }
        return wrong;
    }

    /** A field of a struct by name, boxed (a pointer as a zero-length segment). */
    static Object get(StructLayout layout, MemorySegment segment, String field) {
        MemoryLayout member = layout.select(MemoryLayout.PathElement.groupElement(field));
        long offset = layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
        return switch (member) {
            case java.lang.foreign.ValueLayout.OfInt ignored -> segment.get(JAVA_INT, offset);
            case java.lang.foreign.ValueLayout.OfFloat ignored -> segment.get(JAVA_FLOAT, offset);
            case java.lang.foreign.ValueLayout.OfBoolean ignored -> segment.get(JAVA_BOOLEAN, offset);
            case java.lang.foreign.ValueLayout.OfLong ignored -> segment.get(JAVA_LONG, offset);
            case java.lang.foreign.AddressLayout ignored -> segment.get(ADDRESS, offset);
            default -> throw new IllegalArgumentException("no reader for " + member);
        };
    }

    /** Writes a field of a struct by name. */
    static void set(StructLayout layout, MemorySegment segment, String field, Object value) {
        MemoryLayout member = layout.select(MemoryLayout.PathElement.groupElement(field));
        long offset = layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
        switch (member) {
            case java.lang.foreign.ValueLayout.OfInt ignored -> segment.set(JAVA_INT, offset, (Integer) value);
            case java.lang.foreign.ValueLayout.OfFloat ignored -> segment.set(JAVA_FLOAT, offset, (Float) value);
            case java.lang.foreign.ValueLayout.OfBoolean ignored -> segment.set(JAVA_BOOLEAN, offset, (Boolean) value);
            case java.lang.foreign.ValueLayout.OfLong ignored -> segment.set(JAVA_LONG, offset, (Long) value);
            case java.lang.foreign.AddressLayout ignored -> segment.set(ADDRESS, offset, (MemorySegment) value);
            default -> throw new IllegalArgumentException("no writer for " + member);
        }
    }

    // ---- callbacks ----------------------------------------------------------------------------------------------

    /** {@code ggml_log_callback}: never throws into native code. */
    private static void log(int level, MemorySegment text, MemorySegment userData) {
        try {
            String line = cString(text).strip();
            if (line.isEmpty()) {
                return;
            }
            switch (level) {
                case 3 -> NATIVE_LOG.warn(line);
                case 4 -> NATIVE_LOG.error(line);
                default -> NATIVE_LOG.debug(line); // debug, info (a model load says much), continuation
            }
        } catch (Throwable ignored) {
            // nothing may escape into llama.cpp
        }
    }

    static String cString(MemorySegment pointer) {
        if (pointer.equals(MemorySegment.NULL)) {
            return "";
        }
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Binds the functions of one library, failing with the missing symbol's name. */
    private record Binder(SymbolLookup lookup) {
        MethodHandle bind(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(symbol(name), descriptor);
        }

        /** A short call that never calls back nor blocks: no thread-state transition. */
        MethodHandle critical(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(false));
        }

        private MemorySegment symbol(String name) {
            return lookup.find(name).orElseThrow(() -> new LlamaException("the llama.cpp library has no function "
                    + name + ": it is not release " + RELEASE));
        }
    }

}
