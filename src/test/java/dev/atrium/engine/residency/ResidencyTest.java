package dev.atrium.engine.residency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.VersionKey;
import dev.atrium.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The budget and keep-alive rules, over a hand-written engine whose loads grow a fake resident set. */
class ResidencyTest {
    private static final long MIB = 1 << 20;

    private final SettableClock clock = new SettableClock(Instant.parse("2027-01-01T00:00:00Z"));
    private final FakeEngine engine = new FakeEngine();
    private final List<String> evictions = new ArrayList<>();

    /** An engine whose versions each take a fixed size of the fake resident set while loaded. */
    private static final class FakeEngine implements Residency.Holder, LongSupplier {
        final Map<VersionKey, Long> loaded = new ConcurrentHashMap<>();
        final Map<VersionKey, Integer> inFlight = new ConcurrentHashMap<>();
        final AtomicLong resident = new AtomicLong(100 * MIB);

        @Override
        public int inFlight(VersionKey key) {
            return inFlight.getOrDefault(key, 0);
        }

        @Override
        public synchronized boolean unloadIfIdle(VersionKey key) {
            if (inFlight(key) > 0 || !loaded.containsKey(key)) {
                return false;
            }
            resident.addAndGet(-loaded.remove(key));
            return true;
        }

        @Override
        public long getAsLong() {
            return resident.get();
        }
    }

    private Residency residency(long budgetMib, Optional<Duration> keepAlive, Duration loadWait) {
        return new Residency(new Residency.Settings(budgetMib * MIB, keepAlive, loadWait, Duration.ofSeconds(1)),
                clock, engine, new ResidencyMetrics() {
                    @Override
                    public void loaded(String kind, long nanos, long bytes) {
                    }

                    @Override
                    public void evicted(String kind, String reason) {
                        evictions.add(kind + ":" + reason);
                    }

                    @Override
                    public void residency(LongSupplier loadedBytes, LongSupplier loadedVersions, long budgetBytes) {
                    }
                });
    }

    private Residency residency(long budgetMib) {
        return residency(budgetMib, Optional.empty(), Duration.ofMillis(200));
    }

    private static VersionKey key(int model) {
        return new VersionKey(model, "model-" + model, 1);
    }

    /** Loads a version that grows the resident set by {@code mib}, with a file of {@code fileMib}. */
    private void load(Residency residency, int model, long mib, long fileMib) {
        VersionKey key = key(model);
        residency.load(key, "onnx", fileMib * MIB, fileMib * MIB, System.nanoTime() + Duration.ofMillis(200).toNanos(),
                engine, () -> {
                    engine.resident.addAndGet(mib * MIB);
                    engine.loaded.put(key, mib * MIB);
                    return key;
                });
        clock.advance(Duration.ofSeconds(1));
    }

    private void load(Residency residency, int model, long mib) {
        load(residency, model, mib, mib);
    }

    private static List<Long> loadedModels(Residency residency) {
        return residency.loaded().stream().map(version -> version.key().modelId()).toList();
    }

    @Test
    void load_beyondTheBudget_evictsTheLeastRecentlyUsedIdleVersion() {
        Residency residency = residency(300);
        load(residency, 1, 100);
        load(residency, 2, 100);
        load(residency, 3, 100);
        residency.used(key(1));
        load(residency, 4, 100);
        assertThat(loadedModels(residency)).containsExactly(1L, 3L, 4L);
        assertThat(engine.loaded).containsOnlyKeys(key(1), key(3), key(4));
        assertThat(residency.loadedBytes()).isEqualTo(300 * MIB);
        assertThat(evictions).containsExactly("onnx:budget");
    }

    @Test
    void load_neverEvictsAVersionWithWorkInFlight() {
        Residency residency = residency(300);
        load(residency, 1, 100);
        load(residency, 2, 100);
        load(residency, 3, 100);
        engine.inFlight.put(key(1), 1);
        load(residency, 4, 100);
        assertThat(loadedModels(residency)).containsExactly(1L, 3L, 4L);
        assertThat(residency.loaded().getFirst().inFlight()).isEqualTo(1);
    }

    @Test
    void load_sparesAVersionARequestJustPreparedOn_untilItsGracePasses() throws Exception {
        Residency residency = residency(300);
        load(residency, 1, 100);
        clock.advance(Duration.ofSeconds(1));
        load(residency, 2, 100);
        clock.advance(Duration.ofSeconds(1));
        load(residency, 3, 100);
        clock.advance(Duration.ofSeconds(1));
        residency.prepared(key(1)); // tokenized; its run follows admission
        clock.advance(Duration.ofSeconds(1));
        residency.used(key(2));
        clock.advance(Duration.ofSeconds(1));
        residency.used(key(3));
        clock.advance(Duration.ofSeconds(1));

        load(residency, 4, 100);
        assertThat(loadedModels(residency)).as("1 is the least recently used, but its run is coming")
                .containsExactly(1L, 3L, 4L);

        Thread.sleep(Residency.PREPARED_GRACE.toMillis() + 100);
        clock.advance(Duration.ofSeconds(1));
        load(residency, 5, 100);
        assertThat(loadedModels(residency)).as("past the grace, it is evicted as any idle version")
                .containsExactly(3L, 4L, 5L);
    }

    @Test
    void load_neverEvictsAPinnedVersion() {
        Residency residency = residency(300);
        load(residency, 1, 100);
        residency.policy(1, new ResidencyPolicy(true, null));
        load(residency, 2, 100);
        load(residency, 3, 100);
        for (int model = 4; model <= 8; model++) {
            load(residency, model, 100);
        }
        assertThat(loadedModels(residency)).containsExactly(1L, 7L, 8L);
        assertThat(residency.loaded().getFirst().pinned()).isTrue();
    }

