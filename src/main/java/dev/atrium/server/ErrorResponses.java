package dev.atrium.server;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.StoreUnavailable;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become responses: OpenAI's {@code {"error":{message,type,param,code}}} for
 * {@code /v1} and {@code /admin}, the Open Inference Protocol's {@code {"error":"..."}} for {@code /v2}.
 * Internal failures are logged with their request id; the client gets the id, never the stack trace.
 */
public final class ErrorResponses {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorResponses.class);

    private ErrorResponses() {}

    public static void register(HttpRouting.Builder routing) {
        routing.error(AtriumException.class, ErrorResponses::handle);
        routing.error(Exception.class, (request, response, e) -> handle(request, response,
                AtriumException.internal("internal error", e)));
    }

    /** Answers unmatched routes in the protocol's own shape. */
    public static void notFound(ServerRequest request, ServerResponse response) {
        handle(request, response, new AtriumException(ErrorCode.NOT_FOUND,
                "no route for " + request.prologue().method().text() + " " + request.path().absolute().path()));
    }

    static void handle(ServerRequest request, ServerResponse response, AtriumException failure) {
        AtriumException e = failure;
        if (e.code().category() == ErrorCode.Category.INTERNAL && StoreUnavailable.causedBy(e)) {
            LOG.warn("request {} failed: the store cannot be reached or refuses writes", RequestContext.currentRequestId());
            e = StoreUnavailable.refusal();
        }
        ErrorCode code = e.code();
        String message = e.getMessage();
        if (code.category() == ErrorCode.Category.INTERNAL) {
            LOG.error("request {} failed: {}", RequestContext.currentRequestId(), message, e.getCause());
            message = "internal server error (request id " + RequestContext.currentRequestId() + ")";
        } else {
            LOG.debug("request {} refused: {} {}", RequestContext.currentRequestId(), code, message);
        }
        if (response.isSent()) {
            return;
        }
        boolean bodyUnread = code == ErrorCode.PAYLOAD_TOO_LARGE
                || (request.content().hasEntity() && !request.content().consumed());
        if (bodyUnread && !request.prologue().protocolVersion().startsWith("2")) {
            // what is left of the body is not read: the connection closes (see ConnectionGuard) instead of draining
            // it, and says so, so that the client does not send its next request on it
            response.header(HeaderValues.CONNECTION_CLOSE);
        }
        e.retryAfterSeconds().ifPresent(seconds -> response.header(HeaderNames.RETRY_AFTER, Integer.toString(seconds)));
        e.headers().forEach(header -> response.header(header.getKey(), header.getValue()));
        Object body = request.path().absolute().path().startsWith("/v2")
                ? new V2Error(message)
                : new OpenAiErrorBody(new OpenAiError(message, code.openAiType(), e.param().orElse(null), code.openAiCode()));
        Json.send(response, Status.create(code.httpStatus()), body);
    }

    record V2Error(String error) {}

    record OpenAiErrorBody(OpenAiError error) {}

    record OpenAiError(String message, String type, String param, String code) {}
}
