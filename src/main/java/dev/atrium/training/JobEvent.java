package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;
import tools.jackson.databind.JsonNode;

/**
 * One step of a job's progress, in order: a status change, an epoch's metrics, an error.
 *
 * @param level {@code info}, {@code warn} or {@code error}
 * @param data the step's figures (epoch, loss, accuracy), or null
 */
public record JobEvent(String jobId, long seq, Instant createdAt, String level, String message, JsonNode data) {
    public JobEvent {
        requireNonNull(jobId, "jobId is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
        requireNonNull(level, "level is null");
        requireNonNull(message, "message is null");
    }

    /** The OpenAI-style id of the event: the job's and its place in the job's events. */
    public String id() {
        return "ftevent-" + jobId.substring(jobId.indexOf('-') + 1) + "-" + seq;
    }
}
