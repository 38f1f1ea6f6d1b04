package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.ProgressWatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Continuous batching on the real llama.cpp with {@code random-15M-q8_0.gguf} (see {@link LlamaCppTest}). */
class DecodeLoopTest {
    private static LlamaCpp cpp;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final AtomicLong started = new AtomicLong();

    @BeforeAll
    static void open() {
        cpp = LlamaCppTest.openOrSkip("DecodeLoopTest");
    }

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private record Run(String text, GenerationEvent.Done done) {}

    private DecodeLoop loop(int slots, int queue, int prefillBudget) {
        LlamaModel model = LlamaModel.load(cpp, LlamaCppTest.COMPLETION_MODEL, LlamaModel.Options.inference(false));
        open.add(model);
        LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(slots * 256, 256, slots, 2));
        open.add(context);
        DecodeLoop loop = new DecodeLoop("test", model, context, new DecodeLoop.Settings(slots, 256, queue,
                prefillBudget), new ProgressWatch(Duration.ofSeconds(30), System::nanoTime), started);
        open.add(loop);
        return loop;
    }

    private int[] prompt(DecodeLoop loop, String text) {
        LlamaModel model = (LlamaModel) open.stream().filter(LlamaModel.class::isInstance).reduce((a, b) -> b).orElseThrow();
        return model.tokenize(text, true, false);
    }

    private static Run drain(DecodeLoop.Sequence sequence) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        while (true) {
            GenerationEvent event = sequence.next(Duration.ofSeconds(30));
            assertThat(event).as("an event within 30 s").isNotNull();
            switch (event) {
                case GenerationEvent.Text piece -> text.append(piece.text());
                case GenerationEvent.Done done -> {
                    return new Run(text.toString(), done);
                }
                case GenerationEvent.Failure failure -> throw new AssertionError("failed: " + failure.message());
            }
        }
    }

    @Test
    void oneGeneration_runsToItsLength() throws Exception {
        DecodeLoop loop = loop(2, 4, 64);
        Run run = drain(loop.submit(prompt(loop, "Once upon a time"), 16, List.of(), LlamaSampler.Settings.greedy()));
        assertThat(run.done().finishReason()).isEqualTo("length");
        assertThat(run.done().completionTokens()).isEqualTo(16);
        assertThat(run.text()).isNotBlank();
        assertThat(started).hasValue(1);
    }

    @Test
    void sixteenConcurrentGenerationsOnFourSlots_eachGivesWhatItGivesAlone() throws Exception {
        DecodeLoop loop = loop(4, 16, 64);
        List<String> prompts = List.of("Once upon a time", "The weather today", "In a distant galaxy", "My favourite",
                "Tom and Lily", "She opened the door", "A long time ago", "The little dog", "Every morning",
                "The king said", "Under the bridge", "Max found a box", "It was raining", "The robot looked",
                "On the hill", "Grandma baked");
        List<String> alone = new ArrayList<>();
        for (String prompt : prompts) {
            alone.add(drain(loop.submit(prompt(loop, prompt), 24, List.of(), LlamaSampler.Settings.greedy())).text());
        }
        List<DecodeLoop.Sequence> together = new ArrayList<>();
        for (String prompt : prompts) {
            together.add(loop.submit(prompt(loop, prompt), 24, List.of(), LlamaSampler.Settings.greedy()));
        }
        for (int i = 0; i < prompts.size(); i++) {
            assertThat(drain(together.get(i)).text()).as(prompts.get(i)).isEqualTo(alone.get(i));
        }
    }

    @Test
    void aSharedPrefix_isTakenFromASlotsCache_andGivesTheSameOutput() throws Exception {
        String system = "You are a storyteller. You tell short stories about animals who live in the forest, and"
                + " every story ends well. ";
        DecodeLoop fresh = loop(2, 4, 256);
        String expected = drain(fresh.submit(prompt(fresh, system + "Tell me about a fox."), 16, List.of(),
                LlamaSampler.Settings.greedy())).text();

        DecodeLoop loop = loop(2, 4, 256);
        drain(loop.submit(prompt(loop, system + "Tell me about a bear."), 16, List.of(), LlamaSampler.Settings.greedy()));
        long reusedBefore = loop.reusedTokens();
        int[] fox = prompt(loop, system + "Tell me about a fox.");
        Run run = drain(loop.submit(fox, 16, List.of(), LlamaSampler.Settings.greedy()));
        long reused = loop.reusedTokens() - reusedBefore;
        int prefix = prompt(loop, system).length - 1;
        System.out.println("DecodeLoopTest: a " + fox.length + "-token prompt took " + reused + " tokens from the cache");
        assertThat(reused).isGreaterThanOrEqualTo(prefix - 1).isLessThan(fox.length);
        assertThat(run.text()).isEqualTo(expected);

        // the same prompt again: all but its last token from the cache, the same text
        long before = loop.reusedTokens();
        assertThat(drain(loop.submit(fox, 16, List.of(), LlamaSampler.Settings.greedy())).text()).isEqualTo(expected);
        assertThat(loop.reusedTokens() - before).isEqualTo(fox.length - 1);
    }

    @Test
    void aPromptLongerThanThePrefillBudget_isPrefilledInChunksToTheSameOutput() throws Exception {
        String text = "Once upon a time there was a little girl who lived in a village near the forest. Whenever she"
                + " went out, the little girl wore a red riding cloak, so everyone in the village called her";
        DecodeLoop chunked = loop(2, 4, 7);
        String inChunks = drain(chunked.submit(prompt(chunked, text), 16, List.of(), LlamaSampler.Settings.greedy())).text();
        DecodeLoop whole = loop(2, 4, 256);
        assertThat(prompt(whole, text).length).isGreaterThan(30);
        assertThat(drain(whole.submit(prompt(whole, text), 16, List.of(), LlamaSampler.Settings.greedy())).text())
                .isEqualTo(inChunks);
    }

    @Test
    void cancel_whileRunning_freesTheSlotWithin100ms_andTheSlotServesTheNext() throws Exception {
        DecodeLoop loop = loop(1, 4, 64);
        DecodeLoop.Sequence running = loop.submit(prompt(loop, "Once upon a time"), 200, List.of(),
                LlamaSampler.Settings.greedy());
        assertThat(running.next(Duration.ofSeconds(30))).isInstanceOf(GenerationEvent.Text.class);
        long cancelledAt = System.nanoTime();
        running.cancel();
        GenerationEvent.Done done = null;
        while (done == null) {
            GenerationEvent event = running.next(Duration.ofSeconds(5));
            assertThat(event).isNotNull();
            if (event instanceof GenerationEvent.Done d) {
                done = d;
            }
        }
        long millis = (System.nanoTime() - cancelledAt) / 1_000_000;
        System.out.println("DecodeLoopTest: a running generation stopped " + millis + " ms after its cancel");
        assertThat(done.finishReason()).isEqualTo("cancelled");
        assertThat(done.completionTokens()).isBetween(1, 199);
        assertThat(millis).isLessThan(100);
        Run next = drain(loop.submit(prompt(loop, "The weather today"), 8, List.of(), LlamaSampler.Settings.greedy()));
        assertThat(next.done().completionTokens()).isEqualTo(8);
    }

    @Test
    void cancel_whileWaiting_neverReachesTheModel() throws Exception {
        DecodeLoop loop = loop(1, 4, 64);
        DecodeLoop.Sequence first = loop.submit(prompt(loop, "Once upon a time"), 200, List.of(),
                LlamaSampler.Settings.greedy());
        assertThat(first.next(Duration.ofSeconds(30))).isNotNull();
        DecodeLoop.Sequence second = loop.submit(prompt(loop, "The weather"), 8, List.of(), LlamaSampler.Settings.greedy());
        second.cancel();
        first.cancel();
        Run run = drain(second);
        assertThat(run.done().finishReason()).isEqualTo("cancelled");
        assertThat(run.done().completionTokens()).isZero();
        assertThat(started).as("generations that reached the model").hasValue(1);
    }

    @Test
    void aFullQueue_refusesWith503() throws Exception {
        DecodeLoop loop = loop(1, 1, 64);
        DecodeLoop.Sequence first = loop.submit(prompt(loop, "Once"), 200, List.of(), LlamaSampler.Settings.greedy());
        assertThat(first.next(Duration.ofSeconds(30))).isNotNull();
        loop.submit(prompt(loop, "Twice"), 8, List.of(), LlamaSampler.Settings.greedy());
        assertThatThrownBy(() -> loop.submit(prompt(loop, "Thrice"), 8, List.of(), LlamaSampler.Settings.greedy()))
                .isInstanceOf(AtriumException.class).hasMessageContaining("queue is full");
        first.cancel();
    }

    @Test
    void aStopSequence_endsTheTextBeforeIt() throws Exception {
        DecodeLoop loop = loop(1, 4, 64);
        String full = drain(loop.submit(prompt(loop, "Once upon a time"), 32, List.of(), LlamaSampler.Settings.greedy())).text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        Run stopped = drain(loop.submit(prompt(loop, "Once upon a time"), 32, List.of(stop), LlamaSampler.Settings.greedy()));
        assertThat(stopped.done().finishReason()).isEqualTo("stop");
        assertThat(stopped.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
    }

    @Test
    void close_cutsRunningGenerationsWithAFailure_andRefusesNewOnes() throws Exception {
        DecodeLoop loop = loop(1, 4, 64);
        DecodeLoop.Sequence running = loop.submit(prompt(loop, "Once upon a time"), 200, List.of(),
                LlamaSampler.Settings.greedy());
        assertThat(running.next(Duration.ofSeconds(30))).isNotNull();
        loop.close();
        GenerationEvent last = null;
        for (GenerationEvent event = running.next(Duration.ofSeconds(5)); event != null;
                event = running.next(Duration.ofMillis(100))) {
            last = event;
        }
        assertThat(last).isInstanceOf(GenerationEvent.Failure.class);
        assertThatThrownBy(() -> loop.submit(prompt(loop, "Again"), 8, List.of(), LlamaSampler.Settings.greedy()))
                .isInstanceOf(AtriumException.class).hasMessageContaining("being unloaded");
    }
}
