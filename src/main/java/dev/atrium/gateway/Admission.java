package dev.atrium.gateway;

/** The rate-limit permit of the request being served, so that handlers can take the tokens they find they need. */
public final class Admission {
    static final ScopedValue<RateLimiter.Permit> PERMIT = ScopedValue.newInstance();

    private Admission() {}

    /**
     * Takes tokens for the current request, before its work starts.
     *
     * @throws dev.atrium.AtriumException 429 or 400 as {@link RateLimiter.Permit#takeTokens} says
     */
    public static void takeTokens(long tokens) {
        if (PERMIT.isBound()) {
            PERMIT.get().takeTokens(tokens);
        }
    }
}
