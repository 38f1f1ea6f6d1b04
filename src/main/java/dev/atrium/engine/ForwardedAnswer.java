package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import tools.jackson.databind.node.ObjectNode;

/** An upstream's whole answer, a JSON object, and how long it took, retries included. */
public record ForwardedAnswer(ObjectNode body, long elapsedNanos) {
    public ForwardedAnswer {
        requireNonNull(body, "body is null");
    }
}
