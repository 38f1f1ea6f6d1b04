package dev.atrium.scheduling;

/**
 * How one model version is scheduled, as set for it (null fields take the server's defaults): its batches, its
 * concurrent executions and their threads, its queue and how long a request may wait in it.
 *
 * @param maxBatchSize rows in one batch; 1 turns batching across requests off
 * @param maxBatchTokens padded tokens (rows × longest input) in one batch
 * @param maxQueueDelayMicros how long a free instance may wait for a batch to fill
 * @param instances concurrent executions (each on a platform thread)
 * @param intraOpThreads ONNX Runtime threads inside one execution
 * @param queueCapacity items (inputs, tensor requests) that may wait
 * @param deadlineMillis how long a request may wait to start before it is refused with 503
 */
public record SchedulingOptions(Integer maxBatchSize, Integer maxBatchTokens, Long maxQueueDelayMicros,
        Integer instances, Integer intraOpThreads, Integer queueCapacity, Long deadlineMillis) {

    private static final SchedulingOptions NONE = new SchedulingOptions(null, null, null, null, null, null, null);

    public SchedulingOptions {
        check(maxBatchSize, 1, 4096, "max_batch_size");
        check(maxBatchTokens, 1, 1 << 24, "max_batch_tokens");
        check(maxQueueDelayMicros, 0, 10_000_000, "max_queue_delay_us");
        check(instances, 1, 256, "instances");
        check(intraOpThreads, 1, 256, "intra_op_threads");
        check(queueCapacity, 1, 1 << 20, "queue_capacity");
        check(deadlineMillis, 1, 3_600_000, "deadline_ms");
    }

    public static SchedulingOptions none() {
        return NONE;
    }

    /** These options, with the other's where these set none. */
    public SchedulingOptions orElse(SchedulingOptions other) {
        return new SchedulingOptions(
                maxBatchSize != null ? maxBatchSize : other.maxBatchSize,
                maxBatchTokens != null ? maxBatchTokens : other.maxBatchTokens,
                maxQueueDelayMicros != null ? maxQueueDelayMicros : other.maxQueueDelayMicros,
                instances != null ? instances : other.instances,
                intraOpThreads != null ? intraOpThreads : other.intraOpThreads,
                queueCapacity != null ? queueCapacity : other.queueCapacity,
                deadlineMillis != null ? deadlineMillis : other.deadlineMillis);
    }

    private static void check(Number value, long min, long max, String name) {
        if (value != null && (value.longValue() < min || value.longValue() > max)) {
            throw new IllegalArgumentException(name + " must be from " + min + " to " + max);
        }
    }
}
