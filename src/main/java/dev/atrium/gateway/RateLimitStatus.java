package dev.atrium.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where a caller stands against its tightest limits, for OpenAI's {@code x-ratelimit-*} headers.
 *
 * @param resetRequests time until the request limit is whole again
 */
public record RateLimitStatus(long limitRequests, long remainingRequests, Duration resetRequests, long limitTokens,
        long remainingTokens, Duration resetTokens) {

    public List<Map.Entry<String, String>> headers() {
        List<Map.Entry<String, String>> headers = new ArrayList<>(6);
        headers.add(Map.entry("x-ratelimit-limit-requests", Long.toString(limitRequests)));
        headers.add(Map.entry("x-ratelimit-remaining-requests", Long.toString(remainingRequests)));
        headers.add(Map.entry("x-ratelimit-reset-requests", format(resetRequests)));
        headers.add(Map.entry("x-ratelimit-limit-tokens", Long.toString(limitTokens)));
        headers.add(Map.entry("x-ratelimit-remaining-tokens", Long.toString(remainingTokens)));
        headers.add(Map.entry("x-ratelimit-reset-tokens", format(resetTokens)));
        return headers;
    }

    /** As OpenAI writes durations: {@code 250ms}, {@code 1.5s}, {@code 6m0s}. */
    static String format(Duration duration) {
        long millis = Math.max(0, duration.toMillis());
        if (millis < 1000) {
            return millis + "ms";
        }
        long minutes = millis / 60_000;
        long restMillis = millis % 60_000;
        String seconds = restMillis % 1000 == 0 ? Long.toString(restMillis / 1000)
                : java.math.BigDecimal.valueOf(restMillis, 3).stripTrailingZeros().toPlainString();
        return minutes > 0 ? minutes + "m" + seconds + "s" : seconds + "s";
    }
}
