package dev.atrium.training.tabular;

/** Why a boosting run ended. */
public enum StopReason {
    /** All rounds ran. */
    COMPLETED,
    /** The validation metric stopped improving; the model keeps the rounds up to its best. */
    EARLY_STOPPED,
    /** Cancellation was asked for between rounds; there is no model, only a checkpoint to resume from. */
    CANCELLED
}
