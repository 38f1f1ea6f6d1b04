package dev.atrium.audit;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;

/**
 * One row of the audit log: who did what to what, from where, and how it ended. It names keys by id and visible
 * prefix, never by secret.
 *
 * @param id the row's position in the log; 0 until written
 * @param tenantId the tenant the action concerns, or null for the platform
 * @param outcome {@code ok}, {@code denied} (401/403), {@code not_found} or {@code failed}
 * @param occurrences how many times it happened: 1, or more for a sampled row (failed authentications from one
 *     source address within a minute)
 */
public record AuditEvent(long id, Instant time, String actorKeyId, String actorPrefix, String tenantId, String action,
        String target, String sourceAddress, String outcome, int status, int occurrences) {

    public AuditEvent {
        time = EpochMicros.truncate(requireNonNull(time, "time is null"));
        requireNonNull(action, "action is null");
        requireNonNull(outcome, "outcome is null");
        if (occurrences < 1) {
            throw new IllegalArgumentException("occurrences must be at least 1: " + occurrences);
        }
    }

    /** An event that happened once. */
    public AuditEvent(long id, Instant time, String actorKeyId, String actorPrefix, String tenantId, String action,
            String target, String sourceAddress, String outcome, int status) {
        this(id, time, actorKeyId, actorPrefix, tenantId, action, target, sourceAddress, outcome, status, 1);
    }

    /** The outcome word for an HTTP status. */
    public static String outcome(int status) {
        if (status < 400) {
            return "ok";
        }
        if (status == 401 || status == 403) {
            return "denied";
        }
        return status == 404 ? "not_found" : "failed";
    }
}
