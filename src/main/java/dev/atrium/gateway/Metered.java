package dev.atrium.gateway;

import dev.atrium.metering.Metering;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.RequestContext;
import io.helidon.webserver.http.ServerResponse;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/** Meters the current request for the current caller: the protocol adapters' side of {@link Metering}. */
public final class Metered {
    /**
     * The compute time a request's reservation allows for, when its model is priced by compute time: a request
     * cannot be known to take less before it runs. It is settled to the real time afterwards.
     */
    public static final long RESERVED_COMPUTE_MILLIS = 60_000;

    private Metered() {}

    public static Metering.Meter start(Metering metering, ResolvedModel model, String endpoint) {
        Caller caller = Caller.current();
        RequestContext context = RequestContext.current();
        return metering.start(new Metering.Subject(context.serverRequestId(), context.clientRequestId(),
                caller.key().tenantId(), caller.key().id(), model.model().name(), model.version().version(), endpoint));
    }

    /** The worst case of a request whose input tokens are known and whose output is none. */
    public static Usage worstCase(long inputTokens) {
        return new Usage(inputTokens, 0, 1, RESERVED_COMPUTE_MILLIS);
    }

    public static long millis(long nanos) {
        return (nanos + 500_000) / 1_000_000;
    }

    /** Adds {@code x-atrium-budget-alert} when the request's charge crossed an alert fraction of a budget. */
    public static void alertHeaders(ServerResponse response, Metering.Meter meter) {
        Map<String, List<BigDecimal>> alerts = meter.alerts();
        if (alerts.isEmpty()) {
            return;
        }
        StringJoiner value = new StringJoiner(", ");
        alerts.forEach((scope, fractions) -> fractions.forEach(fraction ->
                value.add(scope + " " + fraction.movePointRight(2).stripTrailingZeros().toPlainString() + "%")));
        response.header("x-atrium-budget-alert", value.toString());
    }
}
