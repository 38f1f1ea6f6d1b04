package dev.atrium.observe;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /metrics}: the Prometheus text exposition. Open when the server is configured so; otherwise the
 * gateway has authenticated the caller and only a platform admin gets the metrics.
 */
public final class MetricsService implements HttpService {
    private static final io.helidon.http.Header CONTENT_TYPE =
            HeaderValues.create("Content-Type", "text/plain; version=0.0.4; charset=utf-8");

    private final AtriumMetrics metrics;
    private final BooleanSupplier callerMayRead;

    /** @param callerMayRead whether the current caller may read the metrics (always, when they are open) */
    public MetricsService(AtriumMetrics metrics, BooleanSupplier callerMayRead) {
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.callerMayRead = requireNonNull(callerMayRead, "callerMayRead is null");
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/metrics", (request, response) -> {
            if (!callerMayRead.getAsBoolean()) {
                throw new AtriumException(ErrorCode.PERMISSION_DENIED, "only a platform admin key can read metrics");
            }
            response.header(CONTENT_TYPE);
            response.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
        });
    }
}
