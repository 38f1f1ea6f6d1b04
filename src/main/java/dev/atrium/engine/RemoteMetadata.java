package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Where a remote model version sends requests and how: an OpenAI-compatible upstream, the model name there, and
 * the policy for slow or failing answers. The upstream's API key is not here: it is stored encrypted apart.
 *
 * @param baseUrl the upstream's API root, e.g. {@code https://api.openai.com/v1}
 * @param timeoutMillis how long one attempt may wait for an answer, and a stream for its next chunk
 * @param maxAttempts attempts in all (1 = no retry) on connection errors, 429 and 5xx
 * @param initialBackoffMillis the wait before the first retry; it doubles (with jitter) for each next one
 * @param maxBackoffMillis the longest wait before a retry; an upstream asking for longer ({@code Retry-After}) is
 *     not retried, and its answer is passed on (or the fallbacks are tried)
 * @param fallbacks other models, in order, that serve a request this one could not answer
 * @param contextLength the upstream model's context in tokens, or 0 when not known
 * @param maxOutputTokens the most tokens a request without {@code max_tokens} is reserved for
 * @param hasApiKey whether requests carry an API key
 */
public record RemoteMetadata(String baseUrl, String upstreamModel, long timeoutMillis, int maxAttempts,
        long initialBackoffMillis, long maxBackoffMillis, List<String> fallbacks, int contextLength,
        int maxOutputTokens, boolean hasApiKey) {

    public RemoteMetadata {
        requireNonNull(baseUrl, "baseUrl is null");
        requireNonNull(upstreamModel, "upstreamModel is null");
        fallbacks = List.copyOf(fallbacks);
        if (timeoutMillis < 1 || maxAttempts < 1 || initialBackoffMillis < 0 || maxBackoffMillis < initialBackoffMillis
                || contextLength < 0 || maxOutputTokens < 1) {
            throw new IllegalArgumentException("invalid remote settings");
        }
    }
}
