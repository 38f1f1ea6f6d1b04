package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import dev.atrium.tenancy.Limits;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Admission by rate: requests and tokens per window and requests at once, per key and per tenant (each a meter).
 * {@link LocalRateLimiter} counts in this process (one server on SQLite); {@link StoreRateLimiter} counts in the
 * PostgreSQL store, shared by replicas.
 */
public interface RateLimiter {

    /**
     * Limits for keys that set none of their own.
     *
     * @param maxConcurrent null for no limit
     * @param window the length of a rate window (one minute; shorter in tests)
     */
    record Defaults(int rpm, int tpm, Integer maxConcurrent, Duration window) {
        public Defaults {
            requireNonNull(window, "window is null");
        }

        /** The meters a caller's request counts against, by id ({@code key:…}, {@code tenant:…}), key first. */
        Map<String, Limits> meters(Caller caller) {
            Map<String, Limits> meters = new LinkedHashMap<>(4);
            Limits keyLimits = caller.key().limits();
            meters.put("key:" + caller.key().id(), new Limits(
                    Objects.requireNonNullElse(keyLimits.rpm(), rpm),
                    Objects.requireNonNullElse(keyLimits.tpm(), tpm),
                    keyLimits.maxConcurrent() != null ? keyLimits.maxConcurrent() : maxConcurrent));
            caller.tenant().filter(tenant -> !tenant.limits().equals(Limits.NONE))
                    .ifPresent(tenant -> meters.put("tenant:" + tenant.id(), tenant.limits()));
            return meters;
        }

        /** The window as messages name it: "minute", or its length. */
        String windowName() {
            return window.equals(Duration.ofMinutes(1)) ? "minute" : RateLimitStatus.format(window);
        }
    }

    /**
     * Admits one request for the caller, counting it against requests per window and requests at once.
     *
     * @throws dev.atrium.AtriumException 429 with {@code Retry-After} when a limit is reached
     */
    Permit admit(Caller caller);

    /** An admitted request: it may take tokens, and gives back its place when closed. */
    interface Permit extends AutoCloseable {
        /**
         * Takes tokens for this request.
         *
         * @throws dev.atrium.AtriumException 429 when the window has too few left, 400 when the request needs more
         *     than a whole window allows
         */
        void takeTokens(long tokens);

        RateLimitStatus status();

        @Override
        void close();
    }
}
