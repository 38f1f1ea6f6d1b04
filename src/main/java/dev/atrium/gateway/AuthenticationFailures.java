package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.observe.AtriumMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Failed authentications, counted and sampled for the audit log, so that a flood of wrong keys costs a row per
 * source address per window rather than a row per attempt: the first failure from an address writes its row at
 * once, the further ones within the window are only counted, and when the window closes the count is written
 * onto that row ({@link AuditLog#recount}). Every failure is also counted in {@link AtriumMetrics}.
 *
 * <p>Memory is bounded: at most {@code maxSources} windows are open; a new address beyond that closes the
 * oldest window early (its row then stands for fewer failures, and a later one from the same address opens
 * another row: counts stay exact, only the sampling gets finer). Windows are closed by {@link #closeExpired},
 * which the gateway's ticker calls every second, and all of them by {@link #close}.
 *
 * <p>Concurrency: one lock guards the windows; it is held for a map update and, when a window opens or closes,
 * for queueing one audit write.
 */
final class AuthenticationFailures implements AutoCloseable {
    private final AuditLog audit;
    private final AtriumMetrics metrics;
    private final Clock clock;
    private final Duration window;
    private final int maxSources;
    private final ReentrantLock lock = new ReentrantLock();
    /** By source address ("" when unknown), oldest window first. */
    private final LinkedHashMap<String, Window> windows = new LinkedHashMap<>();

    AuthenticationFailures(AuditLog audit, AtriumMetrics metrics, Clock clock, Duration window, int maxSources) {
        this.audit = requireNonNull(audit, "audit is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.window = requireNonNull(window, "window is null");
        if (maxSources < 1) {
            throw new IllegalArgumentException("maxSources must be at least 1");
        }
        this.maxSources = maxSources;
    }

    /**
     * Counts one failure.
     *
     * @param actorPrefix the visible prefix of a well-formed key that did not authenticate, or null
     * @param target the method and path, e.g. {@code POST /v1/embeddings}
     * @param source the client's address, or null
     */
    void failed(String actorPrefix, String target, String source) {
        metrics.authenticationFailed();
        Instant now = clock.instant();
        String key = source == null ? "" : source;
        lock.lock();
        try {
            Window open = windows.get(key);
            if (open != null && now.isBefore(open.closesAt)) {
                open.failures++;
                return;
            }
            if (open != null) {
                windows.remove(key);
                close(open);
            }
            AuditEvent first = new AuditEvent(0, now, null, actorPrefix, null, "auth.failed", target, source, "denied", 401);
            audit.record(first);
            windows.put(key, new Window(first, now.plus(window)));
            if (windows.size() > maxSources) {
                Iterator<Window> oldest = windows.values().iterator();
                close(oldest.next());
                oldest.remove();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Closes the windows that have ended, writing their counts. */
    void closeExpired() {
        Instant now = clock.instant();
        lock.lock();
        try {
            Iterator<Map.Entry<String, Window>> entries = windows.entrySet().iterator();
            while (entries.hasNext()) {
                Window open = entries.next().getValue();
                if (now.isBefore(open.closesAt)) {
                    // windows are as long as each other: the ones after this opened later and end later
                    return;
                }
                close(open);
                entries.remove();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Windows open now. */
    int openWindows() {
        lock.lock();
        try {
            return windows.size();
        } finally {
            lock.unlock();
        }
    }

    /** Closes every window, writing its count (at shutdown, before the audit log closes). */
    @Override
    public void close() {
        lock.lock();
        try {
            windows.values().forEach(this::close);
            windows.clear();
        } finally {
            lock.unlock();
        }
    }

    private void close(Window open) {
        if (open.failures > 1) {
            audit.recount(open.first, open.failures);
        }
    }

    private static final class Window {
        final AuditEvent first;
        final Instant closesAt;
        int failures = 1;

        Window(AuditEvent first, Instant closesAt) {
            this.first = first;
            this.closesAt = closesAt;
        }
    }
}
