package dev.atrium.serving;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.RunContext;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Outcome;
import dev.atrium.metering.Usage;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One model call, from its reservation to its usage record. It keeps the one failure rule: once an engine has
 * accepted the work, the call leaves exactly one record whatever ends it (an answer, the client leaving, the
 * deadline, an engine or upstream failure), with the usage actually consumed and never more than was reserved;
 * before that, nothing reached a model, and closing it gives the reservation back with no record.
 *
 * <p>Not thread-safe, apart from {@link #accept}, which an engine may call from its own thread: a request's
 * thread drives it.
 */
final class ModelCall implements AutoCloseable {
    /** Nothing used: a call that never ran. */
    static final Usage NOTHING = new Usage(0, 0, 0, 0);

    private final Metering.Meter meter;
    private final Usage reserved;
    private final RunContext context;
    private final Attempts attempts;
    private final Ended ended;
    private final long openedNanos = System.nanoTime();
    private volatile boolean accepted;
    private Usage consumed = NOTHING;
    private Outcome failure = Outcome.ENGINE_ERROR;
    private boolean settled;

    /** Told how a call that reached its model ended, and how long after it was opened. */
    @FunctionalInterface
    interface Ended {
        void ended(Outcome outcome, Duration latency);
    }

    /**
     * @param reserved the usage reserved: every usage recorded is cut to it
     * @param attempts the request's earlier attempts, when fallbacks may follow this one; else null
     * @param ended told once how the call ended, if it reached its model
     */
    ModelCall(Metering.Meter meter, Usage reserved, String queueOwner, long deadlineNanos, Attempts attempts,
            Ended ended) {
        this.meter = requireNonNull(meter, "meter is null");
        this.reserved = requireNonNull(reserved, "reserved is null");
        this.context = new RunContext(queueOwner, deadlineNanos, this::accept);
        this.attempts = attempts;
        this.ended = requireNonNull(ended, "ended is null");
    }

    /** What the engine is told: whose work, until when, and whom to tell when it takes it. */
    RunContext context() {
        return context;
    }

    /** The engine took the work: from now on the call is recorded whatever ends it. */
    void accept() {
        accepted = true;
    }

    boolean isAccepted() {
        return accepted;
    }

    /** The best known usage so far, recorded if the call ends without saying more. */
    void consumed(Usage usage) {
        consumed = usage;
    }

    /** The usage last reported through {@link #consumed}. */
    Usage consumedUsage() {
        return consumed;
    }

    /** Whether the call's record is written (or its reservation given back). */
    boolean isSettled() {
        return settled;
    }

    /** How the call ends if it is closed without {@link #succeed}: an upstream's failure, say. */
    void failing(Outcome outcome) {
        failure = outcome;
    }

    /** The call answered: records it and settles the reservation, before the answer's last byte goes out. */
    Map<String, List<BigDecimal>> succeed(Usage usage) {
        accepted = true;
        return settle(Outcome.OK, usage);
    }

    /** The call ended without an answer: records what it used. */
    void fail(Outcome outcome, Usage usage) {
        accepted = true;
        settle(outcome, usage);
    }

    private Map<String, List<BigDecimal>> settle(Outcome outcome, Usage usage) {
        if (settled) {
            throw new IllegalStateException("a model call is settled once");
        }
        settled = true;
        if (attempts != null) {
            attempts.settled(this);
        }
        ended.ended(outcome, Duration.ofNanos(System.nanoTime() - openedNanos));
        meter.finish(withinReservation(usage), outcome);
        return meter.alerts();
    }

    /**
     * The usage cut to what was reserved. Engines and the serving layer bound tokens before they run (and an
     * upstream's report is checked before it gets here), so only compute time can come out longer, when a run
     * that cannot be interrupted outlives its deadline: the caller is not charged past it.
     */
    Usage withinReservation(Usage usage) {
        return usage.atMost(reserved);
    }

    /**
     * Ends a call that was neither answered nor failed explicitly: recorded with its last known usage if it
     * reached the model (left for the request's fallbacks to decide, when it has some), else given back.
     */
    @Override
    public void close() {
        if (settled) {
            return;
        }
        if (!accepted) {
            settled = true;
            meter.release();
            return;
        }
        if (attempts != null && attempts.defer(this)) {
            return;
        }
        fail(failure, consumed);
    }

    /** Writes the record of a call that {@link Attempts} had held back: no fallback answered after it. */
    void flush() {
        if (!settled) {
            settle(failure, consumed);
        }
    }

    /** Gives back a call that {@link Attempts} held back: a fallback answered, and its record is the request's. */
    void discard() {
        if (!settled) {
            settled = true;
            ended.ended(failure, Duration.ofNanos(System.nanoTime() - openedNanos)); // its model did fail
            meter.release();
        }
    }
}
