package dev.atrium.engine.llama;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.Generation;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.ProgressWatch;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching for one loaded model: one platform thread, a table of {@code slots} sequences (one KV-cache
 * sequence each), and a bounded queue of generations waiting for a slot. Each step is one {@code llama_decode} of
 * one batch holding the next token of every running sequence and, within what room is left and the prefill
 * budget, chunks of the prompts of newly admitted ones, so that a long prompt never stalls the running streams.
 * Generations join between steps; a finished or cancelled one leaves at the next step and its cache is freed.
 */
public final class DecodeLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);

    /**
     * @param slots sequences decoded together
     * @param contextPerSlot tokens of cache per sequence: prompt plus output
     * @param queueCapacity generations that may wait for a slot
     * @param prefillBudget prompt tokens one step may take (the batch's room caps it too)
     */
    public record Settings(int slots, int contextPerSlot, int queueCapacity, int prefillBudget) {
        public Settings {
            if (slots < 1 || contextPerSlot < 2 || queueCapacity < 0 || prefillBudget < 1) {
                throw new IllegalArgumentException("invalid decode loop settings: " + this);
            }
        }
    }

    private final String name;
    private final LlamaModel model;
    private final LlamaContext context;
    private final Settings settings;
    private final ProgressWatch progress;
    private final AtomicLong started;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Running sequences by slot; only the loop's thread touches it. */
    private final Sequence[] running;
    /**
     * Per slot, the tokens whose keys and values its cache holds, at positions 0 to {@code cachedLength - 1}: what
     * a finished generation leaves for the next one with the same prefix (a system prompt, a conversation so far).
     * The loop's thread only.
     */
    private final int[][] cachedTokens;
    private final int[] cachedLength;
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong reusedTokens = new AtomicLong();
    private final Thread thread;
    private volatile boolean closing;

    public DecodeLoop(String name, LlamaModel model, LlamaContext context, Settings settings, ProgressWatch progress,
            AtomicLong started) {
        this.name = name;
        this.model = model;
        this.context = context;
        this.settings = settings;
        this.progress = progress;
        this.started = started;
        this.running = new Sequence[settings.slots()];
        this.cachedTokens = new int[settings.slots()][settings.contextPerSlot()];
        this.cachedLength = new int[settings.slots()];
        this.thread = Thread.ofPlatform().name("llama-decode-" + name).daemon(true).start(this::loop);
    }

    /**
     * Queues a generation for a slot.
     *
     * @param prompt the prompt's tokens; with {@code maxTokens} within the context per slot
     * @throws AtriumException 503 with {@code Retry-After} when the queue is full or the model is being unloaded
     */
    public Sequence submit(int[] prompt, int maxTokens, List<String> stop, LlamaSampler.Settings sampling) {
        if (prompt.length < 1 || (long) prompt.length + maxTokens > settings.contextPerSlot()) {
            throw new IllegalArgumentException("the prompt and its output do not fit a slot");
        }
        Sequence sequence = new Sequence(prompt, maxTokens, stop, sampling);
        lock.lock();
        try {
            if (closing) {
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "model '" + name + "' is being unloaded", 1);
            }
            if (waiting.size() >= settings.queueCapacity() && freeSlots() == 0) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "every slot of model '" + name
                        + "' is busy and its queue is full; retry shortly", 1);
            }
            waiting.addLast(sequence);
            progress.accepted();
            work.signal();
        } finally {
            lock.unlock();
        }
        return sequence;
    }

    /** Generations waiting for a slot. */
    public int queueDepth() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** Prompt tokens of the generations that started, in all. */
    long promptTokens() {
        return promptTokens.get();
    }

    /** Of those, the tokens found in a slot's cache (a shared prefix) instead of computed again. */
    long reusedTokens() {
        return reusedTokens.get();
    }

    /** Slots not taken; read without the loop's cooperation, so a moment stale. */
    private int freeSlots() {
        int free = 0;
        for (Sequence sequence : running) {
            if (sequence == null) {
                free++;
            }
        }
        return free;
    }

    // ---- the loop -----------------------------------------------------------------------------------------------

    private void loop() {
        try {
            while (true) {
                if (!admit()) {
                    return;
                }
                step();
            }
        } catch (RuntimeException | Error e) {
            LOG.error("the decode loop of {} failed; its generations fail", name, e);
            failAll("the model failed while generating");
        }
    }

    /** Takes waiting generations into free slots, or waits for work; false once closed with nothing left. */
    private boolean admit() {
        lock.lock();
        try {
            while (true) {
                // a generation whose caller left while it waited never reaches the model
                waiting.removeIf(sequence -> {
                    if (sequence.cancelled) {
                        sequence.events.add(new GenerationEvent.Done("cancelled", 0, 0));
                        progress.finished();
                        return true;
                    }
                    return false;
                });
                while (!waiting.isEmpty()) {
                    Sequence sequence = waiting.peekFirst();
                    int slot = bestFreeSlot(sequence.prompt);
                    if (slot < 0) {
                        break;
                    }
                    waiting.pollFirst();
                    try {
                        sequence.begin(slot, reuse(slot, sequence.prompt));
                        running[slot] = sequence;
                    } catch (LlamaException e) {
                        LOG.warn("a generation of {} could not start: {}", name, e.getMessage());
                        sequence.events.add(new GenerationEvent.Failure("the model could not start the generation"));
                        progress.finished();
                    }
                }
                boolean any = false;
                for (Sequence sequence : running) {
                    any |= sequence != null;
                }
                if (any) {
                    return true;
                }
                if (closing) {
                    return false;
                }
                work.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The free slot whose cache shares the longest prefix with the prompt; −1 when none is free. */
    private int bestFreeSlot(int[] prompt) {
        int best = -1;
        int bestShared = -1;
        for (int slot = 0; slot < running.length; slot++) {
            if (running[slot] == null) {
                int shared = sharedPrefix(slot, prompt);
                if (shared > bestShared) {
                    best = slot;
                    bestShared = shared;
                }
            }
        }
        return best;
    }

    private int sharedPrefix(int slot, int[] prompt) {
        int limit = Math.min(cachedLength[slot], prompt.length);
        int shared = 0;
        while (shared < limit && cachedTokens[slot][shared] == prompt[shared]) {
            shared++;
        }
        return shared;
    }

    /**
     * Keeps the part of the slot's cache the prompt starts with (at least its last token is computed again, for
     * its logits) and drops the rest; returns how many prompt tokens need no computing.
     */
    private int reuse(int slot, int[] prompt) {
        int shared = Math.min(sharedPrefix(slot, prompt), prompt.length - 1);
        if (shared < cachedLength[slot] && !context.truncateSequence(slot, shared)) {
            context.removeSequence(slot); // a model whose cache cannot be cut partway
            shared = 0;
        }
        cachedLength[slot] = shared;
        promptTokens.addAndGet(prompt.length);
        reusedTokens.addAndGet(shared);
        return shared;
    }

    /** Adds a sequence's token to the batch, and to what its slot's cache will hold. */
    private int add(LlamaContext.Batch batch, Sequence sequence, int token, boolean logits) {
        int position = sequence.position++;
        cachedTokens[sequence.slot][position] = token;
        cachedLength[sequence.slot] = position + 1;
        return batch.add(token, position, sequence.slot, logits);
    }

    /** One decode: every running sequence's next token, then prompt chunks within the room left. */
    private void step() {
        LlamaContext.Batch batch = context.batch();
        List<Sequence> sampled = new ArrayList<>();
        for (Sequence sequence : running) {
            if (sequence != null && closing) {
                fail(sequence, "the model is being unloaded");
            } else if (sequence != null && sequence.cancelled) {
                finish(sequence, "cancelled");
            }
        }
        for (Sequence sequence : running) {
            if (sequence != null && sequence.decoding()) {
                sequence.batchIndex = add(batch, sequence, sequence.lastToken, true);
                sampled.add(sequence);
            }
        }
        int budget = Math.min(settings.prefillBudget(), batch.room());
        for (Sequence sequence : running) {
            if (sequence == null || sequence.decoding() || budget == 0) {
                continue;
            }
            int chunk = Math.min(budget, sequence.prompt.length - sequence.prefilled);
            for (int i = 0; i < chunk; i++) {
                boolean last = sequence.prefilled + 1 == sequence.prompt.length;
                int index = add(batch, sequence, sequence.prompt[sequence.prefilled++], last);
                if (last) {
                    sequence.batchIndex = index;
                    sampled.add(sequence);
                }
            }
            budget -= chunk;
        }
        if (batch.size() == 0) {
            return; // every running sequence finished or was cancelled at the top of this step
        }
        LlamaContext.DecodeResult result = context.decode();
        if (result != LlamaContext.DecodeResult.OK) {
            // ABORTED: the model is being unloaded; NO_ROOM cannot happen with each sequence within its slot
            for (Sequence sequence : running) {
                if (sequence != null) {
                    fail(sequence, result == LlamaContext.DecodeResult.ABORTED ? "the model is being unloaded"
                            : "the model ran out of cache");
                }
            }
            return;
        }
        boolean progressed = false;
        for (Sequence sequence : sampled) {
            int token = context.sample(sequence.sampler, sequence.batchIndex);
            progressed = true;
            if (model.isEndOfGeneration(token)) {
                finish(sequence, "stop");
                continue;
            }
            sequence.generated++;
            sequence.lastToken = token;
            String text = sequence.stops.add(sequence.utf8.add(model.piece(token, false)));
            if (!text.isEmpty()) {
                sequence.events.add(new GenerationEvent.Text(text));
            }
            if (sequence.stops.stopped()) {
                finish(sequence, "stop");
            } else if (sequence.generated >= sequence.maxTokens) {
                finish(sequence, "length");
            }
        }
        if (progressed) {
            progress.progressed();
        }
    }

    private void finish(Sequence sequence, String reason) {
        if (!reason.equals("cancelled")) {
            String rest = sequence.stops.add(sequence.utf8.flush()) + sequence.stops.flush();
            if (!rest.isEmpty()) {
                sequence.events.add(new GenerationEvent.Text(rest));
            }
        }
        release(sequence);
        sequence.events.add(new GenerationEvent.Done(reason, sequence.generated, System.nanoTime() - sequence.startNanos));
    }

    private void fail(Sequence sequence, String message) {
        release(sequence);
        context.removeSequence(sequence.slot); // what the failed decode left in the cache is not trusted
        cachedLength[sequence.slot] = 0;
        sequence.events.add(new GenerationEvent.Failure(message));
    }

    /**
     * Frees the sequence's slot at once. Its cache stays, for a next generation that starts the same way: each
     * slot owns its share of the cache whether it holds anything or not, so keeping it costs nothing.
     */
    private void release(Sequence sequence) {
        running[sequence.slot] = null;
        sequence.sampler.close();
        progress.finished();
    }

    private void failAll(String message) {
        lock.lock();
        try {
            for (Sequence sequence : running) {
                if (sequence != null) {
                    sequence.events.add(new GenerationEvent.Failure(message));
                    progress.finished();
                }
            }
            java.util.Arrays.fill(running, null);
            failWaiting(message);
            closing = true;
        } finally {
            lock.unlock();
        }
    }

    /** Ends every waiting generation with a failure; the lock is held. */
    private void failWaiting(String message) {
        for (Sequence sequence : waiting) {
            sequence.events.add(new GenerationEvent.Failure(message));
            progress.finished();
        }
        waiting.clear();
    }

    /**
     * Stops the loop: waiting generations are refused, running ones are cut (their callers get a failure), and
     * the thread ends; the context and model are the caller's to free after.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            failWaiting("the model is being unloaded");
            work.signal(); // running generations are cut at the loop's next step
        } finally {
            lock.unlock();
        }
        context.abort();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One generation: its prompt, how it samples, and (on the loop's thread) where it stands. */
    public final class Sequence implements Generation {
        final int[] prompt;
        final int maxTokens;
        final List<String> stopStrings;
        final LlamaSampler.Settings sampling;
        final BlockingQueue<GenerationEvent> events = new LinkedBlockingQueue<>();
        volatile boolean cancelled;
        // the loop's thread only
        int slot = -1;
        int prefilled;
        int position;
        int lastToken;
        int generated;
        int batchIndex;
        long startNanos;
        LlamaSampler sampler;
        Utf8Pieces utf8;
        StopSequences stops;

        Sequence(int[] prompt, int maxTokens, List<String> stop, LlamaSampler.Settings sampling) {
            this.prompt = prompt;
            this.maxTokens = maxTokens;
            this.stopStrings = stop;
            this.sampling = sampling;
        }

        void begin(int slot, int reused) {
            this.slot = slot;
            this.prefilled = reused;
            this.position = reused;
            this.startNanos = System.nanoTime();
            this.sampler = LlamaSampler.create(model, sampling);
            this.utf8 = new Utf8Pieces();
            this.stops = new StopSequences(stopStrings);
            started.incrementAndGet();
        }

        boolean decoding() {
            return prefilled == prompt.length;
        }

        @Override
        public GenerationEvent next(Duration timeout) throws InterruptedException {
            return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void cancel() {
            cancelled = true;
            lock.lock();
            try {
                work.signal();
            } finally {
                lock.unlock();
            }
        }
    }
}
