package dev.atrium.engine;

import tools.jackson.databind.node.ObjectNode;

/**
 * An engine that generates by forwarding OpenAI-shaped requests to an upstream that speaks the same API: remote
 * chat and completion models. The client's body goes on with only what the engine must own replaced (the
 * model, and the output bounds that were reserved), so fields Atrium does not interpret still work.
 */
public interface ForwardingEngine extends Engine {

    /**
     * Turns a client's body into the upstream's request: {@code model} replaced, {@code max_tokens} (or
     * {@code max_completion_tokens}) and {@code n} fixed, usage asked for when streaming; and works out the most
     * tokens the request can use.
     *
     * @throws dev.atrium.AtriumException 400 for a body the upstream could not take
     */
    ForwardedRequest prepare(Deployment deployment, ObjectNode body, boolean chat);

    /** The tokens of a text as counted here (when an upstream reports no usage). */
    int countTokens(String text);

    /** Sends a request and reads the whole answer; tells the context once the request is on its way. */
    ForwardedAnswer call(Deployment deployment, ForwardedRequest request, RunContext context);

    /** Sends a streaming request; the caller closes the stream. */
    ForwardedStream stream(Deployment deployment, ForwardedRequest request, RunContext context);
}
