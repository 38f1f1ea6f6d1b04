package dev.atrium.gateway;

/**
 * Admission by rate: requests and tokens per window and requests at once, per key and per tenant. In process
 * now; a PostgreSQL or Redis backed one will share the counters between replicas.
 */
public interface RateLimiter {

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
