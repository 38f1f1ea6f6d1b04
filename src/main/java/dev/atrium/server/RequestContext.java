package dev.atrium.server;

import static java.util.Objects.requireNonNull;

/**
 * What every layer may know about the request being served; bound in a {@link ScopedValue} per request.
 *
 * @param requestId the id echoed in {@code x-request-id}: the client's, when it sent a well-formed one
 * @param serverRequestId made by the server and unique, whatever the client sent: the usage ledger's key
 * @param clientRequestId the client's {@code X-Request-Id}, or null
 */
public record RequestContext(String requestId, String serverRequestId, String clientRequestId) {
    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    public RequestContext {
        requireNonNull(requestId, "requestId is null");
        requireNonNull(serverRequestId, "serverRequestId is null");
    }

    public static RequestContext current() {
        return CURRENT.isBound() ? CURRENT.get() : new RequestContext("-", RequestFilter.newRequestId(), null);
    }

    /** The current request's id, or {@code -} outside a request. */
    public static String currentRequestId() {
        return CURRENT.isBound() ? CURRENT.get().requestId() : "-";
    }
}
