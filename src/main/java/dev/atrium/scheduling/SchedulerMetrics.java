package dev.atrium.scheduling;

import java.util.function.Supplier;

/** Where batchers report: per model, its queue depth, batch sizes, queue waits and execution times. */
public interface SchedulerMetrics {
    /** Starts reporting a model's batcher; returns what it reports to. */
    Batcher.Observer register(String model, Supplier<Number> queueDepth);

    /** Stops reporting a model (unloaded). */
    void unregister(String model);

    SchedulerMetrics NONE = new SchedulerMetrics() {
        @Override
        public Batcher.Observer register(String model, Supplier<Number> queueDepth) {
            return Batcher.Observer.NONE;
        }

        @Override
        public void unregister(String model) {}
    };
}
