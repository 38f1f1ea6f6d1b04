package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.registry.Split;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * How a rollout moves a canary's traffic: the canary's share at each step (in percent, rising, the last 100:
 * promotion), how long each step lasts at least, the window the canary is compared with its baseline over, the
 * thresholds that roll it back, and, optionally, an evaluation both versions are scored on before the canary gets
 * past its first step.
 *
 * @param steps the canary's percent at each step: 1 to 100, rising, ending at 100
 * @param interval how long a step lasts at least before the next (and only once the window holds enough calls)
 * @param window how far back the canary's and the baseline's calls are compared
 * @param sticky what keeps one caller on one side of the split while it runs
 */
public record RolloutPlan(List<Integer> steps, Duration interval, Duration window, Thresholds thresholds,
        Optional<Evaluation> evaluation, Split.Sticky sticky) {
    public static final List<Integer> DEFAULT_STEPS = List.of(10, 25, 50, 100);
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);
    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(5);
    private static final Duration LONGEST_INTERVAL = Duration.ofDays(7);
    private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)?");

    /**
     * When a canary is rolled back: its error rate above the baseline's by more than {@code maxErrorRateIncrease},
     * or its p99 latency above the baseline's times {@code maxP99Ratio} and by more than {@code p99Slack} (so that
     * a few milliseconds of noise on fast models do not count), judged only once the window holds
     * {@code minCalls} of the canary's calls.
     */
    public record Thresholds(double maxErrorRateIncrease, double maxP99Ratio, Duration p99Slack, int minCalls) {
        public static final Thresholds DEFAULTS = new Thresholds(0.02, 1.5, Duration.ofMillis(25), 50);

        public Thresholds {
            requireNonNull(p99Slack, "p99Slack is null");
            if (!(maxErrorRateIncrease >= 0 && maxErrorRateIncrease <= 1)) {
                throw AtriumException.invalidParam("thresholds", "max_error_rate_increase is a fraction from 0 to 1");
            }
            if (!(maxP99Ratio >= 1 && maxP99Ratio <= 1000)) {
                throw AtriumException.invalidParam("thresholds", "max_p99_ratio is from 1 to 1000");
            }
            if (p99Slack.isNegative() || p99Slack.compareTo(Duration.ofHours(1)) > 0) {
                throw AtriumException.invalidParam("thresholds", "p99_slack is from 0 to 1h");
            }
            if (minCalls < 1 || minCalls > 1_000_000) {
                throw AtriumException.invalidParam("thresholds", "min_calls is from 1 to 1000000");
            }
        }
    }

    /**
     * Scores both versions on one of the model owner's files (as {@code POST /v1/evaluations} would, by the key
     * that started the rollout) before the canary gets past its first step; a canary worse on {@code metric} than
     * the baseline by more than {@code maxDrop} is rolled back.
     *
     * @param target the truth's column, for a tabular model's file
     */
    public record Evaluation(String file, String metric, double maxDrop, Optional<String> target) {
        public Evaluation {
            requireNonNull(file, "file is null");
            requireNonNull(metric, "metric is null");
            requireNonNull(target, "target is null");
            if (!(maxDrop >= 0 && maxDrop <= 1e9)) {
                throw AtriumException.invalidParam("evaluation", "max_drop must be a number of at least 0");
            }
        }
    }

    public RolloutPlan {
        steps = List.copyOf(steps);
        requireNonNull(interval, "interval is null");
        requireNonNull(window, "window is null");
        requireNonNull(thresholds, "thresholds is null");
        requireNonNull(evaluation, "evaluation is null");
        requireNonNull(sticky, "sticky is null");
        if (steps.isEmpty() || steps.size() > 20 || steps.getLast() != 100) {
            throw AtriumException.invalidParam("steps", "steps are 1 to 20 percentages, rising, ending at 100");
        }
        int previous = 0;
        for (int step : steps) {
            if (step <= previous || step > 100) {
                throw AtriumException.invalidParam("steps", "steps are 1 to 20 percentages, rising, ending at 100");
            }
            previous = step;
        }
        if (steps.getFirst() == 100) {
            throw AtriumException.invalidParam("steps", "a rollout starts below 100%; to move all the traffic at once,"
                    + " point the alias at the version");
        }
        if (interval.compareTo(Duration.ofSeconds(1)) < 0 || interval.compareTo(LONGEST_INTERVAL) > 0) {
            throw AtriumException.invalidParam("interval", "interval is from 1s to 7 days");
        }
        if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(VersionTraffic.RETENTION) > 0) {
            throw AtriumException.invalidParam("window", "window is from 1s to " + VersionTraffic.RETENTION.toMinutes()
                    + "m");
        }
    }

    /** The plan a request's body asks for, defaults filled in; 400 for any field out of place. */
    public static RolloutPlan fromJson(JsonNode body) {
        List<Integer> steps = DEFAULT_STEPS;
        JsonNode stepsNode = body.get("steps");
        if (stepsNode != null) {
            if (!stepsNode.isArray() || stepsNode.size() > 20) {
                throw AtriumException.invalidParam("steps", "steps are 1 to 20 percentages, rising, ending at 100");
            }
            steps = new java.util.ArrayList<>();
            for (JsonNode step : stepsNode) {
                if (!step.isIntegralNumber() || !step.canConvertToInt()) {
                    throw AtriumException.invalidParam("steps", "steps are whole percentages");
                }
                steps.add(step.intValue());
            }
        }
        Thresholds thresholds = Thresholds.DEFAULTS;
        JsonNode limits = body.get("thresholds");
        if (limits != null) {
            if (!limits.isObject()) {
                throw AtriumException.invalidParam("thresholds", "thresholds is an object");
            }
            rejectUnknown(limits, "thresholds", List.of("max_error_rate_increase", "max_p99_ratio", "p99_slack",
                    "min_calls"));
            thresholds = new Thresholds(number(limits, "max_error_rate_increase", thresholds.maxErrorRateIncrease()),
                    number(limits, "max_p99_ratio", thresholds.maxP99Ratio()),
                    duration(limits, "p99_slack", thresholds.p99Slack()),
                    (int) Math.min(Integer.MAX_VALUE, number(limits, "min_calls", thresholds.minCalls())));
        }
        Optional<Evaluation> evaluation = Optional.empty();
        JsonNode scoring = body.get("evaluation");
        if (scoring != null && !scoring.isNull()) {
            if (!scoring.isObject() || !scoring.path("file").isString() || !scoring.path("metric").isString()) {
                throw AtriumException.invalidParam("evaluation", "evaluation is {\"file\": a file id, \"metric\":"
                        + " e.g. \"accuracy\", \"max_drop\": 0.01}");
            }
            rejectUnknown(scoring, "evaluation", List.of("file", "metric", "max_drop", "target"));
            if (!dev.atrium.training.Evaluations.isRankable(scoring.path("metric").stringValue())) {
                throw AtriumException.invalidParam("evaluation", "metric '" + scoring.path("metric").stringValue()
                        + "' is not one a version can be ranked by");
            }
            JsonNode target = scoring.get("target");
            if (target != null && !target.isString()) {
                throw AtriumException.invalidParam("evaluation", "target is the name of the truth's column");
            }
            evaluation = Optional.of(new Evaluation(scoring.path("file").stringValue(),
                    scoring.path("metric").stringValue(), number(scoring, "max_drop", 0),
                    Optional.ofNullable(target).map(JsonNode::stringValue)));
        }
        JsonNode sticky = body.get("sticky");
        if (sticky != null && !sticky.isString()) {
            throw AtriumException.invalidParam("sticky", "sticky must be none, key or user");
        }
        return new RolloutPlan(steps, duration(body, "interval", DEFAULT_INTERVAL),
                duration(body, "window", DEFAULT_WINDOW), thresholds, evaluation,
                sticky == null ? Split.Sticky.NONE : Split.Sticky.fromWireName(sticky.stringValue()));
    }

    /** The plan as its wire and stored form: what {@link #fromJson} reads back to the same plan. */
    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        ArrayNode stepsNode = node.putArray("steps");
        steps.forEach(stepsNode::add);
        node.put("interval", format(interval));
        node.put("window", format(window));
        ObjectNode limits = node.putObject("thresholds");
        limits.put("max_error_rate_increase", thresholds.maxErrorRateIncrease());
        limits.put("max_p99_ratio", thresholds.maxP99Ratio());
        limits.put("p99_slack", format(thresholds.p99Slack()));
        limits.put("min_calls", thresholds.minCalls());
        evaluation.ifPresent(scoring -> {
            ObjectNode evaluationNode = node.putObject("evaluation");
            evaluationNode.put("file", scoring.file());
            evaluationNode.put("metric", scoring.metric());
            evaluationNode.put("max_drop", scoring.maxDrop());
            scoring.target().ifPresent(target -> evaluationNode.put("target", target));
        });
        node.put("sticky", sticky.wireName());
        return node;
    }

    private static void rejectUnknown(JsonNode node, String param, List<String> known) {
        for (String field : node.propertyNames()) {
            if (!known.contains(field)) {
                throw AtriumException.invalidParam(param, param + " has no field '" + field + "'; it takes "
                        + String.join(", ", known));
            }
        }
    }

    private static double number(JsonNode node, String field, double fallback) {
        JsonNode value = node.get(field);
        if (value == null) {
            return fallback;
        }
        if (!value.isNumber() || !Double.isFinite(value.doubleValue())) {
            throw AtriumException.invalidParam(field, field + " must be a number");
        }
        return value.doubleValue();
    }

    /** A duration written as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, or a whole number of seconds. */
    private static Duration duration(JsonNode node, String field, Duration fallback) {
        JsonNode value = node.get(field);
        if (value == null) {
            return fallback;
        }
        if (value.isIntegralNumber() && value.canConvertToInt() && value.intValue() >= 0) {
            return Duration.ofSeconds(value.intValue());
        }
        Matcher matcher = value.isString() ? DURATION.matcher(value.stringValue().toLowerCase(Locale.ROOT)) : null;
        if (matcher == null || !matcher.matches()) {
            throw AtriumException.invalidParam(field, field + " is a duration such as \"30s\", \"5m\" or \"1h\"");
        }
        long amount = Long.parseLong(matcher.group(1));
        return switch (matcher.group(2) == null ? "s" : matcher.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofSeconds(amount);
        };
    }

    /** A duration as plans write it: {@code 500ms} or {@code 30s}. */
    static String format(Duration duration) {
        return duration.toMillis() % 1000 != 0 ? duration.toMillis() + "ms" : duration.toSeconds() + "s";
    }
}
