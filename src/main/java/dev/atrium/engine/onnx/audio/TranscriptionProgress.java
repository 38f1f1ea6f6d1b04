package dev.atrium.engine.onnx.audio;

/** Told how many of a recording's windows are transcribed, e.g. for a progress bar; called on the working thread. */
@FunctionalInterface
public interface TranscriptionProgress {
    TranscriptionProgress NONE = (done, total) -> {};

    /** {@code done} of {@code total} windows are finished; called with 0 before the first. */
    void windowsDone(int done, int total);
}
