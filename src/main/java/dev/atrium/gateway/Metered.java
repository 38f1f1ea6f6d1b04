package dev.atrium.gateway;

import io.helidon.webserver.http.ServerResponse;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/** What the protocol adapters tell a caller about its metering on the response. */
public final class Metered {
    private Metered() {}

    /** Adds {@code x-atrium-budget-alert} when the request's charge crossed an alert fraction of a budget. */
    public static void alertHeaders(ServerResponse response, Map<String, List<BigDecimal>> alerts) {
        if (alerts.isEmpty()) {
            return;
        }
        StringJoiner value = new StringJoiner(", ");
        alerts.forEach((scope, fractions) -> fractions.forEach(fraction ->
                value.add(scope + " " + fraction.movePointRight(2).stripTrailingZeros().toPlainString() + "%")));
        response.header("x-atrium-budget-alert", value.toString());
    }
}
