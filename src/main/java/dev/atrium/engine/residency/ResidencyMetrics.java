package dev.atrium.engine.residency;

import java.util.function.LongSupplier;

/** Where {@link Residency} reports loads and evictions (the server's metrics; nothing in tests of the core). */
public interface ResidencyMetrics {
    /** A version loaded (a cold start) in {@code nanos}, measured at {@code bytes}. */
    void loaded(String kind, long nanos, long bytes);

    /** A version unloaded to make room ({@code budget}) or after its keep-alive ({@code keep_alive}). */
    void evicted(String kind, String reason);

    /** Reports the bytes loaded now, the number of loaded versions and the budget ({@code -1}: none). */
    void residency(LongSupplier loadedBytes, LongSupplier loadedVersions, long budgetBytes);

    ResidencyMetrics NONE = new ResidencyMetrics() {
        @Override
        public void loaded(String kind, long nanos, long bytes) {
        }

        @Override
        public void evicted(String kind, String reason) {
        }

        @Override
        public void residency(LongSupplier loadedBytes, LongSupplier loadedVersions, long budgetBytes) {
        }
    };
}
