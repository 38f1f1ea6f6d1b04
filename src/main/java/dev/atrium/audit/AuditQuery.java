package dev.atrium.audit;

import java.time.Instant;
import java.util.Optional;

/**
 * A page of the audit log, newest first.
 *
 * @param before only rows older than this row id (the previous page's {@code next})
 * @param limit rows per page, 1 to 1000
 */
public record AuditQuery(Optional<String> tenantId, Optional<String> actorKeyId, Optional<String> action,
        Optional<Instant> from, Optional<Instant> to, Optional<Long> before, int limit) {

    public AuditQuery {
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1 to 1000");
        }
    }
}
