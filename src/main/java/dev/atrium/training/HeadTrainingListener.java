package dev.atrium.training;

/** What a head training run reports to, and asks whether to stop, between epochs. Called on the training thread. */
interface HeadTrainingListener {
    /** A listener that records nothing and never cancels. */
    HeadTrainingListener NONE = (progress, checkpoint) -> {};

    /**
     * An epoch finished.
     *
     * @param checkpoint the state after it, from which {@link SoftmaxHeadTrainer#resume} continues
     */
    void epochFinished(EpochProgress progress, HeadCheckpoint checkpoint);

    /** Asked before each epoch; true stops the run there, with a checkpoint of the epochs done. */
    default boolean cancelRequested() {
        return false;
    }
}
