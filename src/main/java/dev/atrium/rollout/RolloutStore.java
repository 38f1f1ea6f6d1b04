package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.EpochMicros;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** Rollouts and their steps in the metadata store. A state changes only from running, and only once. */
final class RolloutStore {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String SELECT = """
            SELECT r.*, m.owner, m.name FROM model_rollouts r JOIN models m ON m.id = r.model_id""";

    private final Jdbi jdbi;

    RolloutStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /**
     * Writes a new running rollout and its start step.
     *
     * @throws AtriumException 409 when the alias has one running already
     */
    long insert(long modelId, String alias, int baseline, int canary, int weight, RolloutPlan plan, String startedBy,
            Instant now, ObjectNode detail) {
        return jdbi.inTransaction(handle -> {
            boolean running = handle.createQuery("""
                    SELECT COUNT(*) FROM model_rollouts WHERE model_id = :model AND alias = :alias
                        AND state = 'running'""")
                    .bind("model", modelId).bind("alias", alias).mapTo(Integer.class).one() > 0;
            if (running) {
                throw new AtriumException(ErrorCode.CONFLICT, "alias '" + alias + "' has a rollout running already;"
                        + " promote or abort it first");
            }
            long id = handle.createUpdate("""
                    INSERT INTO model_rollouts (model_id, alias, baseline_version, canary_version, state, weight, plan,
                                                started_by, started_at, stepped_at)
                    VALUES (:model, :alias, :baseline, :canary, 'running', :weight, :plan, :by, :now, :now)""")
                    .bind("model", modelId).bind("alias", alias).bind("baseline", baseline).bind("canary", canary)
                    .bind("weight", weight).bind("plan", plan.toJson().toString()).bind("by", startedBy)
                    .bind("now", EpochMicros.of(now))
                    .executeAndReturnGeneratedKeys("id").mapTo(Long.class).one();
            step(handle, id, new Rollout.Step(now, Rollout.Action.START, weight, detail));
            return id;
        });
    }

    /** Every running rollout. */
    List<Rollout> running() {
        return jdbi.withHandle(handle -> handle.createQuery(SELECT + " WHERE r.state = 'running' ORDER BY r.id")
                .map((rs, ctx) -> rollout(handle, rs)).list());
    }

    /** The alias's latest rollout, running or ended. */
    Optional<Rollout> latest(long modelId, String alias) {
        return jdbi.withHandle(handle -> handle.createQuery(SELECT
                        + " WHERE r.model_id = :model AND r.alias = :alias ORDER BY r.id DESC LIMIT 1")
                .bind("model", modelId).bind("alias", alias)
                .map((rs, ctx) -> rollout(handle, rs)).findOne());
    }

    Optional<Rollout> find(long id) {
        return jdbi.withHandle(handle -> handle.createQuery(SELECT + " WHERE r.id = :id").bind("id", id)
                .map((rs, ctx) -> rollout(handle, rs)).findOne());
    }

    /** Moves a running rollout's canary to a new weight, with the step that did it; false if it is not running. */
    boolean step(long id, Rollout.Step step) {
        return jdbi.inTransaction(handle -> {
            int changed = handle.createUpdate("""
                    UPDATE model_rollouts SET weight = :weight, stepped_at = :at
                    WHERE id = :id AND state = 'running'""")
                    .bind("id", id).bind("weight", step.weight()).bind("at", EpochMicros.of(step.at())).execute();
            if (changed == 0) {
                return false;
            }
            step(handle, id, step);
            return true;
        });
    }

    /** Records a step that moves nothing (an evaluation's scores); false if the rollout is not running. */
    boolean note(long id, Rollout.Step step) {
        return jdbi.inTransaction(handle -> {
            boolean running = handle.createQuery("SELECT COUNT(*) FROM model_rollouts WHERE id = :id"
                    + " AND state = 'running'").bind("id", id).mapTo(Integer.class).one() > 0;
            if (running) {
                step(handle, id, step);
            }
            return running;
        });
    }

    /** Ends a running rollout with the step that ended it; false if it was not running (it ended already). */
    boolean end(long id, Rollout.State state, String reason, Rollout.Step step) {
        return jdbi.inTransaction(handle -> {
            int changed = handle.createUpdate("""
                    UPDATE model_rollouts SET state = :state, weight = :weight, reason = :reason, stepped_at = :at,
                                              ended_at = :at
                    WHERE id = :id AND state = 'running'""")
                    .bind("id", id).bind("state", state.wireName()).bind("weight", step.weight())
                    .bind("reason", reason).bind("at", EpochMicros.of(step.at())).execute();
            if (changed == 0) {
                return false;
            }
            step(handle, id, step);
            return true;
        });
    }

    private static void step(Handle handle, long id, Rollout.Step step) {
        handle.createUpdate("""
                INSERT INTO model_rollout_steps (rollout_id, at, action, weight, detail)
                VALUES (:id, :at, :action, :weight, :detail)""")
                .bind("id", id).bind("at", EpochMicros.of(step.at())).bind("action", step.action().wireName())
                .bind("weight", step.weight()).bind("detail", step.detail().toString()).execute();
    }

    private static Rollout rollout(Handle handle, ResultSet rs) throws SQLException {
        long id = rs.getLong("id");
        List<Rollout.Step> steps = handle.createQuery("""
                SELECT * FROM model_rollout_steps WHERE rollout_id = :id ORDER BY at, rowid""")
                .bind("id", id)
                .map((row, ctx) -> new Rollout.Step(EpochMicros.instant(row, "at"),
                        Rollout.Action.fromWireName(row.getString("action")), row.getInt("weight"),
                        (ObjectNode) JSON.readTree(row.getString("detail"))))
                .list();
        return new Rollout(id, rs.getLong("model_id"), rs.getString("owner"), rs.getString("name"),
                rs.getString("alias"), rs.getInt("baseline_version"), rs.getInt("canary_version"),
                Rollout.State.fromWireName(rs.getString("state")), rs.getInt("weight"),
                RolloutPlan.fromJson(JSON.readTree(rs.getString("plan"))), rs.getString("reason"),
                rs.getString("started_by"), EpochMicros.instant(rs, "started_at"),
                EpochMicros.instant(rs, "stepped_at"), EpochMicros.nullableInstant(rs, "ended_at"), steps);
    }
}
