package dev.atrium.server;

import static java.util.Objects.requireNonNull;

/**
 * What every layer may know about the request being served; bound in a {@link ScopedValue} per request.
 *
 * @param requestId the id echoed in {@code x-request-id}: the client's, when it sent a well-formed one
 * @param serverRequestId made by the server and unique, whatever the client sent: the usage ledger's key
 * @param clientRequestId the client's {@code X-Request-Id}, or null
 */
public record RequestContext(String requestId, String serverRequestId, String clientRequestId, Served served) {
    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    public RequestContext {
        requireNonNull(requestId, "requestId is null");
        requireNonNull(serverRequestId, "serverRequestId is null");
        requireNonNull(served, "served is null");
    }

    public RequestContext(String requestId, String serverRequestId, String clientRequestId) {
        this(requestId, serverRequestId, clientRequestId, new Served());
    }

    /**
     * What the request is served as, filled in as it goes: the {@code user} its body names (which a sticky traffic
     * split routes by), and the model version that answered it (sent back in {@code x-atrium-model-version}).
     */
    public static final class Served {
        private volatile String user;
        private volatile int version;

        public String user() {
            return user;
        }

        /** The request's {@code user}, as a protocol adapter read it. */
        public void user(String value) {
            this.user = value;
        }

        /** The version of the model that serves the request. */
        public void version(int modelVersion) {
            this.version = modelVersion;
        }

        /** The version that served, {@code 0} before one did. */
        public int version() {
            return version;
        }
    }

    public static RequestContext current() {
        return CURRENT.isBound() ? CURRENT.get() : new RequestContext("-", RequestFilter.newRequestId(), null);
    }

    /** The current request's id, or {@code -} outside a request. */
    public static String currentRequestId() {
        return CURRENT.isBound() ? CURRENT.get().requestId() : "-";
    }
}
