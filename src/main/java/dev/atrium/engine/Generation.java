package dev.atrium.engine;

import java.time.Duration;

/** A running generation: its events come in order, ending with {@link GenerationEvent.Done} or a failure. */
public interface Generation {
    /**
     * The next event, waiting at most {@code timeout}.
     *
     * @return null if nothing came in time
     */
    GenerationEvent next(Duration timeout) throws InterruptedException;

    /** Stops the generation at once and frees its slot; a {@code Done} with reason {@code cancelled} follows. */
    void cancel();
}
