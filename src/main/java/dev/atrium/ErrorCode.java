package dev.atrium;

/**
 * Every way a request can fail, with the HTTP status and the OpenAI error {@code type} and {@code code}
 * that each protocol adapter puts on the wire.
 */
public enum ErrorCode {
    INVALID_REQUEST(400, "invalid_request_error", "invalid_request", Category.USER),
    INVALID_JSON(400, "invalid_request_error", "invalid_json", Category.USER),
    CONTEXT_LENGTH_EXCEEDED(400, "invalid_request_error", "context_length_exceeded", Category.USER),
    UNSUPPORTED_BY_MODEL(400, "invalid_request_error", "unsupported_by_model", Category.USER),
    /** A request's output is larger than the server's per-request limit ({@code max-output-size}). */
    OUTPUT_TOO_LARGE(400, "invalid_request_error", "output_too_large", Category.USER),
    UNAUTHENTICATED(401, "invalid_request_error", "invalid_api_key", Category.AUTH),
    PERMISSION_DENIED(403, "invalid_request_error", "permission_denied", Category.AUTH),
    NOT_FOUND(404, "invalid_request_error", "not_found", Category.USER),
    MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found", Category.USER),
    METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed", Category.USER),
    CONFLICT(409, "invalid_request_error", "conflict", Category.USER),
    PAYLOAD_TOO_LARGE(413, "invalid_request_error", "request_too_large", Category.USER),
    UNSUPPORTED_MEDIA_TYPE(415, "invalid_request_error", "unsupported_media_type", Category.USER),
    INVALID_ARTIFACT(422, "invalid_request_error", "invalid_artifact", Category.USER),
    /** An upload's signature is malformed, by a key the platform does not trust (or revoked), or not of its files. */
    SIGNATURE_INVALID(400, "invalid_request_error", "signature_invalid", Category.USER),
    /** The signing policy (platform-wide or the tenant's) requires a signed upload and none came. */
    SIGNATURE_REQUIRED(403, "invalid_request_error", "signature_required", Category.USER),
    RATE_LIMITED_REQUESTS(429, "requests", "rate_limit_exceeded", Category.LIMIT),
    RATE_LIMITED_TOKENS(429, "tokens", "rate_limit_exceeded", Category.LIMIT),
    INSUFFICIENT_QUOTA(429, "insufficient_quota", "insufficient_quota", Category.LIMIT),
    /** The upstream provider of a remote model kept rate limiting after the retries its policy allows. */
    UPSTREAM_RATE_LIMITED(429, "rate_limit_error", "upstream_rate_limited", Category.LIMIT),
    /** The upstream provider of a remote model failed, was unreachable or answered something malformed. */
    UPSTREAM_ERROR(502, "server_error", "upstream_error", Category.INSUFFICIENT_RESOURCES),
    /** The upstream provider of a remote model did not answer (or stopped streaming) within the model's timeout. */
    UPSTREAM_TIMEOUT(504, "server_error", "upstream_timeout", Category.INSUFFICIENT_RESOURCES),
    /** One tenant's requests already hold their share of a model's queue. */
    QUEUE_SHARE_EXCEEDED(429, "rate_limit_error", "queue_share_exceeded", Category.LIMIT),
    /** A request waited in a model's queue past its deadline and never ran. */
    QUEUE_TIMEOUT(503, "server_error", "queue_timeout", Category.INSUFFICIENT_RESOURCES),
    /** A model call ran past its deadline and was cut. */
    DEADLINE_EXCEEDED(504, "server_error", "deadline_exceeded", Category.INSUFFICIENT_RESOURCES),
    OVERLOADED(503, "server_error", "overloaded", Category.INSUFFICIENT_RESOURCES),
    /** An engine's native libraries are not installed on this server. */
    ENGINE_UNAVAILABLE(503, "server_error", "engine_unavailable", Category.INSUFFICIENT_RESOURCES),
    SHUTTING_DOWN(503, "server_error", "shutting_down", Category.INSUFFICIENT_RESOURCES),
    /** The shared store (PostgreSQL) cannot be reached: nothing that needs it is admitted unchecked. */
    STORE_UNAVAILABLE(503, "server_error", "store_unavailable", Category.INSUFFICIENT_RESOURCES),
    INTERNAL(500, "server_error", "internal_error", Category.INTERNAL);

    /** Who is at fault: decides logging and whether a client may retry. */
    public enum Category { USER, AUTH, LIMIT, INSUFFICIENT_RESOURCES, INTERNAL }

    private final int httpStatus;
    private final String openAiType;
    private final String openAiCode;
    private final Category category;

    ErrorCode(int httpStatus, String openAiType, String openAiCode, Category category) {
        this.httpStatus = httpStatus;
        this.openAiType = openAiType;
        this.openAiCode = openAiCode;
        this.category = category;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public String openAiType() {
        return openAiType;
    }

    public String openAiCode() {
        return openAiCode;
    }

    public Category category() {
        return category;
    }
}
