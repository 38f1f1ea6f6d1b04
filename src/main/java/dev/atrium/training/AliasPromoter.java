package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.gateway.Caller;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A job's {@code promote}: the alias moves to the job's new version only when the new version is better on the
 * metric than the version the alias points at, both scored by {@link VersionScorer} on the job's validation file
 * through the serving path as the job's key (so the comparison is metered like the key's calls, and is the same
 * path users see); an alias that points nowhere yet moves. A key no longer usable promotes nothing.
 */
public final class AliasPromoter implements FineTuningJobs.Promoter {
    private final ModelRegistry registry;
    private final VersionScorer scorer;
    private final Function<String, Optional<Caller>> callers;

    /** @param callers the caller a key acts as, by key id; empty for a key revoked or expired */
    public AliasPromoter(ModelRegistry registry, VersionScorer scorer, Function<String, Optional<Caller>> callers) {
        this.registry = requireNonNull(registry, "registry is null");
        this.scorer = requireNonNull(scorer, "scorer is null");
        this.callers = requireNonNull(callers, "callers is null");
    }

    @Override
    public ObjectNode promote(FineTuningJob job, int version) {
        String alias = job.promote().path("alias").asString();
        String metric = job.promote().path("if_better_on").asString();
        ObjectNode decision = JsonNodeFactory.instance.objectNode();
        decision.put("alias", alias);
        decision.put("if_better_on", metric);
        decision.put("candidate", job.targetModel() + ":" + version);
        ModelScope scope = new ModelScope(job.tenantId(), name -> true);
        Model model = registry.model(scope, job.targetModel());
        Integer current = registry.aliases(model).get(alias);
        if (current != null && current == version) {
            decision.put("promoted", true);
            decision.put("reason", "the alias points at the new version already");
            return decision;
        }
        Optional<Caller> caller = callers.apply(job.keyId());
        if (caller.isEmpty()) {
            decision.put("promoted", false);
            decision.put("reason", "the job's key is revoked or expired: nothing is scored or moved for it");
            return decision;
        }
        Optional<String> target = Optional.ofNullable(job.hyperparameters().get("target"))
                .filter(JsonNode::isString).map(JsonNode::stringValue);
        double candidate = value(scorer.score(caller.get(), job.targetModel() + ":" + version, job.validationFile(),
                target), metric);
        decision.put("candidate_value", candidate);
        if (current == null) {
            registry.setAlias(scope, job.targetModel(), alias, version);
            decision.put("promoted", true);
            decision.put("reason", "the alias pointed at no version");
            return decision;
        }
        decision.put("incumbent", job.targetModel() + ":" + current);
        double incumbent = value(scorer.score(caller.get(), job.targetModel() + ":" + current, job.validationFile(),
                target), metric);
        decision.put("incumbent_value", incumbent);
        boolean better = Evaluations.better(metric, candidate, incumbent);
        if (better) {
            registry.setAlias(scope, job.targetModel(), alias, version);
        }
        decision.put("promoted", better);
        decision.put("reason", String.format(Locale.ROOT, "%s %.6g against %.6g on the validation file: %s", metric,
                candidate, incumbent, better ? "better" : "not better"));
        return decision;
    }

    private static double value(VersionScorer.Score score, String metric) {
        JsonNode value = score.metrics().get(metric);
        if (value == null || !value.isNumber()) {
            throw dev.atrium.AtriumException.invalidParam("promote", "the validation file gives no " + metric
                    + " for " + score.model());
        }
        return value.doubleValue();
    }
}
