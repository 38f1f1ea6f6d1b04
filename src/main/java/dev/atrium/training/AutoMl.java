package dev.atrium.training;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * An AutoML search over a {@link SearchSpace}: the default configuration of each family first, then configurations
 * drawn at random (seeded by the job's seed, so a search repeats), trained in full ({@code random}) or by
 * successive halving, each ranked by its evaluation on the validation split; the best is the job's result. Every
 * trial is an event, the leaderboard is on the result, and the search stops at {@code max_trials} or at
 * {@code max_seconds} (a trial cut off there does not count). The trials done are the job's saved state after
 * each, so a job stopped under (a restart) goes on from the next trial and ends with the same result.
 */
public final class AutoMl {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Trainer.Run run;
    private final SearchSpace space;
    private final SearchSettings settings;
    private final String metric;
    private final long deadlineNanos;
    /** Every trial finished (in this run or one before it), in the order they ran. */
    private final List<Trial> all = new ArrayList<>();
    /** The trials of an earlier run of the job, in order: their results are taken instead of training them again. */
    private final List<Trial> earlier;
    private int started;

    /** One configuration: its family and the hyperparameters it trains with. */
    private record Config(String family, ObjectNode hyperparameters) {}

    /** The model of the best trial so far in this run (the others' are dropped, so memory holds one), its number. */
    private Trainer.Trained bestTrained;
    private int bestNumber;

    /** A trial that finished; its model is kept apart, and only while it is the best. */
    private record Trial(int number, Config config, double score, ObjectNode metrics, double seconds) {}

    private AutoMl(Trainer.Run run, SearchSpace space, SearchSettings settings, long startNanos) {
        this.run = run;
        this.space = space;
        this.settings = settings;
        this.metric = settings.metric().orElse(space.defaultMetric());
        this.deadlineNanos = settings.maxSeconds().map(seconds -> startNanos + seconds * 1_000_000_000L)
                .orElse(Long.MAX_VALUE);
        this.earlier = run.savedState().map(AutoMl::restore).orElse(List.of());
    }

    /**
     * Trains a job: a search when its hyperparameters ask for one, else the configuration they name with the first
     * family of the space.
     */
    public static Trainer.Trained train(Trainer.Run run, SearchSpace space) {
        Optional<SearchSettings> search = SearchSettings.of(run.job().hyperparameters());
        if (search.isPresent()) {
            return search(run, space, search.get());
        }
        return space.train(space.families().getFirst(), run.job().hyperparameters(), run);
    }

    /**
     * Searches and answers the best trial's model, with the search's leaderboard.
     *
     * @throws CancellationException when the job is cancelled
     * @throws AtriumException when no trial finished within {@code max_seconds}
     */
    public static Trainer.Trained search(Trainer.Run run, SearchSpace space, SearchSettings settings) {
        checkSpace(space, settings);
        return new AutoMl(run, space, settings, System.nanoTime()).search();
    }

    private Trainer.Trained search() {
        List<Config> configs = configs();
        run.event("AutoML: " + settings.strategy().wireName() + " search of " + configs.size() + " configurations"
                + " over " + String.join(", ", space.families()) + ", ranked by validation " + metric
                + (earlier.isEmpty() ? "" : "; going on after the " + earlier.size() + " trials done before"), null);
        long start = System.nanoTime();
        try {
            if (settings.strategy() == SearchSettings.Strategy.SUCCESSIVE_HALVING) {
                halve(configs);
            } else {
                for (Config config : configs) {
                    trial(config);
                }
            }
        } catch (BudgetSpent e) {
            run.event("AutoML: the search's " + settings.maxSeconds().orElseThrow() + " seconds are spent; a trial"
                    + " cut off there is not counted", null);
        }
        if (all.isEmpty()) {
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "no trial of the search finished within its"
                    + " max_seconds of " + settings.maxSeconds().orElse(0) + "; give it more time");
        }
        // the best of every trial (successive halving's at any budget: a run cut short that stops early is a model)
        Trial best = all.stream().min(Comparator.comparingDouble(Trial::score)).orElseThrow();
        Trainer.Trained result = best.number() == bestNumber ? bestTrained : null;
        if (result == null) {
            // the winner ran before a restart: its configuration trains again to the same model (it is seeded)
            run.event("AutoML: training the best configuration (trial " + best.number() + ") again", null);
            result = space.train(best.config().family(), best.config().hyperparameters(), quiet(Long.MAX_VALUE));
        }
        ArrayNode leaderboard = leaderboard();
        ObjectNode metrics = result.metrics().deepCopy();
        metrics.put("trials", all.size());
        run.event(String.format(Locale.ROOT, "AutoML: %d trials in %.1f s; the best is trial %d (%s), validation %s"
                        + " %.4f", all.size(), (System.nanoTime() - start) / 1e9, best.number(),
                best.config().family(), metric, best.metrics().path(metric).asDouble()), leaderboard);
        ObjectNode config = result.config().deepCopy();
        return new Trainer.Trained(result.task(), result.onnx(), config, metrics, leaderboard,
                result.hyperparameters());
    }

    /** The configurations: each family's defaults, then random ones, {@code max_trials} in all. */
    private List<Config> configs() {
        ObjectNode base = (ObjectNode) run.job().hyperparameters().deepCopy();
        base.remove("search");
        List<Config> configs = new ArrayList<>();
        for (String family : space.families()) {
            if (configs.size() < settings.maxTrials()) {
                configs.add(new Config(family, base.deepCopy()));
            }
        }
        SplittableRandom random = new SplittableRandom(run.job().seed());
        while (configs.size() < settings.maxTrials()) {
            String family = space.families().get(random.nextInt(space.families().size()));
            ObjectNode hyperparameters = base.deepCopy();
            for (SearchSpace.Parameter parameter : space.parameters(family)) {
                JsonNode given = base.get(parameter.name());
                boolean searched = given == null || given.isNull() || given.asString("").equals("auto");
                double value = draw(parameter, random); // drawn even when held, so each trial draws the same
                if (!searched) {
                    continue;
                }
                if (parameter.scale() == SearchSpace.Scale.INTEGER) {
                    hyperparameters.put(parameter.name(), (int) Math.round(value));
                } else {
                    hyperparameters.put(parameter.name(), value);
                }
            }
            configs.add(new Config(family, hyperparameters));
        }
        return configs;
    }

    private double draw(SearchSpace.Parameter parameter, SplittableRandom random) {
        List<Double> range = settings.space().getOrDefault(parameter.name(), List.of(parameter.low(),
                parameter.high()));
        double low = range.get(0);
        double high = range.get(1);
        double u = random.nextDouble();
        return switch (parameter.scale()) {
            case LINEAR -> low + u * (high - low);
            case LOG -> Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low)));
            case INTEGER -> Math.floor(low + u * (high - low + 1 - 1e-9));
        };
    }

    /**
     * Successive halving: every configuration at {@code full / eta^(rungs-1)} of its budget, the best
     * {@code 1/eta} again at {@code eta} times as much, until one rung trains at the full budget. A family without
     * a budget trains once and keeps its score in later rungs.
     */
    private void halve(List<Config> configs) {
        int eta = settings.eta();
        int rungs = 1;
        for (long n = configs.size(); n > 1; n = (n + eta - 1) / eta) {
            rungs++;
        }
        List<Config> alive = configs;
        Map<Config, Trial> once = new java.util.HashMap<>();
        for (int rung = 0; rung < rungs; rung++) {
            double fraction = Math.pow(eta, -(rungs - 1 - rung));
            List<Trial> results = new ArrayList<>();
            for (Config config : alive) {
                Optional<SearchSpace.Budget> budget = space.budget(config.family());
                if (budget.isEmpty()) {
                    Trial trial = once.get(config);
                    if (trial == null) {
                        trial = trial(config);
                        once.put(config, trial);
                    }
                    results.add(trial);
                    continue;
                }
                int full = Hyperparameters.integer(config.hyperparameters(), budget.get().name(), budget.get().full(),
                        1, Integer.MAX_VALUE);
                ObjectNode cut = config.hyperparameters().deepCopy();
                cut.put(budget.get().name(), Math.max(1, (int) Math.round(full * fraction)));
                Trial trial = trial(new Config(config.family(), cut));
                results.add(new Trial(trial.number(), config, trial.score(), trial.metrics(), trial.seconds()));
            }
            if (rung == rungs - 1) {
                break;
            }
            int keep = Math.max(1, (alive.size() + eta - 1) / eta);
            alive = results.stream().sorted(Comparator.comparingDouble(Trial::score)).limit(keep)
                    .map(Trial::config).toList();
        }
    }

    /** Runs one trial (or takes it from an earlier run), records it, and saves the search's state. */
    private Trial trial(Config config) {
        int number = ++started;
        if (number <= earlier.size() && earlier.get(number - 1).config().equals(config)) {
            Trial done = earlier.get(number - 1);
            all.add(done);
            return done;
        }
        if (System.nanoTime() > deadlineNanos) {
            throw new BudgetSpent();
        }
        long start = System.nanoTime();
        Trainer.Trained trained;
        try {
            trained = space.train(config.family(), config.hyperparameters(), quiet(deadlineNanos));
        } catch (CancellationException e) {
            if (run.cancelled()) {
                throw e;
            }
            throw new BudgetSpent();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonNode value = trained.metrics().get(metric);
        double score = value == null || !value.isNumber() ? Double.POSITIVE_INFINITY
                : Evaluations.sortKey(metric, value.doubleValue());
        Trial trial = new Trial(number, config, score, trained.metrics(), seconds);
        boolean best = all.stream().allMatch(other -> score < other.score());
        if (best) {
            bestTrained = trained;
            bestNumber = number;
        }
        all.add(trial);
        ObjectNode figures = view(trial);
        run.event(String.format(Locale.ROOT, "Trial %d (%s%s): validation %s %.4f in %.1f s%s", number,
                config.family(), describe(config), metric, value == null ? Double.NaN : value.doubleValue(), seconds,
                best ? ", the best so far" : ""), figures);
        run.checkpoint(number, Map.of(metric, value == null ? Double.NaN : value.doubleValue()));
        run.saveState(state());
        return trial;
    }

    private String describe(Config config) {
        StringBuilder text = new StringBuilder();
        for (SearchSpace.Parameter parameter : space.parameters(config.family())) {
            JsonNode value = config.hyperparameters().get(parameter.name());
            if (value != null && value.isNumber()) {
                text.append(", ").append(parameter.name()).append(' ').append(value.isIntegralNumber()
                        ? value.asString() : String.format(Locale.ROOT, "%.4g", value.doubleValue()));
            }
        }
        space.budget(config.family()).ifPresent(budget -> {
            JsonNode value = config.hyperparameters().get(budget.name());
            if (value != null && value.isIntegralNumber()) {
                text.append(", ").append(budget.name()).append(' ').append(value.asString());
            }
        });
        return text.toString();
    }

    private ObjectNode view(Trial trial) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("trial", trial.number());
        node.put("family", trial.config().family());
        node.set("hyperparameters", trial.config().hyperparameters());
        node.put("metric", metric);
        JsonNode value = trial.metrics().get(metric);
        if (value != null) {
            node.set("value", value);
        }
        node.put("seconds", Math.round(trial.seconds() * 1000) / 1000.0);
        return node;
    }

    /** Every trial, best first (successive halving's at each budget they had). */
    private ArrayNode leaderboard() {
        ArrayNode board = JsonNodeFactory.instance.arrayNode();
        int rank = 0;
        for (Trial trial : all.stream().sorted(Comparator.comparingDouble(Trial::score)
                .thenComparingInt(Trial::number)).toList()) {
            ObjectNode row = view(trial);
            row.put("rank", ++rank);
            board.add(row);
        }
        return board;
    }

    /** The search's state: the trials so far, in order, with their configurations and metrics. */
    private byte[] state() {
        ArrayNode done = JsonNodeFactory.instance.arrayNode();
        for (Trial trial : all) {
            ObjectNode row = done.addObject();
            row.put("number", trial.number());
            row.put("family", trial.config().family());
            row.set("hyperparameters", trial.config().hyperparameters());
            row.put("score", trial.score());
            row.set("metrics", trial.metrics());
            row.put("seconds", trial.seconds());
        }
        ObjectNode state = JsonNodeFactory.instance.objectNode();
        state.put("kind", "automl");
        state.set("trials", done);
        return JSON.writeValueAsBytes(state);
    }

    private static List<Trial> restore(byte[] bytes) {
        JsonNode state;
        try {
            state = JSON.readTree(bytes);
        } catch (RuntimeException e) {
            return List.of(); // not a search's state: start over
        }
        if (!state.path("kind").asString("").equals("automl")) {
            return List.of();
        }
        List<Trial> trials = new ArrayList<>();
        for (JsonNode row : state.path("trials")) {
            trials.add(new Trial(row.path("number").asInt(), new Config(row.path("family").asString(),
                    (ObjectNode) row.path("hyperparameters")), row.path("score").asDouble(),
                    (ObjectNode) row.path("metrics"), row.path("seconds").asDouble()));
        }
        return trials;
    }

    /** The run as a trial sees it: no events or checkpoints of its own, and cancelled at the search's deadline. */
    private Trainer.Run quiet(long deadline) {
        return new Trainer.Run() {
            @Override
            public FineTuningJob job() {
                return run.job();
            }

            @Override
            public Supplier<InputStream> trainingFile() {
                return run.trainingFile();
            }

            @Override
            public String trainingFileName() {
                return run.trainingFileName();
            }

            @Override
            public Optional<String> validationFileName() {
                return run.validationFileName();
            }

            @Override
            public Optional<Supplier<InputStream>> validationFile() {
                return run.validationFile();
            }

            @Override
            public String trainingFileSha256() {
                return run.trainingFileSha256();
            }

            @Override
            public Optional<String> validationFileSha256() {
                return run.validationFileSha256();
            }

            @Override
            public void event(String message, JsonNode data) {}

            @Override
            public void checkpoint(long step, Map<String, Double> metrics) {}

            @Override
            public Optional<byte[]> savedState() {
                return Optional.empty(); // a trial cut off starts again
            }

            @Override
            public void saveState(byte[] state) {}

            @Override
            public boolean wantsState() {
                return false;
            }

            @Override
            public boolean cancelled() {
                return run.cancelled() || System.nanoTime() > deadline;
            }
        };
    }

    private static void checkSpace(SearchSpace space, SearchSettings settings) {
        for (Map.Entry<String, List<Double>> range : settings.space().entrySet()) {
            Optional<SearchSpace.Parameter> parameter = space.families().stream()
                    .flatMap(family -> space.parameters(family).stream())
                    .filter(p -> p.name().equals(range.getKey())).findFirst();
            if (parameter.isEmpty()) {
                throw AtriumException.invalidParam("hyperparameters", "search.space." + range.getKey() + " is not a"
                        + " hyperparameter this job searches; it searches " + String.join(", ", space.families()
                        .stream().flatMap(family -> space.parameters(family).stream()).map(SearchSpace.Parameter::name)
                        .distinct().toList()));
            }
            SearchSpace.Parameter p = parameter.get();
            if (range.getValue().get(0) < p.low() || range.getValue().get(1) > p.high()) {
                throw AtriumException.invalidParam("hyperparameters", "search.space." + p.name() + " must lie within ["
                        + p.low() + ", " + p.high() + "]");
            }
        }
    }

    /** The search's time is spent. */
    private static final class BudgetSpent extends RuntimeException {
        BudgetSpent() {
            super(null, null, false, false);
        }
    }
}
