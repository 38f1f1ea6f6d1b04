package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * A request on its way to an upstream, and the bounds of what it can use.
 *
 * @param path the API path under the upstream's base URL
 * @param body the bytes to send
 * @param promptEstimate the prompt's tokens as counted here (OpenAI's o200k encoding), for rate limits
 * @param promptBound the most prompt tokens the upstream can read for it, whatever its tokenizer
 * @param completionBound the most tokens it may produce: {@code max_tokens} times the choices asked for
 * @param includeUsage whether the client asked for a usage chunk at the end of its stream
 */
public record ForwardedRequest(String path, byte[] body, boolean chat, boolean stream, boolean includeUsage,
        long promptEstimate, long promptBound, long completionBound) {
    public ForwardedRequest {
        requireNonNull(path, "path is null");
        requireNonNull(body, "body is null");
        if (promptEstimate < 0 || promptBound < promptEstimate || completionBound < 1) {
            throw new IllegalArgumentException("invalid bounds");
        }
    }
}
