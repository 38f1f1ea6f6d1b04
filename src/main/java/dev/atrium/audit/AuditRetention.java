package dev.atrium.audit;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the audit log within its retention: deletes the rows older than the retention at start and then every
 * period, on one daemon thread.
 */
public final class AuditRetention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditRetention.class);

    private final AuditLog audit;
    private final Duration retention;
    private final Clock clock;
    private final Duration period;
    private final Thread thread;

    public AuditRetention(AuditLog audit, Duration retention, Clock clock, Duration period) {
        this.audit = requireNonNull(audit, "audit is null");
        this.retention = requireNonNull(retention, "retention is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.period = requireNonNull(period, "period is null");
        if (retention.isNegative() || retention.isZero() || period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("retention and period must be positive");
        }
        this.thread = Thread.ofPlatform().name("audit-retention").daemon(true).start(this::loop);
    }

    private void loop() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                int deleted = audit.deleteOlderThan(clock.instant().minus(retention));
                if (deleted > 0) {
                    LOG.info("deleted {} audit rows older than {} days", deleted, retention.toDays());
                }
            } catch (RuntimeException e) {
                LOG.warn("cannot delete old audit rows; trying again in {}", period, e);
            }
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
