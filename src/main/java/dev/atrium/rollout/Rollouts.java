package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.engine.VersionKey;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.Split;
import dev.atrium.training.Evaluations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Canary rollouts: a version of a model gets a share of one of its aliases' traffic (a {@link Split} with the
 * version the alias pointed at, its baseline), stepped up on the plan's schedule while it stays within the plan's
 * thresholds of the baseline over the plan's window ({@link VersionTraffic}), promoted when it reaches 100%, and
 * rolled back (the alias pointed at the baseline alone) as soon as a threshold is crossed. Promote and abort by
 * hand at any time. Every step is kept with the figures it was decided on and audited.
 *
 * <p>Design: the store is the truth. A checker reads the running rollouts every {@code period} and decides each;
 * every transition (a start, a step, an end, by hand or by the checker) runs under one lock, writes the alias's
 * split, then the rollout's row. A crash between the two leaves a running rollout whose alias does not split as its
 * weight says: the checker puts the split back and goes on, so a rollout always converges. A step needs evidence:
 * the canary's calls in the window reach the plan's {@code min_calls} (a canary nobody calls does not advance).
 * Running several replicas, each would check (and step) the same rollouts: a lease for one checker is issue 16's.
 */
public final class Rollouts implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Rollouts.class);

    /** Scores one version of a model on a plan's evaluation, as the key with this id: the metric's value. */
    @FunctionalInterface
    public interface Scorer {
        double score(String keyId, String reference, RolloutPlan.Evaluation evaluation);
    }

    /** Who acts by hand: a key's id and visible prefix. */
    public record Actor(String keyId, String prefix) {
        public Actor {
            requireNonNull(keyId, "keyId is null");
        }
    }

    private final RolloutStore store;
    private final ModelRegistry registry;
    private final VersionTraffic traffic;
    private final AuditLog audit;
    private final Scorer scorer;
    private final Clock clock;
    private final ReentrantLock transitions = new ReentrantLock();
    /** Evaluations under way, by rollout id: each scores both versions once. */
    private final Map<Long, CompletableFuture<ObjectNode>> evaluations = new ConcurrentHashMap<>();
    private final ScheduledExecutorService checker;

    /**
     * @param period how often running rollouts are checked; zero for none (tests call {@link #check})
     */
    public Rollouts(org.jdbi.v3.core.Jdbi jdbi, ModelRegistry registry, VersionTraffic traffic, AuditLog audit,
            Scorer scorer, Clock clock, Duration period) {
        this.store = new RolloutStore(jdbi);
        this.registry = requireNonNull(registry, "registry is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.scorer = requireNonNull(scorer, "scorer is null");
        this.clock = requireNonNull(clock, "clock is null");
        if (period.isZero()) {
            this.checker = null;
        } else {
            this.checker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("rollouts").daemon(true)
                    .factory());
            checker.scheduleWithFixedDelay(this::checkQuietly, period.toMillis(), period.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    // ---- by hand ------------------------------------------------------------------------------------------------

    /**
     * Starts a canary of {@code version} on an alias that points at one other version (its baseline), at the plan's
     * first step.
     *
     * @throws AtriumException 404 for a model, version or alias the scope cannot manage or that does not exist, 409
     *     when the alias splits already or has a rollout running, 400 for a canary that is the baseline
     */
    public Rollout start(ModelScope scope, String name, String alias, int version, RolloutPlan plan, Actor actor) {
        Model model = registry.manageableVersion(scope, name, version).model();
        transitions.lock();
        try {
            Integer baseline = registry.aliases(model).get(alias);
            if (baseline == null || alias.equals(dev.atrium.registry.ModelReference.LATEST)) {
                throw new AtriumException(ErrorCode.NOT_FOUND, "model '" + name + "' has no alias '" + alias
                        + "' to roll a version out on; point it at the version in use first");
            }
            if (registry.split(model, alias).isPresent()) {
                throw new AtriumException(ErrorCode.CONFLICT, "alias '" + name + ":" + alias + "' splits its traffic"
                        + " already; point it at one version before starting a rollout");
            }
            if (baseline == version) {
                throw AtriumException.invalidParam("version", "alias '" + alias + "' points at version " + version
                        + " already");
            }
            int weight = plan.steps().getFirst();
            Instant now = clock.instant();
            ObjectNode detail = JsonNodeFactory.instance.objectNode();
            detail.put("reason", "started by " + (actor.prefix() == null ? actor.keyId() : actor.prefix()));
            long id = store.insert(model.id(), alias, baseline, version, weight, plan, actor.keyId(), now, detail);
            applySplit(scope, name, alias, baseline, version, weight, plan.sticky());
            LOG.info("rollout {} of {}:{} started: version {} at {}% beside version {}", id, name, alias, version,
                    weight, baseline);
            return store.find(id).orElseThrow();
        } finally {
            transitions.unlock();
        }
    }

    /** The alias's latest rollout, running or ended, as the scope sees the model. */
    public Optional<Rollout> latest(ModelScope scope, String name, String alias) {
        Model model = registry.model(scope, name);
        return store.latest(model.id(), alias);
    }

    /** Whether the alias has a rollout running: then only the rollout moves it. */
    public boolean isRunning(Model model, String alias) {
        return store.latest(model.id(), alias).map(rollout -> rollout.state() == Rollout.State.RUNNING)
                .orElse(false);
    }

    /** Gives the canary all the alias's traffic now. */
    public Rollout promote(ModelScope scope, String name, String alias, Actor actor) {
        return byHand(scope, name, alias, Rollout.State.PROMOTED, "promoted by hand by " + who(actor));
    }

    /** Points the alias back at the baseline alone now. */
    public Rollout abort(ModelScope scope, String name, String alias, Actor actor) {
        return byHand(scope, name, alias, Rollout.State.ABORTED, "aborted by hand by " + who(actor));
    }

    private static String who(Actor actor) {
        return actor.prefix() == null ? actor.keyId() : actor.prefix();
    }

    private Rollout byHand(ModelScope scope, String name, String alias, Rollout.State state, String reason) {
        Model model = registry.model(scope, name);
        transitions.lock();
        try {
            Rollout rollout = store.latest(model.id(), alias).filter(found -> found.state() == Rollout.State.RUNNING)
                    .orElseThrow(() -> Rollout.notRunning(name, alias));
            registry.manageableVersion(scope, name, rollout.canary()); // 403 for a public model's reader
            ObjectNode detail = compare(rollout);
            detail.put("reason", reason);
            end(rollout, state, reason, detail, false);
            return store.find(rollout.id()).orElseThrow();
        } finally {
            transitions.unlock();
        }
    }

    // ---- the checker --------------------------------------------------------------------------------------------

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) {
            LOG.warn("checking rollouts failed: {}", e.toString());
        }
    }

    /** Decides every running rollout once: rolls it back, steps it up, promotes it, or leaves it. */
    public void check() {
        for (Rollout rollout : store.running()) {
            transitions.lock();
            try {
                Optional<Rollout> current = store.find(rollout.id())
                        .filter(found -> found.state() == Rollout.State.RUNNING);
                if (current.isPresent()) {
                    decide(current.get());
                }
            } catch (AtriumException e) {
                LOG.warn("rollout {} of {}: {}", rollout.id(), rollout.target(), e.getMessage());
            } finally {
                transitions.unlock();
            }
        }
    }

    private void decide(Rollout rollout) {
        ModelScope scope = scope(rollout);
        Model model = registry.model(scope, rollout.model());
        // put back a split a crash left half moved
        Map<Integer, Integer> expected = weights(rollout.baseline(), rollout.canary(), rollout.weight());
        if (!registry.split(model, rollout.alias()).map(Split::weights).equals(Optional.of(expected))) {
            applySplit(scope, rollout.model(), rollout.alias(), rollout.baseline(), rollout.canary(), rollout.weight(),
                    rollout.plan().sticky());
        }
        ObjectNode detail = compare(rollout);
        Optional<String> crossed = crossed(rollout, detail);
        if (crossed.isPresent()) {
            detail.put("reason", crossed.get());
            end(rollout, Rollout.State.ROLLED_BACK, crossed.get(), detail, true);
            return;
        }
        Optional<String> quality = rollout.plan().evaluation().isEmpty() ? Optional.empty() : evaluated(rollout);
        if (quality.isPresent()) {
            detail.put("reason", quality.get());
            end(rollout, Rollout.State.ROLLED_BACK, quality.get(), detail, true);
            return;
        }
        boolean due = !clock.instant().isBefore(rollout.steppedAt().plus(rollout.plan().interval()));
        boolean evidence = detail.path("canary").path("calls").asLong()
                >= rollout.plan().thresholds().minCalls();
        boolean scored = rollout.plan().evaluation().isEmpty()
                || rollout.steps().stream().anyMatch(step -> step.action() == Rollout.Action.EVALUATED);
        if (!due || !evidence || !scored) {
            return;
        }
        int next = rollout.plan().steps().stream().filter(step -> step > rollout.weight()).findFirst().orElse(100);
        if (next == 100) {
            String reason = "reached 100% within every threshold";
            detail.put("reason", reason);
            end(rollout, Rollout.State.PROMOTED, reason, detail, true);
            return;
        }
        detail.put("reason", "within every threshold for " + RolloutPlan.format(rollout.plan().interval()));
        applySplit(scope, rollout.model(), rollout.alias(), rollout.baseline(), rollout.canary(), next,
                rollout.plan().sticky());
        Rollout.Step step = new Rollout.Step(clock.instant(), Rollout.Action.STEP, next, detail);
        if (store.step(rollout.id(), step)) {
            record(rollout, "rollout.step", rollout.target() + " canary " + rollout.canary() + " at " + next + "%: "
                    + summary(detail));
            LOG.info("rollout {} of {}: version {} now at {}%", rollout.id(), rollout.target(), rollout.canary(),
                    next);
        }
    }

    /** The threshold the canary crossed over the window, if it did. */
    private static Optional<String> crossed(Rollout rollout, ObjectNode detail) {
        RolloutPlan.Thresholds limits = rollout.plan().thresholds();
        ObjectNode canary = (ObjectNode) detail.path("canary");
        ObjectNode baseline = (ObjectNode) detail.path("baseline");
        if (canary.path("calls").asLong() < limits.minCalls()) {
            return Optional.empty();
        }
        double canaryErrors = canary.path("error_rate").asDouble();
        double baselineErrors = baseline.path("error_rate").asDouble();
        if (canaryErrors > baselineErrors + limits.maxErrorRateIncrease()) {
            return Optional.of(String.format(Locale.ROOT, "error rate %.4f over the window, above the baseline's"
                    + " %.4f by more than %.4f", canaryErrors, baselineErrors, limits.maxErrorRateIncrease()));
        }
        if (canary.has("p99_ms") && baseline.has("p99_ms")
                && baseline.path("calls").asLong() >= limits.minCalls()) {
            double canaryP99 = canary.path("p99_ms").asDouble();
            double baselineP99 = baseline.path("p99_ms").asDouble();
            if (canaryP99 > baselineP99 * limits.maxP99Ratio()
                    && canaryP99 - baselineP99 > limits.p99Slack().toNanos() / 1e6) {
                return Optional.of(String.format(Locale.ROOT, "p99 latency %.1f ms over the window, above %.2f x the"
                        + " baseline's %.1f ms", canaryP99, limits.maxP99Ratio(), baselineP99));
            }
        }
        return Optional.empty();
    }

    /**
     * The plan's evaluation: started on the first check, noted as a step when both scores are in. Returns why the
     * canary is rolled back for it (worse than allowed, or not scorable), if it is.
     */
    private Optional<String> evaluated(Rollout rollout) {
        if (rollout.steps().stream().anyMatch(step -> step.action() == Rollout.Action.EVALUATED)) {
            return Optional.empty();
        }
        RolloutPlan.Evaluation evaluation = rollout.plan().evaluation().orElseThrow();
        CompletableFuture<ObjectNode> scores = evaluations.computeIfAbsent(rollout.id(), id ->
                CompletableFuture.supplyAsync(() -> {
                    ObjectNode result = JsonNodeFactory.instance.objectNode();
                    result.put("metric", evaluation.metric());
                    result.put("file", evaluation.file());
                    result.put("canary", scorer.score(rollout.startedBy(), rollout.model() + ":" + rollout.canary(),
                            evaluation));
                    result.put("baseline", scorer.score(rollout.startedBy(), rollout.model() + ":"
                            + rollout.baseline(), evaluation));
                    return result;
                }, task -> Thread.ofVirtual().name("rollout-evaluation").start(task)));
        if (!scores.isDone()) {
            return Optional.empty();
        }
        evaluations.remove(rollout.id());
        ObjectNode result;
        try {
            result = scores.join();
        } catch (java.util.concurrent.CompletionException e) {
            String message = e.getCause() instanceof AtriumException atrium ? atrium.getMessage()
                    : "the versions could not be scored";
            return Optional.of("the evaluation failed: " + message);
        }
        double shortfall = Evaluations.shortfall(evaluation.metric(), result.path("canary").asDouble(),
                result.path("baseline").asDouble());
        result.put("shortfall", shortfall);
        result.put("max_drop", evaluation.maxDrop());
        store.note(rollout.id(), new Rollout.Step(clock.instant(), Rollout.Action.EVALUATED, rollout.weight(),
                result));
        if (shortfall > evaluation.maxDrop()) {
            return Optional.of(String.format(Locale.ROOT, "%s %.6g on the evaluation file against the baseline's"
                    + " %.6g: worse by more than %.6g", evaluation.metric(), result.path("canary").asDouble(),
                    result.path("baseline").asDouble(), evaluation.maxDrop()));
        }
        return Optional.empty();
    }

    // ---- transitions --------------------------------------------------------------------------------------------

    /** @param automatic whether the checker decided it (audited here; a request's own trail audits one by hand) */
    private void end(Rollout rollout, Rollout.State state, String reason, ObjectNode detail, boolean automatic) {
        ModelScope scope = scope(rollout);
        int to = state == Rollout.State.PROMOTED ? rollout.canary() : rollout.baseline();
        registry.setSplit(scope, rollout.model(), rollout.alias(), Map.of(to, 1), rollout.plan().sticky());
        Rollout.Action action = switch (state) {
            case PROMOTED -> Rollout.Action.PROMOTE;
            case ROLLED_BACK -> Rollout.Action.ROLLBACK;
            case ABORTED -> Rollout.Action.ABORT;
            case RUNNING -> throw new IllegalArgumentException("a rollout ends promoted, rolled back or aborted");
        };
        int weight = state == Rollout.State.PROMOTED ? 100 : 0;
        if (store.end(rollout.id(), state, reason, new Rollout.Step(clock.instant(), action, weight, detail))) {
            evaluations.remove(rollout.id());
            if (automatic) {
                record(rollout, "rollout." + action.wireName(), rollout.target() + " now points at version " + to
                        + ": " + reason);
            }
            LOG.info("rollout {} of {} {}: {}", rollout.id(), rollout.target(), state.wireName(), reason);
        }
    }

    private void applySplit(ModelScope scope, String name, String alias, int baseline, int canary, int weight,
            Split.Sticky sticky) {
        registry.setSplit(scope, name, alias, weights(baseline, canary, weight), sticky);
    }

    private static Map<Integer, Integer> weights(int baseline, int canary, int weight) {
        return weight >= 100 ? Map.of(canary, 1) : new java.util.TreeMap<>(Map.of(baseline, 100 - weight, canary,
                weight));
    }

    private static ModelScope scope(Rollout rollout) {
        return new ModelScope(rollout.tenantId(), name -> true);
    }

    /** Both versions' figures over the plan's window now: what each step is decided on, and a status shows. */
    public ObjectNode compare(Rollout rollout) {
        ObjectNode detail = JsonNodeFactory.instance.objectNode();
        detail.put("window", RolloutPlan.format(rollout.plan().window()));
        detail.set("baseline", figures(rollout, rollout.baseline()));
        detail.set("canary", figures(rollout, rollout.canary()));
        return detail;
    }

    private ObjectNode figures(Rollout rollout, int version) {
        VersionTraffic.Window window = traffic.window(new VersionKey(rollout.modelId(), rollout.model(), version),
                rollout.plan().window());
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("version", version);
        node.put("calls", window.calls());
        node.put("errors", window.errors());
        node.put("error_rate", window.errorRate());
        window.p50().ifPresent(p50 -> node.put("p50_ms", p50.toNanos() / 1e6));
        window.p99().ifPresent(p99 -> node.put("p99_ms", p99.toNanos() / 1e6));
        return node;
    }

    private static String summary(ObjectNode detail) {
        return String.format(Locale.ROOT, "canary %d calls, error rate %.4f; baseline %d calls, error rate %.4f",
                detail.path("canary").path("calls").asLong(), detail.path("canary").path("error_rate").asDouble(),
                detail.path("baseline").path("calls").asLong(), detail.path("baseline").path("error_rate").asDouble());
    }

    private void record(Rollout rollout, String action, String target) {
        audit.record(new AuditEvent(0, clock.instant(), null, "rollout", rollout.tenantId(), action, target, null,
                "ok", 200));
    }

    @Override
    public void close() {
        if (checker != null) {
            checker.shutdownNow();
        }
    }
}
