package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;

/**
 * One request in the usage ledger.
 *
 * @param requestId made by the server, unique: the ledger's key
 * @param clientRequestId the client's {@code X-Request-Id}, if it sent one
 * @param outcome {@code ok}, {@code error} or {@code client_cancelled}
 */
public record UsageRecord(String requestId, String clientRequestId, Instant startedAt, Instant endedAt,
        String tenantId, String keyId, String model, int version, String endpoint, String outcome, Usage usage,
        Charge charge) {

    public UsageRecord {
        requireNonNull(requestId, "requestId is null");
        // as the ledger keeps them, so that a record read back equals the one written
        startedAt = EpochMicros.truncate(requireNonNull(startedAt, "startedAt is null"));
        endedAt = EpochMicros.truncate(requireNonNull(endedAt, "endedAt is null"));
        requireNonNull(keyId, "keyId is null");
        requireNonNull(model, "model is null");
        requireNonNull(endpoint, "endpoint is null");
        requireNonNull(outcome, "outcome is null");
        requireNonNull(usage, "usage is null");
        requireNonNull(charge, "charge is null");
    }
}
