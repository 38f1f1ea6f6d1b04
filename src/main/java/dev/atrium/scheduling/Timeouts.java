package dev.atrium.scheduling;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Timeouts for the waits of the request path (a request waiting for its batch, for its usage record's commit),
 * fired by one platform thread.
 *
 * <p>A timed wait on a virtual thread ({@code future.get(timeout)}) schedules and cancels a task in the JDK's
 * delay scheduler, which wakes that scheduler's thread both times: two futex wake-ups per wait, a measurable
 * share of a short request's CPU. Here a timeout is an entry in a sorted set; the thread sleeps toward the
 * earliest and is woken only when an earlier one arrives, which with the request path's uniform timeouts
 * (now + a fixed limit) is almost never. Cancelling removes the entry and wakes nobody. The waits themselves
 * become untimed: the timeout's action completes what they wait for.
 *
 * <p>Actions run on the timer's thread and must be short (complete a future, take a lock briefly); one that
 * throws is logged and the others still run. Thread-safe.
 */
public final class Timeouts {
    private static final Logger LOG = LoggerFactory.getLogger(Timeouts.class);
    private static final Timeouts SHARED = new Timeouts("atrium-timeouts");
    /** How far ahead "no timeout pending" is, in {@link System#nanoTime} terms; compared by difference only. */
    private static final long FAR = Long.MAX_VALUE / 4;

    /** The one timer of the process. */
    public static Timeouts shared() {
        return SHARED;
    }

    /** A pending timeout: cancel it once the wait ended by itself. */
    public final class Timeout implements Comparable<Timeout> {
        private final long at;
        private final long sequence;
        private final Runnable action;

        private Timeout(long at, long sequence, Runnable action) {
            this.at = at;
            this.sequence = sequence;
            this.action = action;
        }

        /** The action will not run (unless it already has, or is running now). */
        public void cancel() {
            pending.remove(this);
        }

        @Override
        public int compareTo(Timeout other) {
            long difference = at - other.at; // nanoTime values compare by difference: they may wrap
            return difference != 0 ? (difference < 0 ? -1 : 1) : Long.compare(sequence, other.sequence);
        }
    }

    private final ConcurrentSkipListSet<Timeout> pending = new ConcurrentSkipListSet<>();
    private final AtomicLong sequence = new AtomicLong();
    private final Thread thread;
    /** The time the thread sleeps until; a timeout due before it wakes the thread. */
    private volatile long wakeAt;

    Timeouts(String name) {
        this.wakeAt = System.nanoTime() + FAR;
        this.thread = Thread.ofPlatform().name(name).daemon(true).start(this::loop);
    }

    /** Runs {@code action} once {@code after} has passed, unless cancelled first. */
    public Timeout after(Duration after, Runnable action) {
        return at(System.nanoTime() + Math.min(FAR, after.toNanos()), action);
    }

    /** Runs {@code action} at {@code deadline} ({@link System#nanoTime} terms), unless cancelled first. */
    public Timeout at(long deadline, Runnable action) {
        Timeout timeout = new Timeout(deadline, sequence.incrementAndGet(), requireNonNull(action, "action is null"));
        pending.add(timeout);
        if (deadline - wakeAt < 0) {
            LockSupport.unpark(thread);
        }
        return timeout;
    }

    /** Timeouts not yet fired nor cancelled. */
    int pending() {
        return pending.size();
    }

    private void loop() {
        while (true) {
            long now = System.nanoTime();
            Timeout first = pending.isEmpty() ? null : first();
            if (first != null && first.at - now <= 0) {
                if (pending.remove(first)) {
                    fire(first);
                }
                continue;
            }
            long until = first == null ? now + FAR : first.at;
            wakeAt = until;
            // one added before wakeAt was written may be earlier and have seen the old value: look again
            Timeout again = pending.isEmpty() ? null : first();
            if (again != first) {
                continue;
            }
            LockSupport.parkNanos(this, until - now);
        }
    }

    private Timeout first() {
        try {
            return pending.first();
        } catch (java.util.NoSuchElementException e) {
            return null; // emptied since isEmpty()
        }
    }

    private static void fire(Timeout timeout) {
        try {
            timeout.action.run();
        } catch (RuntimeException | Error e) {
            LOG.error("a timeout's action failed", e);
        }
    }
}
