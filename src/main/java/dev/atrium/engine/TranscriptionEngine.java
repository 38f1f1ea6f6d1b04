package dev.atrium.engine;

/** An engine that turns speech into text. */
public interface TranscriptionEngine extends Engine {

    /**
     * Decodes the request's audio and checks its options, without running the model, so that its duration can
     * be reserved first.
     *
     * @throws dev.atrium.AtriumException 400 for audio that cannot be decoded or options the model cannot take
     */
    PreparedTranscription prepare(Deployment deployment, TranscriptionRequest request);

    /**
     * Transcribes prepared audio, window by window (windows may run in parallel), telling the progress in order on
     * the calling thread.
     */
    Transcript transcribe(PreparedTranscription prepared, RunContext context, TranscriptionProgress progress);
}
