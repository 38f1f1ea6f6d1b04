package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.PredictionResult;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelReference;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Shadow traffic: a fraction of the requests an alias answers is sent again to a candidate version, whose answer is
 * compared with the one the caller got and then dropped. The caller's answer, latency and charge are the primary's
 * alone: the mirror runs after the answer is made, off the request's thread, as its model owner's free internal
 * usage.
 *
 * <p>Agreement is measured per input, by the task's measure: the cosine of the two embeddings, whether the two
 * classifications' top labels agree, whether two tabular predictions are exactly equal. It is kept per alias from
 * the moment its shadow was set (setting it again starts over), in memory: each replica reports what it mirrored.
 *
 * <p>Mirrors are bounded: at most {@link #MAX_IN_FLIGHT} run at once in the process; a request drawn while all
 * run is not mirrored and is counted as dropped, so a slow candidate never piles up work or memory.
 */
public final class Shadows {
    /** The most mirrors running at once. */
    public static final int MAX_IN_FLIGHT = 16;
    /** How long a replica may go on using a shadow another replica changed. */
    private static final Duration CACHED = Duration.ofSeconds(5);
    private static final BigDecimal ONE = BigDecimal.ONE;

    /** An alias's shadow: the version that is sent a fraction of its requests. */
    public record Shadow(long modelId, String model, String alias, int version, BigDecimal fraction, String setBy,
            Instant setAt) {
        public Shadow {
            requireNonNull(model, "model is null");
            requireNonNull(alias, "alias is null");
            requireNonNull(fraction, "fraction is null");
            requireNonNull(setAt, "setAt is null");
        }
    }

    /** How two answers to the same input are compared. */
    public enum Measure {
        COSINE("cosine"), LABEL_AGREEMENT("label_agreement"), EXACT_MATCH("exact_match");

        private final String wireName;

        Measure(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** One comparison: the agreement summed over its inputs, and how many inputs. */
    public record Sample(Measure measure, double sum, int inputs) {
        public Sample {
            requireNonNull(measure, "measure is null");
            if (inputs < 0 || sum < -inputs - 1e-9 || sum > inputs + 1e-9) {
                throw new IllegalArgumentException("an agreement of " + sum + " over " + inputs + " inputs");
            }
        }
    }

    private record AliasKey(long modelId, String alias) {}

    private final Jdbi jdbi;
    private final ModelRegistry registry;
    private final Clock clock;
    private final Cache<AliasKey, Optional<Shadow>> shadows = Caffeine.newBuilder().maximumSize(10_000)
            .expireAfterWrite(CACHED).build();
    private final Map<AliasKey, Agreement> agreements = new ConcurrentHashMap<>();
    private final Semaphore permits = new Semaphore(MAX_IN_FLIGHT);

    public Shadows(Jdbi jdbi, ModelRegistry registry, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    // ---- by hand ------------------------------------------------------------------------------------------------

    /**
     * Mirrors {@code fraction} of the alias's requests to {@code version}, replacing the alias's shadow if it had one
     * (and starting its agreement over).
     *
     * @throws AtriumException 404 for a model, version or alias the scope does not see, 403 for one it cannot
     *     change, 400 for a fraction outside (0, 1] or a version that is all the alias points at
     */
    public Shadow set(ModelScope scope, String name, String alias, int version, BigDecimal fraction, String setBy) {
        if (fraction.signum() <= 0 || fraction.compareTo(ONE) > 0) {
            throw AtriumException.invalidParam("fraction", "'fraction' is the share of the alias's requests to"
                    + " mirror, above 0 and at most 1");
        }
        Model model = registry.manageableVersion(scope, name, version).model();
        Integer target = aliasTarget(model, alias);
        if (target == version && registry.split(model, alias).isEmpty()) {
            throw AtriumException.invalidParam("version", "alias '" + name + ":" + alias + "' points at version "
                    + version + " already; a shadow is another version");
        }
        Instant now = EpochMicros.truncate(clock.instant()); // as stored, so the agreement made here is the one kept
        Shadow shadow = new Shadow(model.id(), model.name(), alias, version, fraction.stripTrailingZeros(), setBy, now);
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO alias_shadows (model_id, alias, version, fraction, set_by, set_at)
                VALUES (:model, :alias, :version, :fraction, :by, :at)
                ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version, fraction = excluded.fraction,
                    set_by = excluded.set_by, set_at = excluded.set_at""")
                .bind("model", model.id()).bind("alias", alias).bind("version", version)
                .bind("fraction", shadow.fraction().toPlainString()).bind("by", setBy)
                .bind("at", EpochMicros.of(now)).execute());
        AliasKey key = new AliasKey(model.id(), alias);
        agreements.put(key, new Agreement(shadow));
        shadows.invalidate(key);
        return shadow;
    }

    /** The alias's shadow, if it has one; 404 for a model or alias the scope does not see. */
    public Optional<Shadow> find(ModelScope scope, String name, String alias) {
        Model model = registry.model(scope, name);
        aliasTarget(model, alias);
        return stored(new AliasKey(model.id(), alias));
    }

    /** The alias's shadow, if it has one, as requests see it (cached for a few seconds). */
    public Optional<Shadow> find(Model model, String alias) {
        return shadows.get(new AliasKey(model.id(), alias), this::stored);
    }

    /**
     * Stops mirroring the alias's requests.
     *
     * @return the shadow it had
     * @throws AtriumException 404 when it has none
     */
    public Shadow clear(ModelScope scope, String name, String alias) {
        Model model = registry.manageable(scope, name);
        AliasKey key = new AliasKey(model.id(), alias);
        Shadow shadow = stored(key).orElseThrow(() -> new AtriumException(ErrorCode.NOT_FOUND, "alias '" + name + ":"
                + alias + "' has no shadow"));
        jdbi.useHandle(handle -> handle.createUpdate("DELETE FROM alias_shadows WHERE model_id = :model AND alias ="
                + " :alias").bind("model", model.id()).bind("alias", alias).execute());
        shadows.invalidate(key);
        agreements.remove(key);
        return shadow;
    }

    private Integer aliasTarget(Model model, String alias) {
        Integer target = alias.equals(ModelReference.LATEST) ? null : registry.aliases(model).get(alias);
        if (target == null) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "model '" + model.name() + "' has no alias '" + alias
                    + "'");
        }
        return target;
    }

    private Optional<Shadow> stored(AliasKey key) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT s.*, m.name FROM alias_shadows s JOIN models m ON m.id = s.model_id
                WHERE s.model_id = :model AND s.alias = :alias""")
                .bind("model", key.modelId()).bind("alias", key.alias())
                .map((rs, ctx) -> new Shadow(rs.getLong("model_id"), rs.getString("name"), rs.getString("alias"),
                        rs.getInt("version"), new BigDecimal(rs.getString("fraction")), rs.getString("set_by"),
                        EpochMicros.toInstant(rs.getLong("set_at"))))
                .findOne());
    }

    // ---- per request --------------------------------------------------------------------------------------------

    /**
     * The mirror of a request the alias answered with {@code answeredVersion}, if the alias has a shadow, the draw
     * picks this request and a mirror may start; none when the shadow is the version that answered.
     */
    public Optional<Mirror> draw(Model model, String alias, int answeredVersion) {
        Optional<Shadow> found = find(model, alias);
        if (found.isEmpty() || found.get().version() == answeredVersion) {
            return Optional.empty();
        }
        Shadow shadow = found.get();
        if (shadow.fraction().compareTo(ONE) < 0
                && ThreadLocalRandom.current().nextDouble() >= shadow.fraction().doubleValue()) {
            return Optional.empty();
        }
        Agreement agreement = agreement(shadow);
        if (!permits.tryAcquire()) {
            agreement.dropped();
            return Optional.empty();
        }
        agreement.mirrored();
        return Optional.of(new Mirror(shadow, agreement));
    }

    private Agreement agreement(Shadow shadow) {
        AliasKey key = new AliasKey(shadow.modelId(), shadow.alias());
        Agreement current = agreements.compute(key, (k, known) -> known == null || !known.isOf(shadow)
                ? new Agreement(shadow) : known);
        return current;
    }

    /** One request's mirror: holds a permit until closed, and reports how it compared. */
    public final class Mirror implements AutoCloseable {
        private final Shadow shadow;
        private final Agreement agreement;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Mirror(Shadow shadow, Agreement agreement) {
            this.shadow = shadow;
            this.agreement = agreement;
        }

        public Shadow shadow() {
            return shadow;
        }

        /** The candidate answered: how its answer compared with the caller's. */
        public void compared(Sample sample) {
            agreement.compared(sample);
        }

        /** The candidate answered with something that cannot be compared (another dimension, another count). */
        public void incomparable() {
            agreement.incomparable();
        }

        /** The candidate failed to answer. */
        public void failed() {
            agreement.failed();
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                permits.release();
            }
        }
    }

    /** The shadow with its agreement so far, as the API shows it. */
    public ObjectNode view(Shadow shadow) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("object", "shadow");
        node.put("model", shadow.model());
        node.put("alias", shadow.alias());
        node.put("version", shadow.version());
        node.put("fraction", shadow.fraction());
        node.put("set_at", shadow.setAt().toString());
        node.set("agreement", agreement(shadow).toJson());
        return node;
    }

    // ---- measures -----------------------------------------------------------------------------------------------

    /**
     * The cosine of each input's two embeddings.
     *
     * @throws IllegalArgumentException when they cannot be compared (other counts or dimensions)
     */
    public static Sample cosine(EmbeddingResult answered, EmbeddingResult shadow) {
        List<float[]> a = answered.vectors();
        List<float[]> b = shadow.vectors();
        requireSameCount(a.size(), b.size());
        double sum = 0;
        for (int i = 0; i < a.size(); i++) {
            sum += cosine(a.get(i), b.get(i));
        }
        return new Sample(Measure.COSINE, sum, a.size());
    }

    static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("embeddings of " + a.length + " and " + b.length + " dimensions");
        }
        return Math.max(-1, Math.min(1, dev.atrium.engine.ZeroShot.cosine(a, b)));
    }

    /** Whether each input's best labels agree. */
    public static Sample labelAgreement(ClassificationResult answered, ClassificationResult shadow) {
        List<List<ClassificationResult.LabelScore>> a = answered.labels();
        List<List<ClassificationResult.LabelScore>> b = shadow.labels();
        requireSameCount(a.size(), b.size());
        int agreeing = 0;
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).isEmpty() && !b.get(i).isEmpty()
                    && a.get(i).getFirst().label().equals(b.get(i).getFirst().label())) {
                agreeing++;
            }
        }
        return new Sample(Measure.LABEL_AGREEMENT, agreeing, a.size());
    }

    /** Whether each row's two predictions are the same: the same label, or the same number. */
    public static Sample exactMatch(PredictionResult answered, PredictionResult shadow) {
        List<PredictionResult.Prediction> a = answered.predictions();
        List<PredictionResult.Prediction> b = shadow.predictions();
        requireSameCount(a.size(), b.size());
        int equal = 0;
        for (int i = 0; i < a.size(); i++) {
            boolean same = switch (a.get(i)) {
                case PredictionResult.Value value -> b.get(i) instanceof PredictionResult.Value other
                        && Double.compare(value.value(), other.value()) == 0;
                case PredictionResult.Label label -> b.get(i) instanceof PredictionResult.Label other
                        && label.label().equals(other.label());
            };
            equal += same ? 1 : 0;
        }
        return new Sample(Measure.EXACT_MATCH, equal, a.size());
    }

    private static void requireSameCount(int a, int b) {
        if (a != b) {
            throw new IllegalArgumentException("answers for " + a + " and " + b + " inputs");
        }
    }

    /** An alias's agreement since its shadow was set. */
    private static final class Agreement {
        private final Shadow shadow;
        private long mirrored;
        private long compared;
        private long failed;
        private long dropped;
        private long incomparable;
        private long inputs;
        private double sum;
        private double lowest = Double.NaN;
        private Measure measure;

        Agreement(Shadow shadow) {
            this.shadow = shadow;
        }

        boolean isOf(Shadow other) {
            return shadow.version() == other.version() && shadow.setAt().equals(other.setAt());
        }

        synchronized void mirrored() {
            mirrored++;
        }

        synchronized void dropped() {
            dropped++;
        }

        synchronized void failed() {
            failed++;
        }

        synchronized void incomparable() {
            incomparable++;
        }

        synchronized void compared(Sample sample) {
            compared++;
            measure = sample.measure();
            inputs += sample.inputs();
            sum += sample.sum();
            if (sample.inputs() > 0) {
                double mean = sample.sum() / sample.inputs();
                lowest = Double.isNaN(lowest) ? mean : Math.min(lowest, mean);
            }
        }

        synchronized ObjectNode toJson() {
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            if (measure != null) {
                node.put("measure", measure.wireName());
            }
            node.put("mirrored", mirrored);
            node.put("compared", compared);
            node.put("failed", failed);
            node.put("incomparable", incomparable);
            node.put("dropped", dropped);
            node.put("inputs", inputs);
            if (inputs > 0) {
                node.put("mean", sum / inputs);
                node.put("lowest", lowest);
            } else {
                node.putNull("mean");
                node.putNull("lowest");
            }
            return node;
        }
    }
}
