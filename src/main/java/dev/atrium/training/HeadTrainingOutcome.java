package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** How a head training run ended: with the trained head, or cancelled between epochs with a checkpoint. */
sealed interface HeadTrainingOutcome {
    /** Every epoch's progress from the first, including those before a resume. */
    List<EpochProgress> history();

    /** All epochs ran. */
    record Completed(SoftmaxHead head, List<EpochProgress> history) implements HeadTrainingOutcome {
        public Completed {
            requireNonNull(head, "head is null");
            history = List.copyOf(history);
        }
    }

    /** The run stopped when asked, before the epoch after {@code checkpoint.epoch()}. */
    record Cancelled(HeadCheckpoint checkpoint, List<EpochProgress> history) implements HeadTrainingOutcome {
        public Cancelled {
            requireNonNull(checkpoint, "checkpoint is null");
            history = List.copyOf(history);
        }
    }
}
