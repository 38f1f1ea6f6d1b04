package dev.atrium.training.tabular;

/**
 * Hears of a boosting run as it goes, on the training thread: each round's metrics, and checkpoints to store so
 * that a run cut short can resume. A listener that throws stops the run with its exception.
 */
public interface TrainingListener {
    void round(RoundReport report);

    /** A state the run can resume from ({@link GradientBoostingTrainer#resume}); by default dropped. */
    default void checkpoint(BoostingCheckpoint checkpoint) {}

    /** Whether a checkpoint made now would be kept; the model is not serialized for one that would not. */
    default boolean wantsCheckpoint() {
        return true;
    }

    /** Hears nothing. */
    static TrainingListener ignoring() {
        return report -> {};
    }
}
