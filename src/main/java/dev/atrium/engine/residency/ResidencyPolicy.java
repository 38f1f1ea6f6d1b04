package dev.atrium.engine.residency;

import java.time.Duration;
import java.util.Optional;

/**
 * How one model's loaded versions are kept: pinned ones are never evicted to make room, and an idle one is
 * unloaded once it has not been used for its keep-alive.
 *
 * @param pinned whether the budget may never evict the model's versions (an explicit unload still does)
 * @param keepAliveSeconds how long an idle version stays loaded: {@code null} for the server's default,
 *     {@value #FOREVER} for as long as the budget allows, 0 to unload as soon as it is idle
 */
public record ResidencyPolicy(boolean pinned, Long keepAliveSeconds) {
    /** The keep-alive that never expires. */
    public static final long FOREVER = -1;
    /** The longest keep-alive one may set: a year. */
    public static final long MAX_KEEP_ALIVE_SECONDS = 366L * 24 * 3600;
    /** Not pinned, the server's keep-alive: what a model without settings of its own gets. */
    public static final ResidencyPolicy DEFAULT = new ResidencyPolicy(false, null);

    public ResidencyPolicy {
        if (keepAliveSeconds != null && (keepAliveSeconds < FOREVER || keepAliveSeconds > MAX_KEEP_ALIVE_SECONDS)) {
            throw new IllegalArgumentException("keep-alive must be -1 (forever) or 0 to " + MAX_KEEP_ALIVE_SECONDS
                    + " seconds: " + keepAliveSeconds);
        }
    }

    /** How long an idle version stays, given the server's default; empty for as long as the budget allows. */
    public Optional<Duration> keepAlive(Optional<Duration> serverDefault) {
        if (keepAliveSeconds == null) {
            return serverDefault;
        }
        return keepAliveSeconds == FOREVER ? Optional.empty() : Optional.of(Duration.ofSeconds(keepAliveSeconds));
    }
}