    @Test
    void load_whenEveryOtherVersionIsBusy_waitsForOneToBecomeIdle() throws Exception {
        Residency residency = residency(200);
        load(residency, 1, 100);
        load(residency, 2, 100);
        engine.inFlight.put(key(1), 1);
        engine.inFlight.put(key(2), 1);
        Thread finisher = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            engine.inFlight.remove(key(2));
        });
        load(residency, 3, 100);
        finisher.join();
        assertThat(loadedModels(residency)).containsExactly(1L, 3L);
    }

    @Test
    void load_whenEveryOtherVersionStaysBusyPastTheDeadline_refusesWith503() {
        Residency residency = residency(200);
        load(residency, 1, 100);
        load(residency, 2, 100);
        engine.inFlight.put(key(1), 1);
        engine.inFlight.put(key(2), 1);
        assertThatThrownBy(() -> load(residency, 3, 100)).isInstanceOfSatisfying(AtriumException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED));
        assertThat(loadedModels(residency)).containsExactly(1L, 2L);
        assertThat(engine.loaded).doesNotContainKey(key(3));
    }

    @Test
    void load_whenPinnedVersionsHoldTheBudget_refusesAtOnce() {
        Residency residency = residency(200);
        load(residency, 1, 100);
        load(residency, 2, 100);
        residency.policy(1, new ResidencyPolicy(true, null));
        residency.policy(2, new ResidencyPolicy(true, null));
        long start = System.nanoTime();
        assertThatThrownBy(() -> load(residency, 3, 100)).isInstanceOfSatisfying(AtriumException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(150));
    }

    @Test
    void load_aLoneVersionLargerThanTheBudget_stillLoads() {
        Residency residency = residency(100);
        load(residency, 1, 250);
        assertThat(loadedModels(residency)).containsExactly(1L);
        load(residency, 2, 50);
        assertThat(loadedModels(residency)).containsExactly(2L);
    }

    @Test
    void load_measuresTheResidentGrowth_atLeastTheFileSize() {
        Residency residency = residency(1000);
        load(residency, 1, 120, 40);
        load(residency, 2, 0, 30); // a load whose growth is lost in the noise counts as its file
        assertThat(residency.loaded()).extracting(Residency.LoadedVersion::bytes)
                .containsExactly(120 * MIB, 30 * MIB);
    }

    @Test
    void load_measuringMoreThanExpected_evictsOthersAfter() {
        Residency residency = residency(300);
        load(residency, 1, 100);
        load(residency, 2, 100);
        load(residency, 3, 150, 50); // expected 50 MiB: room for it, then 50 MiB over
        assertThat(loadedModels(residency)).containsExactly(2L, 3L);
        assertThat(residency.loadedBytes()).isLessThanOrEqualTo(300 * MIB);
    }

    @Test
    void load_again_expectsWhatItMeasuredLastTime() {
        Residency residency = residency(300);
        load(residency, 1, 150, 10);
        load(residency, 2, 100);
        assertThat(engine.unloadIfIdle(key(1))).isTrue();
        residency.unloaded(key(1));
        load(residency, 3, 100);
        // room for 150 MiB made before the load: 2 goes first, so the budget is never passed
        load(residency, 1, 150, 10);
        assertThat(loadedModels(residency)).containsExactly(1L, 3L);
        assertThat(evictions).containsExactly("onnx:budget");
    }

    @Test
    void sweep_idleVersionsPastTheirKeepAlive_areUnloaded_pinnedBusyAndForeverOnesStay() {
        Residency residency = residency(1000, Optional.of(Duration.ofMinutes(5)), Duration.ofMillis(200));
        load(residency, 1, 10); // the server's five minutes
        load(residency, 2, 10);
        residency.policy(2, new ResidencyPolicy(true, null));
        load(residency, 3, 10);
        engine.inFlight.put(key(3), 1);
        load(residency, 4, 10);
        residency.policy(4, new ResidencyPolicy(false, ResidencyPolicy.FOREVER));
        load(residency, 5, 10);
        residency.policy(5, new ResidencyPolicy(false, 30L));
        clock.advance(Duration.ofSeconds(31));
        residency.sweep();
        assertThat(loadedModels(residency)).containsExactly(1L, 2L, 3L, 4L);
        clock.advance(Duration.ofMinutes(5));
        residency.sweep();
        assertThat(loadedModels(residency)).containsExactly(2L, 3L, 4L);
        assertThat(evictions).containsExactly("onnx:keep_alive", "onnx:keep_alive");
        assertThat(residency.loaded()).extracting(Residency.LoadedVersion::keepAlive).containsExactly(
                Optional.of(Duration.ofMinutes(5)), Optional.of(Duration.ofMinutes(5)), Optional.empty());
    }

    @Test
    void sweep_aVersionUsedLately_staysPastItsKeepAliveFromTheLoad() {
        Residency residency = residency(1000, Optional.of(Duration.ofSeconds(60)), Duration.ofMillis(200));
        load(residency, 1, 10);
        clock.advance(Duration.ofSeconds(50));
        residency.used(key(1));
        clock.advance(Duration.ofSeconds(50));
        residency.sweep();
        assertThat(loadedModels(residency)).containsExactly(1L);
    }

    @Test
    void policy_outOfRange_isRefused() {
        assertThatThrownBy(() -> new ResidencyPolicy(false, -2L)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ResidencyPolicy(false, ResidencyPolicy.MAX_KEEP_ALIVE_SECONDS + 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
