package dev.atrium.serving;

import dev.atrium.AtriumException;
import dev.atrium.metering.Usage;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.node.ObjectNode;

/**
 * Where the serving layer hands a generation's answer, for a protocol adapter to encode. Calls come in this
 * order: {@link #begin} once the answer is committed to one model (no fallback after it), then text pieces (a
 * local model) or upstream chunks (a remote model's stream), then one {@link #end} or {@link #failed}; a whole
 * remote answer comes as one {@link #whole}. An {@link IOException} means the client has gone: the serving layer
 * stops the generation and records what was produced.
 */
public interface GenerationSink {

    /**
     * The answer's identity: the same in every chunk of a stream.
     *
     * @param id OpenAI's id, the object's prefix and the server's request id
     * @param created seconds since the epoch
     * @param model the name of the model that answers (a fallback's, if one answers)
     * @param version that model's version
     */
    record Answer(boolean chat, String id, long created, String model, int version) {}

    void begin(Answer answer) throws IOException;

    /**
     * Nothing to send yet (a stream waiting for its model's first token, queued behind others): a stream writes
     * something its client ignores, so that a client that has gone is noticed and its work dropped before it runs.
     * A whole answer does nothing.
     */
    void heartbeat() throws IOException;

    /** A piece of generated text (a local model). */
    void text(String text) throws IOException;

    /** A chunk of a remote model's stream, as its upstream sent it. */
    void chunk(ObjectNode chunk) throws IOException;

    /** A remote model's whole answer, with the usage it is billed for. */
    void whole(ObjectNode answer, Usage usage, Map<String, List<BigDecimal>> alerts) throws IOException;

    /**
     * The end of an answer that succeeded, recorded already.
     *
     * @param finishReason the local model's, or null for a remote stream (its chunks carried it)
     */
    void end(String finishReason, Usage usage, Map<String, List<BigDecimal>> alerts) throws IOException;

    /** The generation failed after {@link #begin}: the client is told in the answer's own shape. */
    void failed(AtriumException failure) throws IOException;
}
