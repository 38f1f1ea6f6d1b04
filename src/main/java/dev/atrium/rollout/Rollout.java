package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import tools.jackson.databind.node.ObjectNode;

/**
 * A rollout of a canary version on one alias of a model, as it stands: its plan, the canary's share now, and the
 * steps it took.
 *
 * @param owner the model's owner (its tenant, or '' for a public model)
 * @param weight the canary's percent of the alias's traffic now
 * @param reason why it ended; null while it runs
 * @param startedBy the id of the key that started it
 * @param steppedAt when its weight last changed
 * @param endedAt when it ended; null while it runs
 */
public record Rollout(long id, long modelId, String owner, String model, String alias, int baseline, int canary,
        State state, int weight, RolloutPlan plan, String reason, String startedBy, Instant startedAt,
        Instant steppedAt, Instant endedAt, List<Step> steps) {

    /** Where a rollout is: running, or how it ended. */
    public enum State {
        RUNNING("running"),
        /** The canary took all the traffic: the alias points at it alone. */
        PROMOTED("promoted"),
        /** The canary crossed a threshold: the alias points at the baseline alone again. */
        ROLLED_BACK("rolled_back"),
        /** Stopped by hand: the alias points at the baseline alone again. */
        ABORTED("aborted");

        private final String wireName;

        State(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        static State fromWireName(String name) {
            return Arrays.stream(values()).filter(state -> state.wireName.equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("unknown rollout state " + name));
        }
    }

    /** What a step did. */
    public enum Action {
        START("start"), STEP("step"), EVALUATED("evaluated"), PROMOTE("promote"), ROLLBACK("rollback"),
        ABORT("abort");

        private final String wireName;

        Action(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        static Action fromWireName(String name) {
            return Arrays.stream(values()).filter(action -> action.wireName.equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("unknown rollout action " + name));
        }
    }

    /**
     * One step of a rollout and what it was decided on.
     *
     * @param weight the canary's percent after it
     * @param detail the figures compared (both versions' calls, error rates and p99 over the window), and why
     */
    public record Step(Instant at, Action action, int weight, ObjectNode detail) {
        public Step {
            requireNonNull(at, "at is null");
            requireNonNull(action, "action is null");
            requireNonNull(detail, "detail is null");
        }
    }

    public Rollout {
        requireNonNull(owner, "owner is null");
        requireNonNull(model, "model is null");
        requireNonNull(alias, "alias is null");
        requireNonNull(state, "state is null");
        requireNonNull(plan, "plan is null");
        requireNonNull(startedBy, "startedBy is null");
        requireNonNull(startedAt, "startedAt is null");
        requireNonNull(steppedAt, "steppedAt is null");
        steps = List.copyOf(steps);
    }

    /** {@code model:alias}, as audit events name it. */
    public String target() {
        return model + ":" + alias;
    }

    /** The tenant the model belongs to, or null for a public model. */
    public String tenantId() {
        return owner.isEmpty() ? null : owner;
    }

    static AtriumException notRunning(String model, String alias) {
        return new AtriumException(dev.atrium.ErrorCode.NOT_FOUND, "alias '" + model + ":" + alias
                + "' has no rollout running");
    }
}
