package dev.atrium.serving;

import dev.atrium.engine.ClassificationEngine;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.PredictionEngine;
import dev.atrium.engine.TranscriptionEngine;
import dev.atrium.engine.Engine;
import dev.atrium.engine.ForwardingEngine;
import dev.atrium.engine.LanguageEngine;
import dev.atrium.engine.TensorEngine;

/**
 * The serving layer's entry points: every kind of model call a protocol adapter can make. Tests enumerate
 * them, so a path added here is covered by the rules every path obeys (one record, charge within reservation).
 */
public enum Endpoint {
    EMBEDDINGS("/v1/embeddings"),
    CHAT_COMPLETIONS("/v1/chat/completions"),
    COMPLETIONS("/v1/completions"),
    INFER("/v2/infer"),
    CLASSIFICATIONS("/v1/classifications"),
    TRANSCRIPTIONS("/v1/audio/transcriptions"),
    PREDICTIONS("/v1/predictions"),
    /**
     * A fine-tuning job, one call from its creation to its end (on a trainer, not an engine's capability: no
     * engine serves it here; its ledger rule is checked by the training ledger test).
     */
    FINE_TUNING("/v1/fine_tuning/jobs"),
    /**
     * A version quantized to int8, one call from the rewrite to the end of its measurement (the platform's work for
     * the model's owner, on its key, priced by the model's {@code per_compute_second}; no engine serves it).
     */
    QUANTIZE("/admin/models/{name}/versions/{version}/quantize");

    private final String wireName;

    Endpoint(String wireName) {
        this.wireName = wireName;
    }

    /** Whether an engine has the capability this entry point calls. */
    public boolean servedBy(Engine engine) {
        return switch (this) {
            case EMBEDDINGS -> engine instanceof EmbeddingEngine;
            case INFER -> engine instanceof TensorEngine;
            case CHAT_COMPLETIONS, COMPLETIONS -> engine instanceof LanguageEngine || engine instanceof ForwardingEngine;
            // zero-shot classification is done with an embedding model
            case CLASSIFICATIONS -> engine instanceof ClassificationEngine || engine instanceof EmbeddingEngine;
            case TRANSCRIPTIONS -> engine instanceof TranscriptionEngine;
            case PREDICTIONS -> engine instanceof PredictionEngine;
            case FINE_TUNING, QUANTIZE -> false; // jobs (isJob)
        };
    }

    /** Whether this is a job: one call over work that no engine's capability serves, metered by its compute time. */
    public boolean isJob() {
        return this == FINE_TUNING || this == QUANTIZE;
    }

    /** The name in usage records and metrics. */
    public String wireName() {
        return wireName;
    }
}
