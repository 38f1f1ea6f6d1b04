package dev.atrium.serving;

/**
 * The attempts of one request across a model and its fallbacks. A request has one usage record: an attempt that
 * failed before it sent anything to the client is held back until the request ends; if a fallback then answers,
 * it is dropped (it delivered nothing, and its reservation is given back); if none does, it is written.
 */
final class Attempts {
    private ModelCall pending;

    /** Holds a failed attempt back; false when the request can have no further attempt. */
    boolean defer(ModelCall call) {
        if (pending != null && pending != call) {
            pending.discard();
        }
        pending = call;
        return true;
    }

    /** An attempt was recorded: what was held back before it is dropped. */
    void settled(ModelCall call) {
        if (pending != null && pending != call) {
            pending.discard();
            pending = null;
        }
    }

    /** The request ends without an answer: the last failed attempt is its record. */
    void flush() {
        if (pending != null) {
            ModelCall last = pending;
            pending = null;
            last.flush();
        }
    }
}
