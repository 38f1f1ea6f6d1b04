package dev.atrium.server;

import static java.util.Objects.requireNonNull;

/** What every layer may know about the request being served; bound in a {@link ScopedValue} per request. */
public record RequestContext(String requestId) {
    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    public RequestContext {
        requireNonNull(requestId, "requestId is null");
    }

    /** The current request's id, or {@code -} outside a request. */
    public static String currentRequestId() {
        return CURRENT.isBound() ? CURRENT.get().requestId() : "-";
    }
}
