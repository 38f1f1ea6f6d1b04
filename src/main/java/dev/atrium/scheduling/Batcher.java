package dev.atrium.scheduling;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dynamic batcher of one loaded model version: a bounded queue of items (an embedding input, a tensor
 * request) and {@code instances} platform threads, each taking the oldest waiting item and the waiting items
 * that fit with it into one batch, then running it.
 *
 * <p>A batch holds items of one group (equal shapes, say) whose lengths are within {@link #LENGTH_RATIO} of
 * each other, so short inputs are not padded to long ones; at most {@code maxBatchSize} rows and at most
 * {@code maxBatchTokens} padded tokens (rows × longest length), except that an item alone always runs. A free
 * instance waits up to {@code maxQueueDelay} after the oldest item arrived for the batch to fill; with no delay
 * it runs what is waiting, and batches form from what arrives while the instances are busy.
 *
 * <p>A request's items may run in several batches; its results come back in its own order. A request that
 * cannot be queued is refused at once, with {@code Retry-After}: 429 when its owner (a tenant) already holds its
 * share of the queue, which keeps room for the others; 503 when the queue is full. A request is taken whole when
 * there is room left, so the queue holds at most its capacity plus one request. A request past its deadline, or cancelled (its client gone), is
 * removed from the queue and none of its waiting items runs. Closing stops new requests and runs the waiting
 * ones first.
 *
 * @param <I> an item
 * @param <O> an item's result
 */
public final class Batcher<I, O> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
    /** The longest item of a batch is at most this many times the shortest. */
    static final double LENGTH_RATIO = 1.5;

    /**
     * @param maxBatchSize rows in one batch; 1 turns batching off
     * @param maxBatchTokens padded tokens (rows × longest length) in one batch
     * @param maxQueueDelay how long a free instance may wait for a batch to fill
     * @param queueCapacity items that may wait (a request is taken whole while there is room)
     * @param instances batches that run at once, each on its own platform thread
     * @param ownerShare the fraction of the queue one owner may hold while others wait
     * @param deadline how long a request may wait to start before it is refused
     */
    public record Settings(int maxBatchSize, int maxBatchTokens, Duration maxQueueDelay, int queueCapacity,
            int instances, double ownerShare, Duration deadline) {
        public Settings {
            if (maxBatchSize < 1 || maxBatchTokens < 1 || queueCapacity < 1 || instances < 1 || ownerShare <= 0
                    || ownerShare > 1 || maxQueueDelay.isNegative() || deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("invalid batcher settings: " + this);
            }
        }
    }

    /** What the batcher needs to know of an item. */
    public interface Shape<I> {
        /** The item's padded length in tokens (1 for items that are not sequences). */
        int length(I item);

        /** The rows it adds to a batch (1 for an input; a tensor request's first dimension). */
        default int rows(I item) {
            return 1;
        }

        /** Items of different groups never share a batch (tensors of other shapes, say). */
        default Object group(I item) {
            return "";
        }
    }

    /** Runs one batch on an instance's thread: one result per item, in order. */
    @FunctionalInterface
    public interface Runner<I, O> {
        List<O> run(List<I> batch) throws Exception;
    }

    /** Reports what the batcher does, for metrics. */
    public interface Observer {
        void batch(int rows, long executionNanos);

        void dequeued(long waitedNanos);

        Observer NONE = new Observer() {
            @Override
            public void batch(int rows, long executionNanos) {}

            @Override
            public void dequeued(long waitedNanos) {}
        };
    }

    private final String name;
    private final Settings settings;
    private final Shape<I> shape;
    private final Runner<I, O> runner;
    private final Observer observer;
    private final LongSupplier clock;
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * Idle instances, the most recently idle first: new work wakes the instance that ran last, whose caches are
     * still warm (waking the longest idle, as a shared condition does, moves every lone request to a cold core).
     */
    private final ArrayDeque<Condition> idle = new ArrayDeque<>();
    /** Instances waiting for a batch to fill: new work may fill it. */
    private final List<Condition> filling = new ArrayList<>();
    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    private final Map<String, Integer> queuedByOwner = new HashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private final AtomicInteger running = new AtomicInteger();
    private boolean closed;

    public Batcher(String name, Settings settings, Shape<I> shape, Runner<I, O> runner, Observer observer) {
        this(name, settings, shape, runner, observer, System::nanoTime);
    }

    Batcher(String name, Settings settings, Shape<I> shape, Runner<I, O> runner, Observer observer, LongSupplier clock) {
        this.name = requireNonNull(name, "name is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.shape = requireNonNull(shape, "shape is null");
        this.runner = requireNonNull(runner, "runner is null");
        this.observer = requireNonNull(observer, "observer is null");
        this.clock = clock;
        for (int i = 0; i < settings.instances(); i++) {
            workers.add(Thread.ofPlatform().name("batch-" + name + "-", i).daemon(true).start(this::work));
        }
    }

    public Settings settings() {
        return settings;
    }

    /** Items waiting. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Batches running now. */
    public int running() {
        return running.get();
    }

    // ---- requests -----------------------------------------------------------------------------------------------

    /** One request's items on their way: its results, or the reason it failed. */
    public final class Ticket {
        private final String owner;
        private final Object[] results;
        private final AtomicInteger remaining;
        private final CompletableFuture<List<O>> future = new CompletableFuture<>();
        private final long deadline;
        private volatile boolean started;

        private final long submittedNanos = System.nanoTime();

        private Ticket(String owner, int items, long deadline) {
            this.owner = owner;
            this.results = new Object[items];
            this.remaining = new AtomicInteger(items);
            this.deadline = deadline;
        }

        /**
         * Waits for every result, in the request's order, until the request's deadline (to start) has passed.
         *
         * @throws AtriumException 503 when it waited past its deadline without starting; the failure of its batch
         */
        public List<O> await() {
            // the wait is untimed and the shared timer expires the request at its deadline unless it started (a
            // timed wait costs two wake-ups of the JDK's delay scheduler per request)
            Timeouts.Timeout timeout = future.isDone() ? null
                    : Timeouts.shared().at(deadline, () -> expireUnlessStarted(this));
            try {
                return future.get();
            } catch (InterruptedException e) {
                cancel();
                Thread.currentThread().interrupt();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof AtriumException atrium) {
                    throw atrium;
                }
                throw AtriumException.internal("inference failed", e.getCause());
            } catch (CancellationException e) {
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was cancelled", 1);
            } finally {
                if (timeout != null) {
                    timeout.cancel();
                }
            }
        }

        /** The client went away: its waiting items are dropped and never run. */
        public void cancel() {
            if (future.cancel(false)) {
                remove(this);
            }
        }

        public boolean isDone() {
            return future.isDone();
        }

        private void complete(int index, O result) {
            results[index] = result;
            if (remaining.decrementAndGet() == 0) {
                @SuppressWarnings("unchecked")
                List<O> list = (List<O>) Arrays.asList(results);
                future.complete(list);
            }
        }

        private void fail(Throwable failure) {
            if (future.completeExceptionally(failure)) {
                remove(this);
            }
        }
    }

    private final class Entry {
        final Ticket ticket;
        final int index;
        final I item;
        final int length;
        final int rows;
        final Object group;
        final long enqueuedAt;

        Entry(Ticket ticket, int index, I item, long enqueuedAt) {
            this.ticket = ticket;
            this.index = index;
            this.item = item;
            this.length = Math.max(1, shape.length(item));
            this.rows = Math.max(1, shape.rows(item));
            this.group = shape.group(item);
            this.enqueuedAt = enqueuedAt;
        }
    }

    /**
     * Queues a request's items.
     *
     * @param owner whose request it is (a tenant), for the queue's fair share
     * @throws AtriumException 429 when the owner holds its share of a full queue, 503 when the queue is full
     */
    public Ticket submit(String owner, List<I> items) {
        return submit(owner, items, settings.deadline());
    }

    /**
     * Queues a request's items that must start within {@code maxWait} (or the batcher's deadline, if sooner).
     *
     * @throws AtriumException 429 when the owner holds its share of a full queue, 503 when the queue is full
     */
    public Ticket submit(String owner, List<I> items, Duration maxWait) {
        long now = clock.getAsLong();
        long wait = Math.min(settings.deadline().toNanos(), Math.max(0, maxWait.toNanos()));
        Ticket ticket = new Ticket(owner, items.size(), now + wait);
        if (items.isEmpty()) {
            ticket.future.complete(List.of());
            return ticket;
        }
        lock.lock();
        try {
            if (closed) {
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "model '" + name + "' is being unloaded", 1);
            }
            int held = queuedByOwner.getOrDefault(owner, 0);
            int share = Math.max(1, (int) (settings.queueCapacity() * settings.ownerShare()));
            if (held > 0 && held >= share) {
                throw AtriumException.retryable(ErrorCode.QUEUE_SHARE_EXCEEDED, "your requests already hold their"
                        + " share of the queue of model '" + name + "'; retry shortly", 1);
            }
            if (queue.size() >= settings.queueCapacity()) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + name
                        + "' has a full queue; retry shortly", 1);
            }
            for (int i = 0; i < items.size(); i++) {
                queue.addLast(new Entry(ticket, i, items.get(i), now));
            }
            queuedByOwner.merge(owner, items.size(), Integer::sum);
            filling.forEach(Condition::signal);
            wakeOne();
        } finally {
            lock.unlock();
        }
        return ticket;
    }

    /**
     * Expires a request that has not started, deciding under the lock that instances take batches under: a request
     * either runs or expires, never both.
     */
    private void expireUnlessStarted(Ticket ticket) {
        lock.lock();
        try {
            if (!ticket.started) {
                expire(ticket);
            }
        } finally {
            lock.unlock();
        }
    }

    private void expire(Ticket ticket) {
        ticket.fail(AtriumException.retryable(ErrorCode.QUEUE_TIMEOUT, "the request waited "
                + Math.max(0, (System.nanoTime() - ticket.submittedNanos) / 1_000_000) + " ms for model '" + name
                + "' without starting; retry shortly", 1));
    }

    /** Takes a finished or cancelled request's waiting items out of the queue. */
    private void remove(Ticket ticket) {
        lock.lock();
        try {
            int removed = 0;
            for (Iterator<Entry> it = queue.iterator(); it.hasNext(); ) {
                if (it.next().ticket == ticket) {
                    it.remove();
                    removed++;
                }
            }
            release(ticket.owner, removed);
        } finally {
            lock.unlock();
        }
    }

    private void release(String owner, int count) {
        if (count > 0) {
            queuedByOwner.computeIfPresent(owner, (key, held) -> held - count <= 0 ? null : held - count);
        }
    }

    // ---- instances ----------------------------------------------------------------------------------------------

    /** Wakes the most recently idle instance, if any is idle. */
    private void wakeOne() {
        Condition instance = idle.peekFirst();
        if (instance != null) {
            instance.signal();
        }
    }

    private void work() {
        Condition self = lock.newCondition();
        while (true) {
            List<Entry> batch;
            try {
                batch = nextBatch(self);
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) {
                return;
            }
            run(batch);
        }
    }

    /** Waits for work, lets the batch fill up to the queue delay, and takes it; null once closed. */
    private List<Entry> nextBatch(Condition self) throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                while (!closed && queue.isEmpty()) {
                    idle.addFirst(self);
                    try {
                        self.await();
                    } finally {
                        idle.remove(self);
                    }
                }
                if (queue.isEmpty()) {
                    return null; // closed, and nothing left to run
                }
                Entry head = queue.peekFirst();
                long waitUntil = head.enqueuedAt + settings.maxQueueDelay().toNanos();
                long now = clock.getAsLong();
                if (!closed && now < waitUntil && fitting(head) < settings.maxBatchSize()) {
                    filling.add(self);
                    try {
                        self.awaitNanos(waitUntil - now);
                    } finally {
                        filling.remove(self);
                    }
                    continue;
                }
                List<Entry> batch = take(head);
                if (!queue.isEmpty()) {
                    wakeOne(); // more work than this batch: another instance takes it
                }
                return batch;
            }
        } finally {
            lock.unlock();
        }
    }

    /** The rows that would join the head's batch now. */
    private int fitting(Entry head) {
        return select(head).stream().mapToInt(entry -> entry.rows).sum();
    }

    /** The head and the waiting items that fit with it, oldest first. */
    private List<Entry> select(Entry head) {
        List<Entry> batch = new ArrayList<>();
        batch.add(head);
        int rows = head.rows;
        int shortest = head.length;
        int longest = head.length;
        for (Entry entry : queue) {
            if (rows >= settings.maxBatchSize()) {
                break;
            }
            if (entry == head) {
                continue;
            }
            int low = Math.min(shortest, entry.length);
            int high = Math.max(longest, entry.length);
            if (!Objects.equals(entry.group, head.group) || high > low * LENGTH_RATIO
                    || rows + entry.rows > settings.maxBatchSize()
                    || (long) (rows + entry.rows) * high > settings.maxBatchTokens()) {
                continue;
            }
            batch.add(entry);
            rows += entry.rows;
            shortest = low;
            longest = high;
        }
        return batch;
    }

    private List<Entry> take(Entry head) {
        List<Entry> batch = select(head);
        long now = clock.getAsLong();
        List<Entry> live = new ArrayList<>(batch.size());
        for (Entry entry : batch) {
            if (!queue.remove(entry)) {
                continue; // its request failed meanwhile and took it out
            }
            release(entry.ticket.owner, 1);
            if (entry.ticket.isDone()) {
                continue; // cancelled, failed or expired: never runs
            }
            if (now - entry.ticket.deadline > 0 && !entry.ticket.started) {
                expire(entry.ticket);
                continue;
            }
            entry.ticket.started = true;
            observer.dequeued(now - entry.enqueuedAt);
            live.add(entry);
        }
        return live;
    }

    private void run(List<Entry> batch) {
        if (batch.isEmpty()) {
            return;
        }
        running.incrementAndGet();
        long start = System.nanoTime();
        try {
            List<O> results = runner.run(batch.stream().map(entry -> entry.item).toList());
            if (results.size() != batch.size()) {
                throw new IllegalStateException("a batch of " + batch.size() + " gave " + results.size() + " results");
            }
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).ticket.complete(batch.get(i).index, results.get(i));
            }
        } catch (Throwable e) {
            if (!(e instanceof AtriumException)) {
                LOG.error("a batch of model {} failed", name, e);
            }
            batch.forEach(entry -> entry.ticket.fail(e));
        } finally {
            observer.batch(batch.stream().mapToInt(entry -> entry.rows).sum(), System.nanoTime() - start);
            running.decrementAndGet();
        }
    }

    /** Whether it has stopped taking requests. */
    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops taking requests and returns once the waiting ones have run (or expired): a model unloaded or
     * reconfigured while serving fails no request it had accepted.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            idle.forEach(Condition::signal);
            filling.forEach(Condition::signal);
        } finally {
            lock.unlock();
        }
        for (Thread worker : workers) {
            try {
                worker.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
