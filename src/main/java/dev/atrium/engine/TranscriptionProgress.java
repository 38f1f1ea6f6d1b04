package dev.atrium.engine;

/**
 * Told as a transcription goes, on the thread that asked for it, in order: how many windows the audio is cut into,
 * then each segment of text as soon as every window before it is done. A protocol adapter streams them; a caller
 * that waits for the whole transcript uses {@link #NONE}.
 *
 * <p>A callback may throw {@link java.io.UncheckedIOException} when the client it writes to has gone: the
 * transcription stops and is recorded as the client's cancellation.
 */
public interface TranscriptionProgress {
    TranscriptionProgress NONE = new TranscriptionProgress() {
        @Override
        public void planned(int windows) {}

        @Override
        public void segment(Transcript.Segment segment, int windowsDone, int windows) {}
    };

    /** The audio is cut into this many windows; none has run yet. */
    void planned(int windows);

    /** A segment of the transcript, in order; {@code windowsDone} windows of {@code windows} are transcribed. */
    void segment(Transcript.Segment segment, int windowsDone, int windows);
}
