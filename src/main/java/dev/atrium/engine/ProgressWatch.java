package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Whether an engine is making progress: it is stalled when work is running or waiting and nothing has moved
 * (no token, no finished request) for longer than a threshold. A stalled model reports not ready, so that
 * traffic goes elsewhere while health checks that only see a live process would stay green.
 */
public final class ProgressWatch {
    private final long stallNanos;
    private final LongSupplier clock;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong lastProgress;

    /** @param clock nanoseconds, as {@link System#nanoTime()} */
    public ProgressWatch(Duration stallAfter, LongSupplier clock) {
        this.stallNanos = requireNonNull(stallAfter, "stallAfter is null").toNanos();
        this.clock = requireNonNull(clock, "clock is null");
        this.lastProgress = new AtomicLong(clock.getAsLong());
    }

    /** A request was accepted (running or queued). */
    public void accepted() {
        if (pending.getAndIncrement() == 0) {
            lastProgress.set(clock.getAsLong());
        }
    }

    /** Work moved: a token came out. */
    public void progressed() {
        lastProgress.set(clock.getAsLong());
    }

    /** A request ended, in any way. */
    public void finished() {
        pending.decrementAndGet();
        lastProgress.set(clock.getAsLong());
    }

    /** Requests accepted and not yet ended. */
    public int pending() {
        return pending.get();
    }

    public boolean isStalled() {
        return pending.get() > 0 && clock.getAsLong() - lastProgress.get() > stallNanos;
    }
}
