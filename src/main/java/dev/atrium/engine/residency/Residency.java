package dev.atrium.engine.residency;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.VersionKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the loaded model versions of every engine within one memory budget.
 *
 * <p>Design: engines load each version through {@link #load}, which runs one load at a time. Before a load it makes
 * room for what the version is expected to take (what it measured when it last loaded, else the engine's estimate)
 * by evicting the least recently used idle versions: never one with work in flight, never a pinned one. When
 * every version that could go is busy, the load waits for one to become idle, within the deadline of the call that
 * asked for it (then 503 with {@code Retry-After}). The load is measured as the growth of the process's resident
 * set across it ({@code /proc/self/statm}): ONNX Runtime's arenas and llama.cpp's caches live outside the Java
 * heap, so resident memory is the honest measure, and loads run one at a time so that their deltas do not mix. A
 * delta below the model's file size (noise: a collection, another model's buffers freed meanwhile) is raised to the
 * file size, the least a loaded model holds. Freed memory is handed back to the system before each measure
 * ({@code malloc_trim}), so that a load reusing an evicted model's freed pages is not measured as free. When the load
 * measured more than expected, more versions are evicted (as they become idle, within the same deadline) before the
 * new one is listed and serves. A sweep (every second in the server) unloads idle versions past their keep-alive.
 *
 * <p>Concurrency: {@link #used} and {@link #loaded()} may be called from any thread at any time; loads, budget
 * evictions and the sweep are serialized by one lock. The engine decides atomically whether a version is idle
 * ({@link Holder#unloadIfIdle}), so work that takes a version while it is being evicted finds it unloaded and loads
 * it again rather than running on freed memory.
 */
public final class Residency implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Residency.class);
    /** How often a load waiting for room looks again: in-flight work ends in milliseconds to seconds. */
    private static final long ROOM_POLL_MILLIS = 5;
    /** No budget: versions stay loaded until they are unloaded by hand or expire. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    /**
     * @param budgetBytes the most the loaded versions may hold together, or {@link #UNLIMITED}
     * @param defaultKeepAlive how long an idle version of a model without a keep-alive of its own stays; empty for
     *     as long as the budget allows
     * @param loadWait how long a load asked for outside a call (an admin load, a request's preparation) may wait
     *     for room
     * @param sweepEvery how often idle versions past their keep-alive are looked for
     */
    public record Settings(long budgetBytes, Optional<Duration> defaultKeepAlive, Duration loadWait,
            Duration sweepEvery) {
        public Settings {
            if (budgetBytes < 1) {
                throw new IllegalArgumentException("the memory budget must be positive: " + budgetBytes);
            }
            requireNonNull(defaultKeepAlive, "defaultKeepAlive is null");
            requireNonNull(loadWait, "loadWait is null");
            requireNonNull(sweepEvery, "sweepEvery is null");
        }

        /** No budget and no keep-alive: what an engine made without a residency gets. */
        public static Settings unlimited() {
            return new Settings(UNLIMITED, Optional.empty(), Duration.ofMinutes(1), Duration.ofSeconds(1));
        }
    }

    /** What an engine tells of one of its loaded versions, and how it lets it go. */
    public interface Holder {
        /** Work on the version now: calls queued or running, generations, leases taken. */
        int inFlight(VersionKey key);

        /**
         * Unloads the version only if nothing is in flight on it, atomically with work taking it (which then finds
         * it unloaded and loads it again).
         *
         * @return whether it was unloaded
         */
        boolean unloadIfIdle(VersionKey key);
    }

    /**
     * One loaded version as {@code /admin/loaded} shows it.
     *
     * @param kind the engine: {@code onnx}, {@code llama}
     * @param bytes what its load measured (resident growth, at least its file size)
     * @param loadNanos how long its load took
     * @param keepAlive how long it stays once idle; empty for as long as the budget allows
     */
    public record LoadedVersion(VersionKey key, String kind, long bytes, long loadNanos, Instant loadedAt,
            Instant lastUsed, int inFlight, boolean pinned, Optional<Duration> keepAlive) {
        public LoadedVersion {
            requireNonNull(key, "key is null");
            requireNonNull(kind, "kind is null");
            requireNonNull(loadedAt, "loadedAt is null");
            requireNonNull(lastUsed, "lastUsed is null");
            requireNonNull(keepAlive, "keepAlive is null");
        }
    }

    /** How long a version a request has just prepared on is kept from budget evictions, waiting for its run. */
    static final Duration PREPARED_GRACE = Duration.ofSeconds(2);

    private static final class Entry {
        final VersionKey key;
        final String kind;
        final long bytes;
        final long loadNanos;
        final Instant loadedAt;
        final Holder holder;
        volatile Instant lastUsed;
        /** When a request's preparation (tokenizing, decoding) last let go of it, by {@link System#nanoTime}. */
        volatile long preparedNanos = Long.MIN_VALUE;

        Entry(VersionKey key, String kind, long bytes, long loadNanos, Instant loadedAt, Holder holder) {
            this.key = key;
            this.kind = kind;
            this.bytes = bytes;
            this.loadNanos = loadNanos;
            this.loadedAt = loadedAt;
            this.holder = holder;
            this.lastUsed = loadedAt;
        }
    }

    private final Settings settings;
    private final Clock clock;
    private final LongSupplier residentBytes;
    private final ResidencyMetrics metrics;
    private final ReentrantLock loads = new ReentrantLock();
    private final Map<VersionKey, Entry> entries = new ConcurrentHashMap<>();
    /** Models with settings of their own, by model id; the others get {@link ResidencyPolicy#DEFAULT}. */
    private final Map<Long, ResidencyPolicy> policies = new ConcurrentHashMap<>();
    /** What each version measured when it last loaded: the room its next load makes first. */
    private final Cache<VersionKey, Long> measured = Caffeine.newBuilder().maximumSize(10_000).build();
    private volatile ScheduledExecutorService sweeper;

    /**
     * @param residentBytes the process's resident set size now ({@code /proc/self/statm} in the server)
     */
    public Residency(Settings settings, Clock clock, LongSupplier residentBytes, ResidencyMetrics metrics) {
        this.settings = requireNonNull(settings, "settings is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.residentBytes = requireNonNull(residentBytes, "residentBytes is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        metrics.residency(this::loadedBytes, entries::size, settings.budgetBytes() == UNLIMITED ? -1
                : settings.budgetBytes());
    }

    /** The server's residency: resident memory read from {@code /proc}, the system clock. */
    public static Residency create(Settings settings, ResidencyMetrics metrics) {
        return new Residency(settings, Clock.systemUTC(), ResidentMemory::bytes, metrics);
    }

    /** No budget, no keep-alive, no metrics: for an engine made on its own. */
    public static Residency unlimited() {
        return create(Settings.unlimited(), ResidencyMetrics.NONE);
    }

    /**
     * Gives what freed models leave in the C heap back to the system ({@code malloc_trim} where there is glibc), so
     * that the resident set falls with an unload; engines call it once a version's native resources are freed.
     */
    public static void releaseFreedMemory() {
        ResidentMemory.releaseFreed();
    }

    public Settings settings() {
        return settings;
    }

    /** Starts the keep-alive sweep on a daemon thread of its own. */
    public synchronized Residency startSweeping() {
        if (sweeper == null) {
            sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("residency-sweep")
                    .daemon(true).factory());
            long every = settings.sweepEvery().toMillis();
            sweeper.scheduleWithFixedDelay(() -> {
                try {
                    sweep();
                } catch (RuntimeException e) {
                    LOG.warn("the residency sweep failed", e);
                }
            }, every, every, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    // ---- what engines report ------------------------------------------------------------------------------------

    /**
     * Loads one version within the budget: makes room first, runs {@code open} (one load at a time), measures it,
     * and makes room again if it measured more than expected.
     *
     * @param kind the engine, as metrics and {@code /admin/loaded} name it
     * @param fileBytes the size of the version's files: the least it is taken to hold
     * @param estimateBytes what a first load is expected to take (a later one expects what it measured)
     * @param deadlineNanos {@link System#nanoTime()} past which the load no longer waits for room
     * @throws AtriumException 503 {@code overloaded} with {@code Retry-After} when no room could be made in time
     */
    public <T> T load(VersionKey key, String kind, long fileBytes, long estimateBytes, long deadlineNanos,
            Holder holder, Supplier<T> open) {
        requireNonNull(key, "key is null");
        requireNonNull(holder, "holder is null");
        lockWithin(deadlineNanos, key);
        try {
            long expected = Math.max(fileBytes, Optional.ofNullable(measured.getIfPresent(key)).orElse(estimateBytes));
            makeRoom(expected, key, deadlineNanos, true);
            // freed memory handed back first, so that the load's growth is not hidden by reusing it
            ResidentMemory.releaseFreed();
            long before = residentBytes.getAsLong();
            long start = System.nanoTime();
            T loaded = open.get();
            long took = System.nanoTime() - start;
            long bytes = Math.max(fileBytes, residentBytes.getAsLong() - before);
            measured.put(key, bytes);
            metrics.loaded(kind, took, bytes);
            // it counts once it serves: room for what it really holds is made before it is listed and served
            makeRoom(bytes, key, deadlineNanos, false);
            entries.put(key, new Entry(key, kind, bytes, took, clock.instant(), holder));
            LOG.info("{} loaded in {} ms, holding {} MiB ({} MiB loaded of a budget of {})", key, took / 1_000_000,
                    bytes >> 20, loadedBytes() >> 20, settings.budgetBytes() == UNLIMITED ? "none"
                            : (settings.budgetBytes() >> 20) + " MiB");
            return loaded;
        } finally {
            loads.unlock();
        }
    }

    /** A call took the version: it becomes the most recently used. */
    public void used(VersionKey key) {
        Entry entry = entries.get(key);
        if (entry != null) {
            entry.lastUsed = clock.instant();
        }
    }

    /**
     * A request's preparation let go of the version and its run is about to take it again (after admission): for
     * {@link #PREPARED_GRACE} a load that needs room does not evict it, so that the request does not find its model
     * gone and load it again (a request refused meanwhile simply lets the grace run out).
     */
    public void prepared(VersionKey key) {
        Entry entry = entries.get(key);
        if (entry != null) {
            entry.lastUsed = clock.instant();
            entry.preparedNanos = System.nanoTime();
        }
    }

    private static boolean justPrepared(Entry entry) {
        long prepared = entry.preparedNanos;
        return prepared != Long.MIN_VALUE && System.nanoTime() - prepared < PREPARED_GRACE.toNanos();
    }

    /** The engine unloaded the version by itself (by hand, deleted, reconfigured, closing). */
    public void unloaded(VersionKey key) {
        entries.remove(key);
    }

    // ---- policies -----------------------------------------------------------------------------------------------

    /** Sets a model's residency; it applies at once to its loaded versions. */
    public void policy(long modelId, ResidencyPolicy policy) {
        requireNonNull(policy, "policy is null");
        if (policy.equals(ResidencyPolicy.DEFAULT)) {
            policies.remove(modelId);
        } else {
            policies.put(modelId, policy);
        }
    }

    /** Sets every model's residency at once, as stored (another replica may have changed one): the rest default. */
    public void policies(Map<Long, ResidencyPolicy> stored) {
        policies.keySet().removeIf(modelId -> !stored.containsKey(modelId));
        stored.forEach(this::policy);
    }

    public ResidencyPolicy policy(long modelId) {
        return policies.getOrDefault(modelId, ResidencyPolicy.DEFAULT);
    }

    // ---- what is loaded -----------------------------------------------------------------------------------------

    /** The loaded versions, by model name, model id and version. */
    public List<LoadedVersion> loaded() {
        return entries.values().stream()
                .sorted(Comparator.comparing((Entry entry) -> entry.key.modelName())
                        .thenComparingLong(entry -> entry.key.modelId()).thenComparingInt(entry -> entry.key.version()))
                .map(entry -> {
                    ResidencyPolicy policy = policy(entry.key.modelId());
                    return new LoadedVersion(entry.key, entry.kind, entry.bytes, entry.loadNanos, entry.loadedAt,
                            entry.lastUsed, entry.holder.inFlight(entry.key), policy.pinned(),
                            policy.keepAlive(settings.defaultKeepAlive()));
                })
                .toList();
    }

    /** What the loaded versions hold together, as their loads measured. */
    public long loadedBytes() {
        long total = 0;
        for (Entry entry : entries.values()) {
            total += entry.bytes;
        }
        return total;
    }

    // ---- evictions ----------------------------------------------------------------------------------------------

    /**
     * Unloads idle versions whose keep-alive has passed since their last use; pinned ones stay. Skipped while a
     * load runs (it would spoil the load's measure); the next sweep catches up.
     */
    public void sweep() {
        if (!loads.tryLock()) {
            return;
        }
        try {
            Instant now = clock.instant();
            for (Entry entry : List.copyOf(entries.values())) {
                ResidencyPolicy policy = policy(entry.key.modelId());
                Optional<Duration> keepAlive = policy.keepAlive(settings.defaultKeepAlive());
                if (!policy.pinned() && keepAlive.isPresent()
                        && !entry.lastUsed.plus(keepAlive.get()).isAfter(now)) {
                    evict(entry, "keep_alive");
                }
            }
        } finally {
            loads.unlock();
        }
    }

    private void lockWithin(long deadlineNanos, VersionKey key) {
        try {
            if (!loads.tryLock(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + key.modelName() + "' is waiting"
                        + " for other models to load; retry shortly", 1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the server is stopping", 1);
        }
    }

    /**
     * Evicts least recently used idle versions (never {@code loading}, never a pinned one) until {@code needed}
     * more bytes fit, waiting for busy ones to become idle until the deadline. When nothing could ever be evicted
     * (nothing else is loaded, or only pinned versions are) it gives up at once; so it does at the deadline.
     *
     * @param mustFit whether giving up refuses the load (before it) or only leaves the budget exceeded (after it)
     */
    private void makeRoom(long needed, VersionKey loading, long deadlineNanos, boolean mustFit) {
        while (loadedBytes() + needed > settings.budgetBytes()) {
            Entry victim = null;
            boolean evictable = false;
            for (Entry entry : entries.values()) {
                if (entry.key.equals(loading) || policy(entry.key.modelId()).pinned()) {
                    continue;
                }
                evictable = true;
                if (entry.holder.inFlight(entry.key) == 0 && !justPrepared(entry)
                        && (victim == null || older(entry, victim))) {
                    victim = entry;
                }
            }
            if (victim != null) {
                evict(victim, "budget");
                continue;
            }
            boolean othersLoaded = entries.keySet().stream().anyMatch(key -> !key.equals(loading));
            if (!evictable && (!mustFit || !othersLoaded)) {
                LOG.warn("{} takes the loaded memory to {} MiB, over the budget of {} MiB: nothing else can be"
                        + " evicted", loading, (loadedBytes() + needed) >> 20, settings.budgetBytes() >> 20);
                return;
            }
            if (!evictable) {
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + loading.modelName() + "' does not"
                        + " fit the memory budget beside the pinned models; unpin one, or raise memory-budget", 60);
            }
            if (System.nanoTime() >= deadlineNanos) {
                if (!mustFit) {
                    LOG.warn("{} leaves the loaded memory at {} MiB, over the budget of {} MiB, until the models in"
                            + " use become idle", loading, loadedBytes() >> 20, settings.budgetBytes() >> 20);
                    return;
                }
                throw AtriumException.retryable(ErrorCode.OVERLOADED, "model '" + loading.modelName() + "' needs"
                        + " memory that models with work in flight hold; retry shortly", 1);
            }
            try {
                Thread.sleep(ROOM_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the server is stopping", 1);
            }
        }
    }

    /** Least recently used first; of two used at the same instant, the one loaded first. */
    private static boolean older(Entry entry, Entry than) {
        int byUse = entry.lastUsed.compareTo(than.lastUsed);
        return byUse < 0 || (byUse == 0 && entry.loadedAt.isBefore(than.loadedAt));
    }

    private void evict(Entry entry, String reason) {
        if (!entry.holder.unloadIfIdle(entry.key)) {
            return; // work took it meanwhile: it stays, and counts as used
        }
        entries.remove(entry.key, entry);
        ResidentMemory.releaseFreed();
        metrics.evicted(entry.kind, reason);
        LOG.info("evicted {} ({}, {} MiB, last used {})", entry.key, reason.replace('_', '-'), entry.bytes >> 20,
                entry.lastUsed);
    }

    @Override
    public synchronized void close() {
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
    }
}
