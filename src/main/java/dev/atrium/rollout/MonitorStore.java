package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** Versions' monitoring settings and complete baselines in the metadata store, one row per version. */
final class MonitorStore {
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final Jdbi jdbi;

    MonitorStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /**
     * A version's row.
     *
     * @param settings null when the version has the defaults
     * @param fromRequests whether its baseline was reset by hand (then never the validation data's)
     * @param baseline null while none is complete
     */
    record Row(MonitorSettings settings, boolean fromRequests, VersionMonitor.Baseline baseline) {}

    Optional<Row> find(long modelId, int version) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM model_version_monitors WHERE model_id = :model AND version = :version""")
                .bind("model", modelId).bind("version", version)
                .map((rs, ctx) -> row(rs)).findOne());
    }

    void saveBaseline(long modelId, int version, VersionMonitor.Baseline baseline, Instant now) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                        INSERT INTO model_version_monitors (model_id, version, baseline, updated_at)
                        VALUES (:model, :version, :baseline, :now)
                        ON CONFLICT (model_id, version) DO UPDATE SET baseline = excluded.baseline,
                                                                      updated_at = excluded.updated_at""")
                .bind("model", modelId).bind("version", version).bind("baseline", toJson(baseline).toString())
                .bind("now", EpochMicros.of(now)).execute());
    }

    void saveSettings(long modelId, int version, MonitorSettings settings, Instant now) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                        INSERT INTO model_version_monitors (model_id, version, threshold, baseline_size, window_size,
                                                            updated_at)
                        VALUES (:model, :version, :threshold, :baseline, :window, :now)
                        ON CONFLICT (model_id, version) DO UPDATE SET threshold = excluded.threshold,
                            baseline_size = excluded.baseline_size, window_size = excluded.window_size,
                            updated_at = excluded.updated_at""")
                .bind("model", modelId).bind("version", version).bind("threshold", settings.threshold())
                .bind("baseline", settings.baselineSize()).bind("window", settings.windowSize())
                .bind("now", EpochMicros.of(now)).execute());
    }

    /** Drops the version's baseline; the next is taken from requests. */
    void resetBaseline(long modelId, int version, Instant now) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                        INSERT INTO model_version_monitors (model_id, version, from_requests, updated_at)
                        VALUES (:model, :version, 1, :now)
                        ON CONFLICT (model_id, version) DO UPDATE SET baseline = NULL, from_requests = 1,
                                                                      updated_at = excluded.updated_at""")
                .bind("model", modelId).bind("version", version).bind("now", EpochMicros.of(now)).execute());
    }

    private static Row row(ResultSet rs) throws SQLException {
        double threshold = rs.getDouble("threshold");
        MonitorSettings settings = rs.wasNull() ? null : new MonitorSettings(threshold, rs.getInt("baseline_size"),
                rs.getInt("window_size"));
        String baseline = rs.getString("baseline");
        return new Row(settings, rs.getInt("from_requests") == 1, baseline == null ? null
                : fromJson(JSON.readTree(baseline)));
    }

    static ObjectNode toJson(VersionMonitor.Baseline baseline) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("measure", baseline.measure().wireName());
        node.put("source", baseline.source().wireName());
        switch (baseline.distribution()) {
            case OutputDistribution.Classes classes -> {
                ArrayNode labels = node.putArray("labels");
                classes.kept().forEach(labels::add);
                node.put("other", classes.hasOther());
            }
            case OutputDistribution.Deciles deciles -> {
                ArrayNode cuts = node.putArray("cuts");
                deciles.cuts().forEach(cuts::add);
            }
        }
        ArrayNode counts = node.putArray("counts");
        baseline.counts().forEach(counts::add);
        ArrayNode means = node.putArray("means");
        baseline.means().forEach(means::add);
        if (baseline.centroid() != null) {
            ArrayNode centroid = node.putArray("centroid");
            for (float component : baseline.centroid()) {
                centroid.add(component);
            }
        }
        node.put("completed_at", EpochMicros.of(baseline.completedAt()));
        return node;
    }

    static VersionMonitor.Baseline fromJson(JsonNode node) {
        VersionMonitor.Measure measure = VersionMonitor.Measure.fromWireName(node.path("measure").asString());
        OutputDistribution distribution = measure == VersionMonitor.Measure.CLASS
                ? new OutputDistribution.Classes(strings(node.path("labels")), node.path("other").asBoolean(false))
                : OutputDistribution.Deciles.at(numbers(node.path("cuts")));
        List<Long> counts = new ArrayList<>();
        node.path("counts").forEach(count -> counts.add(count.asLong()));
        float[] centroid = null;
        if (node.has("centroid")) {
            centroid = new float[node.path("centroid").size()];
            for (int d = 0; d < centroid.length; d++) {
                centroid[d] = node.path("centroid").get(d).floatValue();
            }
        }
        return new VersionMonitor.Baseline(measure, VersionMonitor.Source.fromWireName(node.path("source")
                .asString()), distribution, counts, centroid, numbers(node.path("means")),
                EpochMicros.toInstant(node.path("completed_at").asLong()));
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(value -> values.add(value.asString()));
        return values;
    }

    private static List<Double> numbers(JsonNode array) {
        List<Double> values = new ArrayList<>();
        array.forEach(value -> values.add(value.asDouble()));
        return values;
    }
}
