package dev.atrium.engine.llama;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The binding against the real llama.cpp v0.5.0 libraries ({@code scripts/llama-natives.sh}) and the GGUF
 * models beside the project.
 */
class LlamaCppTest {
    static final Path COMPLETION_MODEL = Path.of("../shared/models/random-15M-q8_0.gguf");
    static final Path CHAT_MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");
    private static LlamaCpp cpp;

    @BeforeAll
    static void open() {
        cpp = openOrSkip("LlamaCppTest");
    }

    /** The real library and model, or the test class skipped with the reason printed. */
    static LlamaCpp openOrSkip(String test) {
        LlamaNatives natives = LlamaNatives.defaults();
        boolean present = natives.present() && Files.isRegularFile(COMPLETION_MODEL);
        if (!present) {
            System.out.println(test + ": skipped: needs the llama.cpp libraries in " + natives.path()
                    + " (scripts/llama-natives.sh, which ./atrium and .ci/run call) and " + COMPLETION_MODEL);
        }
        assumeTrue(present, "llama.cpp or the GGUF model is missing");
        return LlamaCpp.open(natives);
    }

    @Test
    void open_theRecordedRelease_passesItsLayoutChecks() {
        assertThat(cpp.version()).startsWith(LlamaCpp.RELEASE);
        assertThat(LlamaCpp.MODEL_PARAMS.byteSize()).isEqualTo(80);
        assertThat(LlamaCpp.CONTEXT_PARAMS.byteSize()).isEqualTo(160);
        assertThat(LlamaCpp.BATCH.byteSize()).isEqualTo(56);
        assertThat(LlamaCpp.CHAIN_PARAMS.byteSize()).isEqualTo(1);
    }

