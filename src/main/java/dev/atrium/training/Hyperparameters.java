package dev.atrium.training;

import dev.atrium.AtriumException;
import tools.jackson.databind.JsonNode;

/**
 * A job's {@code hyperparameters}, read one by one: each absent or {@code "auto"} takes the trainer's default; any
 * other value out of its range is a 400 on {@code hyperparameters} naming it.
 */
public final class Hyperparameters {
    private Hyperparameters() {}

    public static int integer(JsonNode hyperparameters, String field, int fallback, int min, int max) {
        JsonNode node = hyperparameters.get(field);
        if (node == null || node.isNull() || (node.isString() && node.stringValue().equals("auto"))) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < min || node.intValue() > max) {
            throw AtriumException.invalidParam("hyperparameters", "'" + field + "' must be \"auto\" or an integer from "
                    + min + " to " + max);
        }
        return node.intValue();
    }

    public static double number(JsonNode hyperparameters, String field, double fallback) {
        JsonNode node = hyperparameters.get(field);
        if (node == null || node.isNull() || (node.isString() && node.stringValue().equals("auto"))) {
            return fallback;
        }
        if (!node.isNumber() || !(node.doubleValue() >= 0) || !Double.isFinite(node.doubleValue())) {
            throw AtriumException.invalidParam("hyperparameters", "'" + field + "' must be \"auto\" or a non-negative"
                    + " number");
        }
        return node.doubleValue();
    }
}
