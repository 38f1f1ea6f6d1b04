package dev.atrium.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.RemoteMetadata;
import java.net.http.HttpHeaders;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private static final RemoteMetadata POLICY = new RemoteMetadata("http://h/v1", "m", 1000, 5, 100, 1000, List.of(),
            0, 16, false);

    @Test
    void retryAfter_readsSecondsAndHttpDates_andIgnoresGarbage() {
        assertThat(RemoteEngine.retryAfterMillis(headers("7")).getAsLong()).isEqualTo(7000);
        String inTenSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(10));
        assertThat(RemoteEngine.retryAfterMillis(headers(inTenSeconds)).getAsLong()).isBetween(8000L, 10_000L);
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).minusHours(1));
        assertThat(RemoteEngine.retryAfterMillis(headers(past)).getAsLong()).isZero();
        assertThat(RemoteEngine.retryAfterMillis(headers("soon"))).isEmpty();
        assertThat(RemoteEngine.retryAfterMillis(HttpHeaders.of(Map.of(), (a, b) -> true))).isEmpty();
    }

    @Test
    void backoff_growsWithJitter_andStopsAtTheMaximum() {
        for (int i = 0; i < 200; i++) {
            assertThat(RemoteEngine.backoffMillis(POLICY, 1)).isBetween(50L, 100L);
            assertThat(RemoteEngine.backoffMillis(POLICY, 2)).isBetween(100L, 200L);
            assertThat(RemoteEngine.backoffMillis(POLICY, 3)).isBetween(200L, 400L);
            assertThat(RemoteEngine.backoffMillis(POLICY, 40)).isBetween(500L, 1000L);
        }
    }

    private static HttpHeaders headers(String retryAfter) {
        return HttpHeaders.of(Map.of("Retry-After", List.of(retryAfter)), (a, b) -> true);
    }
}
