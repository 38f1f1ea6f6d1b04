package dev.atrium;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The one exception Atrium throws for a failed request. Its message is written for the client: it never
 * holds a stack trace, a file path or a secret. Each protocol turns it into its own error shape.
 */
public final class AtriumException extends RuntimeException {
    private final ErrorCode code;
    private final String param;
    private final Integer retryAfterSeconds;
    private final List<Map.Entry<String, String>> headers;

    public AtriumException(ErrorCode code, String message) {
        this(code, message, null, null, null);
    }

    private AtriumException(ErrorCode code, String message, String param, Integer retryAfterSeconds, Throwable cause) {
        this(code, message, param, retryAfterSeconds, cause, List.of());
    }

    private AtriumException(ErrorCode code, String message, String param, Integer retryAfterSeconds, Throwable cause,
            List<Map.Entry<String, String>> headers) {
        super(requireNonNull(message, "message is null"), cause);
        this.code = requireNonNull(code, "code is null");
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
        this.headers = List.copyOf(headers);
    }

    /** The same failure, answered with these extra response headers (e.g. rate-limit state). */
    public AtriumException withHeaders(List<Map.Entry<String, String>> extra) {
        return new AtriumException(code, getMessage(), param, retryAfterSeconds, getCause(), extra);
    }

    /** A user error about one request field, named in OpenAI's {@code param}. */
    public static AtriumException invalidParam(String param, String message) {
        return new AtriumException(ErrorCode.INVALID_REQUEST, message, param, null, null);
    }

    public static AtriumException withParam(ErrorCode code, String param, String message) {
        return new AtriumException(code, message, param, null, null);
    }

    /** A refusal the client may retry after the given number of seconds. */
    public static AtriumException retryable(ErrorCode code, String message, int retryAfterSeconds) {
        return new AtriumException(code, message, null, retryAfterSeconds, null);
    }

    /** An internal failure; the cause is logged, never sent. */
    public static AtriumException internal(String message, Throwable cause) {
        return new AtriumException(ErrorCode.INTERNAL, message, null, null, cause);
    }

    public ErrorCode code() {
        return code;
    }

    public Optional<String> param() {
        return Optional.ofNullable(param);
    }

    public List<Map.Entry<String, String>> headers() {
        return headers;
    }

    public OptionalInt retryAfterSeconds() {
        return retryAfterSeconds == null ? OptionalInt.empty() : OptionalInt.of(retryAfterSeconds);
    }
}
