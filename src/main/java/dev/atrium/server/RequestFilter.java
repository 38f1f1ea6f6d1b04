package dev.atrium.server;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * First on every request: gives it an id (the client's {@code X-Request-Id} when well-formed), echoes the id
 * on the response, binds the {@link RequestContext}, and counts the request in and out of the
 * {@link Lifecycle} so that a shutdown can drain. While draining, new requests are refused with 503.
 */
final class RequestFilter implements Filter {
    static final HeaderName REQUEST_ID = HeaderNames.create("x-request-id");
    private static final Pattern WELL_FORMED_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final Lifecycle lifecycle;

    /** The header naming the version of the model that answered a request (a split's choice, say). */
    static final String MODEL_VERSION = "x-atrium-model-version";

    RequestFilter(Lifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String serverId = newRequestId();
        String clientId = request.headers().first(REQUEST_ID)
                .filter(id -> WELL_FORMED_ID.matcher(id).matches())
                .orElse(null);
        String requestId = clientId == null ? serverId : clientId;
        response.header(REQUEST_ID, requestId);
        RequestContext context = new RequestContext(requestId, serverId, clientId);
        response.beforeSend(() -> {
            if (context.served().version() > 0) {
                response.header(MODEL_VERSION, Integer.toString(context.served().version()));
            }
        });
        ScopedValue.where(RequestContext.CURRENT, context).run(() -> {
            if (!lifecycle.enter()) {
                ErrorResponses.handle(request, response, AtriumException.retryable(ErrorCode.SHUTTING_DOWN,
                        "the server is shutting down; retry on another replica", 1));
                return;
            }
            try {
                chain.proceed();
            } finally {
                lifecycle.exit();
            }
        });
    }

    static String newRequestId() {
        byte[] random = new byte[12];
        ThreadLocalRandom.current().nextBytes(random);
        return "req_" + HexFormat.of().formatHex(random);
    }
}