    @Test
    void layoutCheck_aLayoutWithAFieldMoved_isCaughtByItsDefaults() throws Throwable {
        // the model params as a release that moved main_gpu before the enums would lay them out
        StructLayout moved = structLayout(ADDRESS.withName("devices"), ADDRESS.withName("tensor_buft_overrides"),
                JAVA_INT.withName("main_gpu"), JAVA_INT.withName("n_gpu_layers"), JAVA_INT.withName("split_mode"),
                JAVA_INT.withName("load_mode"), JAVA_INT.withName("lazy_mode"), paddingLayout(4),
                ADDRESS.withName("tensor_split"), ADDRESS.withName("progress_callback"),
                ADDRESS.withName("progress_callback_user_data"), ADDRESS.withName("kv_overrides"),
                JAVA_BOOLEAN.withName("vocab_only"), JAVA_BOOLEAN.withName("check_tensors"),
                JAVA_BOOLEAN.withName("use_extra_bufts"), JAVA_BOOLEAN.withName("no_host"),
                JAVA_BOOLEAN.withName("no_alloc"), JAVA_BOOLEAN.withName("load_mtp"), paddingLayout(2))
                .withName("llama_model_params");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment defaults = (MemorySegment) cpp.modelDefaultParams.invokeExact((SegmentAllocator) arena);
            assertThat(LlamaCpp.mismatches(LlamaCpp.MODEL_PARAMS, defaults, LlamaCpp.MODEL_DEFAULTS)).isEmpty();
            assertThat(LlamaCpp.mismatches(moved, defaults, LlamaCpp.MODEL_DEFAULTS))
                    .anySatisfy(wrong -> assertThat(wrong).contains("main_gpu"))
                    .anySatisfy(wrong -> assertThat(wrong).contains("n_gpu_layers"));
            MemorySegment context = (MemorySegment) cpp.contextDefaultParams.invokeExact((SegmentAllocator) arena);
            assertThat(LlamaCpp.mismatches(LlamaCpp.CONTEXT_PARAMS, context, LlamaCpp.CONTEXT_DEFAULTS)).isEmpty();
        }
    }

    @Test
    void natives_inADirectoryWithoutTheLibraries_nameWhatIsMissing(@TempDir Path empty) {
        LlamaNatives natives = LlamaNatives.at(empty);
        assertThat(natives.present()).isFalse();
        assertThatThrownBy(natives::requireDirectory).isInstanceOf(LlamaException.class)
                .hasMessageContaining("libllama.v0.5.0.so").hasMessageContaining("scripts/llama-natives.sh");
    }

    @Test
    void tokenize_thenPieces_giveTheTextBack() {
        try (LlamaModel model = load()) {
            int[] tokens = model.tokenize("Once upon a time, in Zürich", true, false);
            assertThat(tokens[0]).isEqualTo(model.bos());
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            for (int i = 1; i < tokens.length; i++) {
                text.writeBytes(model.piece(tokens[i], false));
            }
            assertThat(text.toString(StandardCharsets.UTF_8).strip()).isEqualTo("Once upon a time, in Zürich");
            assertThat(model.vocabularySize()).isEqualTo(32000);
            assertThat(model.metadata("general.architecture")).contains("llama");
            assertThat(model.metadata("no.such.key")).isEmpty();
        }
    }

    @Test
    void generate_greedily_isTheSameAloneAndBesideAnotherSequence() {
        try (LlamaModel model = load();
                LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(1024, 256, 2, 2))) {
            int[] prompt = model.tokenize("Once upon a time", true, false);
            int[] other = model.tokenize("The weather today", true, false);
            List<Integer> alone = generate(model, context, List.of(prompt), 24).getFirst();
            context.clear();
            List<List<Integer>> together = generate(model, context, List.of(prompt, other), 24);
            assertThat(together.getFirst()).isEqualTo(alone);
            assertThat(together.get(1)).isNotEqualTo(alone);
            context.clear();
            assertThat(generate(model, context, List.of(other), 24).getFirst()).isEqualTo(together.get(1));
        }
    }

    @Test
    void removeSequence_freesItsCacheAndTheSequenceServesAgain() {
        try (LlamaModel model = load();
                LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(512, 128, 1, 2))) {
            int[] prompt = model.tokenize("Once upon a time", true, false);
            List<Integer> first = generate(model, context, List.of(prompt), 8).getFirst();
            assertThat(context.lastPosition(0)).isEqualTo(prompt.length + 8 - 2);
            context.removeSequence(0);
            assertThat(context.lastPosition(0)).isEqualTo(-1);
            assertThat(generate(model, context, List.of(prompt), 8).getFirst()).isEqualTo(first);
        }
    }

    @Test
    void abort_beforeADecode_makesItReturnAborted() {
        try (LlamaModel model = load();
                LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(512, 128, 1, 2))) {
            int[] prompt = model.tokenize("Once upon a time there was a king who had three daughters", true, false);
            for (int i = 0; i < prompt.length; i++) {
                context.batch().add(prompt[i], i, 0, i == prompt.length - 1);
            }
            context.abort();
            assertThat(context.decode()).isEqualTo(LlamaContext.DecodeResult.ABORTED);
            context.batch().add(prompt[0], 0, 0, true);
            assertThat(context.decode()).isEqualTo(LlamaContext.DecodeResult.OK);
        }
    }

    @Test
    void twentyLoadsAndFrees_leaveResidentMemoryFlat() throws Exception {
        try (LlamaModel warm = load()) {
            LlamaContext.create(warm, new LlamaContext.Settings(512, 128, 1, 2)).close();
        }
        System.gc(); // the Java heap's own growth is not what is measured
        long before = residentBytes();
        for (int i = 0; i < 20; i++) {
            try (LlamaModel model = load();
                    LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(512, 128, 1, 2))) {
                generate(model, context, List.of(model.tokenize("Once", true, false)), 2);
            }
        }
        System.gc();
        long grown = residentBytes() - before;
        System.out.println("LlamaCppTest: resident memory after 20 load/free cycles grew " + grown / 1024 + " KiB"
                + " (the model's file is " + Files.size(COMPLETION_MODEL) / 1024 + " KiB)");
        // a leaked model would add its 26 MB (plus its context) each time: 20 of them over 500 MB
        assertThat(grown).isLessThan(Files.size(COMPLETION_MODEL) * 2);
    }

    @Test
    void context_refusedByLlama_isAClearError() {
        try (LlamaModel model = load()) {
            assertThatThrownBy(() -> LlamaContext.create(model, new LlamaContext.Settings(512, 128, 100_000, 2)))
                    .isInstanceOf(LlamaException.class);
        }
    }

    @Test
    void load_aFileThatIsNotGguf_isAClearError(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("not.gguf"), "GGUF but not really".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> LlamaModel.load(cpp, file, LlamaModel.Options.inference(false)))
                .isInstanceOf(LlamaException.class).hasMessageNotContaining("0x");
    }

    static LlamaModel load() {
        return LlamaModel.load(cpp, COMPLETION_MODEL, LlamaModel.Options.inference(false));
    }

    /** Greedy generation of {@code count} tokens for each prompt, decoded together (sequence i for prompt i). */
    static List<List<Integer>> generate(LlamaModel model, LlamaContext context, List<int[]> prompts, int count) {
        List<List<Integer>> outputs = new ArrayList<>();
        List<LlamaSampler> samplers = new ArrayList<>();
        int[] positions = new int[prompts.size()];
        int[] indices = new int[prompts.size()];
        try {
            for (int s = 0; s < prompts.size(); s++) {
                samplers.add(LlamaSampler.create(model, LlamaSampler.Settings.greedy()));
                outputs.add(new ArrayList<>());
                int[] prompt = prompts.get(s);
                for (int i = 0; i < prompt.length; i++) {
                    indices[s] = context.batch().add(prompt[i], positions[s]++, s, i == prompt.length - 1);
                }
            }
            assertThat(context.decode()).isEqualTo(LlamaContext.DecodeResult.OK);
            for (int step = 0; step < count; step++) {
                int[] next = new int[prompts.size()];
                for (int s = 0; s < prompts.size(); s++) {
                    next[s] = context.sample(samplers.get(s), indices[s]);
                    outputs.get(s).add(next[s]);
                }
                if (step == count - 1) {
                    break;
                }
                for (int s = 0; s < prompts.size(); s++) {
                    indices[s] = context.batch().add(next[s], positions[s]++, s, true);
                }
                assertThat(context.decode()).isEqualTo(LlamaContext.DecodeResult.OK);
            }
            return outputs;
        } finally {
            samplers.forEach(LlamaSampler::close);
        }
    }

    /** This process's resident memory, from /proc. */
    static long residentBytes() throws java.io.IOException {
        String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
        return Long.parseLong(statm[1]) * 4096;
    }
}
