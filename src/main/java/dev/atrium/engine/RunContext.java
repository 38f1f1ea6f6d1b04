package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * What an engine is told about one call besides its input: whose work it is (for the fair share of queues),
 * until when it may run, and whom to tell once the work is accepted (queued, started or sent upstream), from
 * which moment the call has reached the model and is recorded whatever ends it.
 *
 * @param queueOwner whose work it is: a tenant id, or "" for the platform
 * @param deadlineNanos {@link System#nanoTime()} past which the work must not start, and is cut if it can be
 * @param accepted called once, when the engine has taken the work
 */
public record RunContext(String queueOwner, long deadlineNanos, Runnable accepted) {
    public RunContext {
        requireNonNull(queueOwner, "queueOwner is null");
        requireNonNull(accepted, "accepted is null");
    }

    /** Work of the platform's own, with this long to run, that nobody watches. */
    public static RunContext platform(java.time.Duration timeout) {
        return new RunContext("", System.nanoTime() + timeout.toNanos(), () -> { });
    }

    /** Nanoseconds left until the deadline; never negative. */
    public long remainingNanos() {
        return Math.max(0, deadlineNanos - System.nanoTime());
    }
}
