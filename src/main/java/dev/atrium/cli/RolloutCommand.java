package dev.atrium.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium rollout ...}: canary rollouts of model versions on an alias of a running server. */
@Command(name = "rollout",
        mixinStandardHelpOptions = true,
        description = "Roll a model version out on an alias as a canary, stepped up while it stays within thresholds"
                + " of the version the alias points at, rolled back automatically when it does not; or shadow it"
                + " first, to see how often it agrees with the alias's answers.",
        subcommands = {RolloutCommand.Start.class, RolloutCommand.Status.class, RolloutCommand.Promote.class,
                RolloutCommand.Abort.class, RolloutCommand.Shadow.class})
final class RolloutCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static String path(String name, String alias) {
        return "/admin/models/" + name + "/aliases/" + alias + "/rollout";
    }

    /** One line on an alias's shadow and how often it agreed so far. */
    private static void describeShadow(JsonNode shadow, PrintWriter out) {
        JsonNode agreement = shadow.path("agreement");
        out.printf("%s:%s shadowed by version %d on %s of its requests: %d mirrored, %d compared, %d failed,"
                        + " %d dropped; %s %s%n", shadow.path("model").asString(), shadow.path("alias").asString(),
                shadow.path("version").asInt(), shadow.path("fraction").asString(), agreement.path("mirrored").asLong(),
                agreement.path("compared").asLong(), agreement.path("failed").asLong(),
                agreement.path("dropped").asLong(), agreement.path("measure").asString("agreement"),
                agreement.path("mean").isNumber() ? String.format(java.util.Locale.ROOT, "%.4f",
                        agreement.path("mean").asDouble()) : "-");
    }

    /** One line on where a rollout stands, and its comparison while it runs. */
    private static void describe(JsonNode rollout, PrintWriter out) {
        out.printf("%s:%s version %d -> %s at %d%% beside version %d%s%n", rollout.path("model").asString(),
                rollout.path("alias").asString(), rollout.path("canary").asInt(), rollout.path("state").asString(),
                rollout.path("weight").asInt(), rollout.path("baseline").asInt(),
                rollout.has("reason") ? " (" + rollout.path("reason").asString() + ")" : "");
        JsonNode comparison = rollout.path("comparison");
        for (String side : new String[] {"baseline", "canary"}) {
            JsonNode figures = comparison.path(side);
            if (figures.isObject()) {
                out.printf("  %-8s v%d: %d calls, error rate %.4f, p99 %s over %s%n", side,
                        figures.path("version").asInt(), figures.path("calls").asLong(),
                        figures.path("error_rate").asDouble(), figures.has("p99_ms")
                                ? String.format(java.util.Locale.ROOT, "%.1f ms", figures.path("p99_ms").asDouble())
                                : "-", comparison.path("window").asString());
            }
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a canary of VERSION on ALIAS (which points at one other version, its baseline).")
    static final class Start extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Parameters(index = "2", paramLabel = "VERSION")
        int version;

        @Option(names = "--steps", paramLabel = "PERCENTS", split = ",",
                description = "the canary's percent at each step, rising, ending at 100 (default 10,25,50,100)")
        java.util.List<Integer> steps;

        @Option(names = "--interval", paramLabel = "DURATION",
                description = "how long each step lasts at least, e.g. 5m (default 5m)")
        String interval;

        @Option(names = "--window", paramLabel = "DURATION",
                description = "how far back the versions are compared, e.g. 5m (default 5m, at most 15m)")
        String window;

        @Option(names = "--max-error-rate-increase", paramLabel = "FRACTION",
                description = "roll back when the canary's error rate exceeds the baseline's by more (default 0.02)")
        Double maxErrorRateIncrease;

        @Option(names = "--max-p99-ratio", paramLabel = "RATIO",
                description = "roll back when the canary's p99 latency exceeds the baseline's times this (default 1.5)")
        Double maxP99Ratio;

        @Option(names = "--min-calls", paramLabel = "N",
                description = "the canary's calls in the window before it is judged or stepped (default 50)")
        Integer minCalls;

        @Option(names = "--sticky", paramLabel = "BY", description = "none, key or user (default none)")
        String sticky;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("version", version);
            if (steps != null) {
                body.put("steps", steps);
            }
            if (interval != null) {
                body.put("interval", interval);
            }
            if (window != null) {
                body.put("window", window);
            }
            if (sticky != null) {
                body.put("sticky", sticky);
            }
            Map<String, Object> thresholds = new LinkedHashMap<>();
            if (maxErrorRateIncrease != null) {
                thresholds.put("max_error_rate_increase", maxErrorRateIncrease);
            }
            if (maxP99Ratio != null) {
                thresholds.put("max_p99_ratio", maxP99Ratio);
            }
            if (minCalls != null) {
                thresholds.put("min_calls", minCalls);
            }
            if (!thresholds.isEmpty()) {
                body.put("thresholds", thresholds);
            }
            describe(client.postJson(path(name, alias), body).body(), out);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show an alias's latest rollout: where it is, the live comparison, and its steps.")
    static final class Status extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Option(names = "--json", description = "print the whole rollout as JSON")
        boolean json;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode rollout = client.get(path(name, alias)).body();
            if (json) {
                out.println(AtriumClient.pretty(rollout));
                return;
            }
            describe(rollout, out);
            if (rollout.has("shadow")) {
                describeShadow(rollout.path("shadow"), out);
            }
            for (JsonNode step : rollout.path("steps")) {
                out.printf("  %s %-9s %3d%%  %s%n", step.path("at").asString(), step.path("action").asString(),
                        step.path("weight").asInt(), step.path("detail").path("reason").asString(""));
            }
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Give the canary all the alias's traffic now.")
    static final class Promote extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            describe(client.postJson(path(name, alias) + "/promote", Map.of()).body(), out);
        }
    }

    @Command(name = "abort", mixinStandardHelpOptions = true,
            description = "Stop the rollout and point the alias back at the baseline alone.")
    static final class Abort extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            describe(client.postJson(path(name, alias) + "/abort", Map.of()).body(), out);
        }
    }

    @Command(name = "shadow", mixinStandardHelpOptions = true,
            description = "Mirror a fraction of ALIAS's requests to VERSION (the callers get the alias's answers, and"
                    + " are not charged for the mirror), or show the alias's shadow and its agreement, or stop it.")
    static final class Shadow extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Parameters(index = "2", paramLabel = "VERSION", arity = "0..1",
                description = "the version to mirror requests to; without it, the shadow is shown")
        Integer version;

        @Option(names = "--fraction", paramLabel = "FRACTION",
                description = "the share of the alias's requests to mirror, above 0 and at most 1 (default 1)")
        String fraction;

        @Option(names = "--stop", description = "stop mirroring the alias's requests")
        boolean stop;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String path = "/admin/models/" + name + "/aliases/" + alias + "/shadow";
            if (stop) {
                client.delete(path);
                out.printf("%s:%s is no longer shadowed%n", name, alias);
                return;
            }
            if (version == null) {
                describeShadow(client.get(path).body(), out);
                return;
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("version", version);
            if (fraction != null) {
                body.put("fraction", fraction);
            }
            describeShadow(client.putJson(path, body).body(), out);
        }
    }
}
