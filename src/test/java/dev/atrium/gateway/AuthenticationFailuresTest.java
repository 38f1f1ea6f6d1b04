package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditQuery;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.testing.SettableClock;
import dev.atrium.testing.Stores;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The sampling of failed authentications: a row per source address per window, with the exact count. */
@ParameterizedClass(name = "{0}")
@EnumSource(Dialect.class)
class AuthenticationFailuresTest {
    @Parameter
    Dialect dialect;

    private static final Duration WINDOW = Duration.ofMinutes(1);

    @TempDir
    Path directory;
    private Database database;
    private AuditLog audit;
    private AtriumMetrics metrics;
    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-01T10:00:00Z"));

    @BeforeEach
    void open() {
        database = Stores.open(dialect, directory);
        audit = new AuditLog(database.jdbi());
        metrics = new AtriumMetrics();
    }

    @AfterEach
    void close() {
        audit.close();
        database.close();
    }

    @Test
    void failed_manyFromOneAddressInAWindow_writeOneRowAtOnce_andItsCountWhenTheWindowCloses() {
        AuthenticationFailures failures = new AuthenticationFailures(audit, metrics, clock, WINDOW, 100);
        for (int i = 0; i < 500; i++) {
            failures.failed(null, "GET /v1/models", "10.0.0.1");
            clock.advance(Duration.ofMillis(100));
        }
        assertThat(rows()).singleElement().satisfies(row -> {
            assertThat(row.occurrences()).isEqualTo(1);
            assertThat(row.sourceAddress()).isEqualTo("10.0.0.1");
            assertThat(row.outcome()).isEqualTo("denied");
            assertThat(row.status()).isEqualTo(401);
        });

        clock.advance(WINDOW);
        failures.closeExpired();
        assertThat(rows()).singleElement().satisfies(row -> assertThat(row.occurrences()).isEqualTo(500));
        assertThat(failures.openWindows()).isZero();
        assertThat(metrics.scrape()).contains("atrium_auth_failures_total 500.0");

        failures.failed("atr-abcdefgh", "POST /v1/embeddings", "10.0.0.1");
        failures.failed("atr-abcdefgh", "POST /v1/embeddings", "10.0.0.1");
        failures.close();
        assertThat(rows()).hasSize(2).first().satisfies(row -> {
            assertThat(row.occurrences()).isEqualTo(2);
            assertThat(row.actorPrefix()).isEqualTo("atr-abcdefgh");
        });
    }

    @Test
    void failed_moreAddressesThanTheBound_keepsMemoryBounded_andCountsExact() {
        AuthenticationFailures failures = new AuthenticationFailures(audit, metrics, clock, WINDOW, 8);
        int total = 0;
        for (int round = 0; round < 20; round++) {
            for (int source = 0; source < 50; source++) {
                failures.failed(null, "GET /v1/models", "10.0.1." + source);
                total++;
                assertThat(failures.openWindows()).isLessThanOrEqualTo(8);
            }
        }
        failures.close();
        List<AuditEvent> rows = rows();
        assertThat(rows.stream().mapToInt(AuditEvent::occurrences).sum()).isEqualTo(total);
        assertThat(rows.stream().map(AuditEvent::sourceAddress).distinct()).hasSize(50);
    }

    private List<AuditEvent> rows() {
        return audit.query(new AuditQuery(Optional.empty(), Optional.empty(), Optional.of("auth.failed"),
                Optional.empty(), Optional.empty(), Optional.empty(), 1000));
    }
}
