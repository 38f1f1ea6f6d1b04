package dev.atrium.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.testing.SettableClock;
import dev.atrium.testing.Stores;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Dialect.class)
class AuditRetentionTest {
    @Parameter
    Dialect dialect;

    @Test
    void retention_deletesRowsOlderThanItsDays_atStartAndEveryPeriod(@TempDir Path directory) throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-01T10:00:00Z"));
        try (Database database = Stores.open(dialect, directory)) {
            AuditLog audit = new AuditLog(database.jdbi());
            audit.record(event(clock.instant().minus(Duration.ofDays(400)), "old"));
            audit.record(event(clock.instant().minus(Duration.ofDays(364)), "kept"));
            audit.record(event(clock.instant().minus(Duration.ofDays(1)), "recent"));
            audit.flush();
            try (AuditRetention retention = new AuditRetention(audit, Duration.ofDays(365), clock, Duration.ofMillis(50))) {
                awaitTargets(audit, List.of("recent", "kept"));
                clock.advance(Duration.ofDays(2));
                awaitTargets(audit, List.of("recent"));
            }
            audit.close();
        }
    }

    private static void awaitTargets(AuditLog audit, List<String> expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!targets(audit).equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(targets(audit)).isEqualTo(expected);
    }

    private static List<String> targets(AuditLog audit) {
        return audit.query(new AuditQuery(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), 100)).stream().map(AuditEvent::target).toList();
    }

    private static AuditEvent event(Instant time, String target) {
        return new AuditEvent(0, time, null, null, null, "tenant.create", target, "127.0.0.1", "ok", 200);
    }
}
