package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A job's AutoML search, from {@code hyperparameters.search}: {@code "auto"} (every default below) or an object —
 * {@code strategy} ({@code random}, the default, or {@code successive_halving}), {@code max_trials} (1 to 200;
 * 10), {@code max_seconds} (1 to 86,400; else the job's own time limit), {@code metric} to rank by (the trainer's
 * default otherwise), {@code eta} (successive halving keeps the best 1/eta of each rung; 2 to 4, 3) and
 * {@code space}: a {@code [low, high]} range for any searched hyperparameter, inside the range it allows. A
 * hyperparameter the job sets to a value is held there in every trial; one absent or {@code "auto"} is searched.
 */
public record SearchSettings(Strategy strategy, int maxTrials, Optional<Integer> maxSeconds, Optional<String> metric,
        int eta, Map<String, List<Double>> space) {
    /** How trials are chosen and how much each is given. */
    public enum Strategy {
        /** Configurations drawn at random (seeded), each trained in full. */
        RANDOM("random"),
        /**
         * Configurations drawn at random and trained with a small budget (rounds, epochs), the best 1/eta trained
         * again with eta times the budget, until the last rung has the full budget.
         */
        SUCCESSIVE_HALVING("successive_halving");

        private final String wireName;

        Strategy(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    public static final int MAX_TRIALS = 200;
    private static final List<String> FIELDS = List.of("strategy", "max_trials", "max_seconds", "metric", "eta",
            "space");

    public SearchSettings {
        requireNonNull(strategy, "strategy is null");
        requireNonNull(maxSeconds, "maxSeconds is null");
        requireNonNull(metric, "metric is null");
        space = Map.copyOf(space);
    }

    /**
     * The search a job's hyperparameters ask for, if any.
     *
     * @throws AtriumException 400 on {@code hyperparameters} for a search it cannot run
     */
    public static Optional<SearchSettings> of(JsonNode hyperparameters) {
        JsonNode search = hyperparameters.get("search");
        if (search == null || search.isNull()) {
            return Optional.empty();
        }
        if (search.isString() && search.stringValue().equals("auto")) {
            return Optional.of(new SearchSettings(Strategy.RANDOM, 10, Optional.empty(), Optional.empty(), 3,
                    Map.of()));
        }
        if (!search.isObject()) {
            throw refuse("'search' must be \"auto\" or an object of strategy, max_trials, max_seconds, metric, eta and"
                    + " space");
        }
        for (String field : search.propertyNames()) {
            if (!FIELDS.contains(field)) {
                throw refuse("'search' has no field '" + field + "'; it takes " + String.join(", ", FIELDS));
            }
        }
        String strategyName = search.path("strategy").isMissingNode() ? "random" : search.path("strategy").asString("");
        Strategy strategy = java.util.Arrays.stream(Strategy.values())
                .filter(s -> s.wireName.equals(strategyName)).findFirst()
                .orElseThrow(() -> refuse("search.strategy must be random or successive_halving"));
        int trials = integer(search, "max_trials", 10, 1, MAX_TRIALS);
        Optional<Integer> seconds = search.has("max_seconds")
                ? Optional.of(integer(search, "max_seconds", 0, 1, 86_400)) : Optional.empty();
        Optional<String> metric = Optional.empty();
        if (search.has("metric")) {
            String name = search.get("metric").asString("");
            if (!Evaluations.isRankable(name)) {
                throw refuse("search.metric must be one of " + String.join(", ", Evaluations.rankable()));
            }
            metric = Optional.of(name);
        }
        int eta = integer(search, "eta", 3, 2, 4);
        Map<String, List<Double>> space = new LinkedHashMap<>();
        JsonNode ranges = search.get("space");
        if (ranges != null && !ranges.isNull()) {
            if (!ranges.isObject()) {
                throw refuse("search.space must be an object of [low, high] ranges by hyperparameter");
            }
            for (Map.Entry<String, JsonNode> range : ranges.properties()) {
                JsonNode value = range.getValue();
                if (!value.isArray() || value.size() != 2 || !value.get(0).isNumber() || !value.get(1).isNumber()
                        || !(value.get(0).doubleValue() <= value.get(1).doubleValue())) {
                    throw refuse("search.space." + range.getKey() + " must be [low, high] with low <= high");
                }
                space.put(range.getKey(), List.of(value.get(0).doubleValue(), value.get(1).doubleValue()));
            }
        }
        return Optional.of(new SearchSettings(strategy, trials, seconds, metric, eta, space));
    }

    private static int integer(JsonNode search, String field, int fallback, int min, int max) {
        JsonNode node = search.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < min || node.intValue() > max) {
            throw refuse("search." + field + " must be an integer from " + min + " to " + max);
        }
        return node.intValue();
    }

    private static AtriumException refuse(String message) {
        return AtriumException.invalidParam("hyperparameters", message);
    }
}
