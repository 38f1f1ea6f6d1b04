package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a request with a model, and when its upstream fails (unreachable, 5xx, rate limited or too slow, after
 * its retries) with the model's fallbacks in order, each resolved as the caller sees it, so a fallback can never
 * reach a model the caller could not call itself. A model is tried at most once per request. A refused request
 * (400) is not retried elsewhere: another model would refuse it too.
 */
final class Fallbacks {
    private static final Logger LOG = LoggerFactory.getLogger(Fallbacks.class);
    private static final Set<ErrorCode> FALL_BACK_ON = Set.of(ErrorCode.UPSTREAM_ERROR, ErrorCode.UPSTREAM_TIMEOUT,
            ErrorCode.UPSTREAM_RATE_LIMITED, ErrorCode.OVERLOADED);

    private Fallbacks() {}

    /**
     * @param serve serves the request with one model; it must throw only before anything was sent to the client
     */
    static void serve(ModelRegistry registry, ModelScope scope, ResolvedModel primary, Consumer<ResolvedModel> serve) {
        attempt(registry, scope, primary, serve, new HashSet<>());
    }

    private static void attempt(ModelRegistry registry, ModelScope scope, ResolvedModel model,
            Consumer<ResolvedModel> serve, Set<Long> tried) {
        tried.add(model.model().id());
        try {
            serve.accept(model);
        } catch (AtriumException failure) {
            List<String> fallbacks = model.version().metadata().remoteMetadata().map(RemoteMetadata::fallbacks)
                    .orElse(List.of());
            if (!FALL_BACK_ON.contains(failure.code()) || fallbacks.isEmpty()) {
                throw failure;
            }
            for (String reference : fallbacks) {
                ResolvedModel next;
                try {
                    next = registry.resolve(scope, reference);
                } catch (AtriumException missing) {
                    LOG.warn("model {}: fallback {} is not available to this caller: {}", model.model().name(),
                            reference, missing.getMessage());
                    continue;
                }
                if (tried.contains(next.model().id())) {
                    continue;
                }
                LOG.info("model {} failed ({}); falling back to {}", model.model().name(), failure.getMessage(),
                        next.model().name());
                try {
                    attempt(registry, scope, next, serve, tried);
                    return;
                } catch (AtriumException fallbackFailure) {
                    if (!FALL_BACK_ON.contains(fallbackFailure.code())) {
                        throw fallbackFailure;
                    }
                }
            }
            throw failure;
        }
    }
}
