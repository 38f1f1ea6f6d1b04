package dev.atrium.admin;

import dev.atrium.AtriumException;
import dev.atrium.metering.Budget;
import dev.atrium.metering.Decimals;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A budget's fields as the management API takes them ({@code POST /admin/budgets}, and a key's {@code budget} on
 * {@code POST /admin/keys}), each value through the one decimal validator before anything is written.
 */
record BudgetFields(BigDecimal monthlyLimit, String currency, List<BigDecimal> alertAt) {
    BudgetFields {
        alertAt = List.copyOf(alertAt);
    }

    /** Reads {@code monthly_limit}, {@code currency} and {@code alert_at}; the caller refuses other fields. */
    static BudgetFields of(JsonNode body) {
        List<String> fractions = AdminJson.strings(body, "alert_at");
        if (fractions.size() > Budget.MAX_ALERTS) {
            throw AtriumException.invalidParam("alert_at", "'alert_at' holds at most " + Budget.MAX_ALERTS + " fractions");
        }
        List<BigDecimal> alerts = new ArrayList<>();
        for (String fraction : fractions) {
            alerts.add(Decimals.fraction("alert_at", fraction));
        }
        return new BudgetFields(amount(body, "monthly_limit"), AdminJson.requiredString(body, "currency"), alerts);
    }

    /** A decimal string field (a price's or a budget's amount), zero when absent or null. */
    static BigDecimal amount(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return BigDecimal.ZERO;
        }
        if (!node.isString()) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be a decimal string such as \"0.02\"");
        }
        return Decimals.amount(field, node.stringValue());
    }
}
