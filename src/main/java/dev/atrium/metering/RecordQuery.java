package dev.atrium.metering;

import java.time.Instant;
import java.util.Optional;

/** A page of usage records, newest first; {@code before} is the previous page's last position. */
public record RecordQuery(Optional<String> tenantId, Optional<String> keyId, Optional<String> model,
        Optional<String> requestId, Optional<Instant> from, Optional<Instant> to, Optional<Long> before, int limit) {
    public RecordQuery {
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1 to 1000");
        }
    }
}
