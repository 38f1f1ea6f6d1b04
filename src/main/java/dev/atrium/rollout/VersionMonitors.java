package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PredictionResult;
import dev.atrium.engine.VersionKey;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Monitoring per model version: its calls, errors and latency ({@link VersionTraffic}), the units it served, and
 * the distribution of its outputs against its baseline ({@link VersionMonitor}) — a classifier's classes, a
 * regression's predictions, an embedding model's vectors — with their drift as a PSI. A version whose PSI rises
 * above its threshold raises one {@code model.drift} audit event and metric, and another only after it has come
 * back.
 *
 * <p>Design: the serving layer tells it of every answer a model gave ({@link #embedded}, {@link #classified},
 * {@link #predicted}), which updates counts in memory only; the store is read once per version (its settings, its
 * baseline, a trained classifier's validation figures) and written when a baseline completes or an owner changes
 * the settings. The versions' monitors are a bounded cache: one evicted starts its window (and a baseline not yet
 * complete) again. Transcriptions and tensor calls are not monitored. Observing never fails a call: a failure here
 * is logged.
 */
public final class VersionMonitors {
    private static final Logger LOG = LoggerFactory.getLogger(VersionMonitors.class);
    private static final List<Duration> SPANS = List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
            VersionTraffic.RETENTION);

    /** Where each version's PSI and drift events go: the metrics. */
    public interface Metrics {
        Metrics NONE = new Metrics() {
            @Override
            public void psi(VersionKey version, DoubleSupplier psi) {}

            @Override
            public void drifted(VersionKey version) {}
        };

        /** A version being monitored, whose PSI (NaN while there is none) is read from {@code psi}. */
        void psi(VersionKey version, DoubleSupplier psi);

        /** The version began to drift. */
        void drifted(VersionKey version);
    }

    private final MonitorStore store;
    private final ModelRegistry registry;
    private final VersionTraffic traffic;
    private final AuditLog audit;
    private final Metrics metrics;
    private final Clock clock;
    private final MonitorSettings defaults;
    private final Cache<VersionKey, VersionMonitor> monitors = Caffeine.newBuilder().maximumSize(10_000).build();

    public VersionMonitors(Jdbi jdbi, ModelRegistry registry, VersionTraffic traffic, AuditLog audit, Metrics metrics,
            Clock clock) {
        this.store = new MonitorStore(jdbi);
        this.registry = requireNonNull(registry, "registry is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.defaults = MonitorSettings.DEFAULTS;
    }

    // ---- observing ----------------------------------------------------------------------------------------------

    /** An embedding model's vectors (a zero-shot classification's inputs' too). */
    public void embedded(ResolvedModel resolved, List<float[]> vectors, Usage used) {
        observe(resolved, vectors.size(), used, monitor -> monitor.embedded(vectors));
    }

    public void classified(ResolvedModel resolved, ClassificationResult result, Usage used) {
        observe(resolved, result.labels().size(), used, monitor -> monitor.classified(result));
    }

    public void predicted(ResolvedModel resolved, PredictionResult result, Usage used) {
        observe(resolved, result.predictions().size(), used, monitor -> monitor.predicted(result));
    }

    private void observe(ResolvedModel resolved, int outputs, Usage used,
            java.util.function.Function<VersionMonitor, VersionMonitor.Changes> observation) {
        try {
            VersionMonitor monitor = monitor(resolved);
            monitor.served(outputs, used.inputTokens(), used.images(), used.rows());
            VersionMonitor.Changes changes = observation.apply(monitor);
            if (changes == VersionMonitor.Changes.NONE) {
                return;
            }
            VersionKey key = resolved.deployment().key();
            if (changes.completed() != null) {
                store.saveBaseline(key.modelId(), key.version(), changes.completed(), clock.instant());
                LOG.info("model {}: a baseline of {} outputs is complete", key, changes.completed().size());
            }
            if (changes.drifted()) {
                drifted(resolved, monitor, changes.psi());
            }
        } catch (RuntimeException e) {
            LOG.warn("monitoring model {}: {}", resolved.deployment().key(), e.toString());
        }
    }

    private void drifted(ResolvedModel resolved, VersionMonitor monitor, double psi) {
        VersionKey key = resolved.deployment().key();
        MonitorSettings settings = monitor.settings();
        String target = String.format(Locale.ROOT, "%s psi %.4f above %.4f over its last %d outputs", key, psi,
                settings.threshold(), settings.windowSize());
        String owner = resolved.model().owner();
        audit.record(new AuditEvent(0, clock.instant(), null, "monitor", owner.isEmpty() ? null : owner,
                "model.drift", target, null, "ok", 200));
        metrics.drifted(key);
        LOG.warn("model {} drifts: {}", key, target);
    }

    /** The version's monitor, made on its first use from what the store and the version's training keep. */
    private VersionMonitor monitor(ResolvedModel resolved) {
        VersionKey key = resolved.deployment().key();
        VersionMonitor found = monitors.getIfPresent(key);
        if (found != null) {
            return found;
        }
        return monitors.get(key, ignored -> {
            VersionMonitor made = create(resolved);
            metrics.psi(key, () -> {
                VersionMonitor current = monitors.getIfPresent(key);
                return current == null ? Double.NaN : current.psi();
            });
            return made;
        });
    }

    private VersionMonitor create(ResolvedModel resolved) {
        VersionKey key = resolved.deployment().key();
        Optional<MonitorStore.Row> row = store.find(key.modelId(), key.version());
        MonitorSettings settings = row.map(MonitorStore.Row::settings).orElse(null);
        VersionMonitor.Baseline baseline = row.map(MonitorStore.Row::baseline).orElse(null);
        boolean fromRequests = row.map(MonitorStore.Row::fromRequests).orElse(false);
        ModelTask task = resolved.model().task();
        List<String> labels = resolved.version().metadata().labels();
        if (baseline == null && !fromRequests && (task == ModelTask.TEXT_CLASSIFICATION
                || task == ModelTask.IMAGE_CLASSIFICATION || task == ModelTask.TABULAR)) {
            baseline = registry.lineage(resolved.version()).flatMap(lineage -> validationBaseline(lineage, labels,
                    resolved.version().createdAt())).orElse(null);
        }
        VersionMonitor.Measure measure = switch (task) {
            case TEXT_CLASSIFICATION, IMAGE_CLASSIFICATION -> labels.isEmpty() ? null : VersionMonitor.Measure.CLASS;
            case EMBEDDING -> VersionMonitor.Measure.COSINE_TO_CENTROID;
            case TABULAR, TENSOR, CHAT, COMPLETION, TRANSCRIPTION -> null; // a tabular model's shows in its answers
        };
        return new VersionMonitor(measure, labels, settings == null ? defaults : settings, baseline, clock);
    }

    /**
     * A trained classifier's baseline: the classes it predicted for its validation rows (the columns of its
     * evaluation's confusion matrix), when its labels are the model's.
     */
    static Optional<VersionMonitor.Baseline> validationBaseline(JsonNode lineage, List<String> modelLabels,
            java.time.Instant trainedAt) {
        JsonNode confusion = lineage.path("metrics").path("confusion_matrix");
        if (!confusion.path("labels").isArray() || !confusion.path("counts").isArray()) {
            return Optional.empty();
        }
        List<String> labels = new ArrayList<>();
        confusion.path("labels").forEach(label -> labels.add(label.asString()));
        if (labels.isEmpty() || (!modelLabels.isEmpty() && !modelLabels.equals(labels))) {
            return Optional.empty();
        }
        long[] predicted = new long[labels.size()];
        for (JsonNode row : confusion.path("counts")) {
            if (row.size() != labels.size()) {
                return Optional.empty();
            }
            for (int c = 0; c < labels.size(); c++) {
                predicted[c] += row.get(c).asLong();
            }
        }
        if (java.util.Arrays.stream(predicted).sum() == 0) {
            return Optional.empty();
        }
        OutputDistribution.Classes classes = new OutputDistribution.Classes(labels);
        OutputDistribution.Classes bins = OutputDistribution.Classes.grouped(classes, predicted,
                VersionMonitor.MAX_CLASS_BINS);
        List<Long> counts = java.util.Arrays.stream(bins.regroup(classes, predicted)).boxed().toList();
        return Optional.of(new VersionMonitor.Baseline(VersionMonitor.Measure.CLASS,
                VersionMonitor.Source.VALIDATION, bins, counts, null, List.of(), trainedAt));
    }

    // ---- the API ------------------------------------------------------------------------------------------------

    /**
     * A version's monitoring as the scope sees it. A public model's shows every tenant's traffic and outputs, so
     * only the platform sees it.
     *
     * @throws AtriumException 404 for a model or version the scope does not see, 403 for a public model's
     */
    public ObjectNode view(ModelScope scope, String name, int version) {
        ResolvedModel resolved = registry.readableVersion(scope, name, version);
        if (resolved.model().isPublic() && scope.tenantId() != null) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "model '" + name + "' is public: its monitoring"
                    + " shows every tenant's traffic, and only the platform admin sees it");
        }
        return view(resolved);
    }

    /**
     * Changes a version's monitoring: its threshold, baseline size or window size, or drops its baseline
     * ({@code reset_baseline}) for the next outputs to make a new one.
     *
     * @throws AtriumException 404 for a model or version the scope cannot manage, 400 for a bad field
     */
    public ObjectNode configure(ModelScope scope, String name, int version, JsonNode body) {
        ResolvedModel resolved = registry.manageableVersion(scope, name, version);
        VersionKey key = resolved.deployment().key();
        VersionMonitor monitor = monitor(resolved);
        MonitorSettings updated = monitor.settings().with(body);
        store.saveSettings(key.modelId(), key.version(), updated, clock.instant());
        monitor.settings(updated);
        if (body.path("reset_baseline").asBoolean(false)) {
            store.resetBaseline(key.modelId(), key.version(), clock.instant());
            monitor.resetBaseline();
            LOG.info("model {}: baseline reset; the next {} outputs are the new one", key, updated.baselineSize());
        }
        return view(resolved);
    }

    private ObjectNode view(ResolvedModel resolved) {
        VersionKey key = resolved.deployment().key();
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("object", "model.version.monitoring");
        node.put("model", resolved.model().name());
        node.put("version", key.version());
        node.put("task", resolved.model().task().wireName());
        ArrayNode windows = node.putArray("traffic");
        for (Duration span : SPANS) {
            windows.add(window(key, span));
        }
        VersionTraffic.Window widest = traffic.window(key, VersionTraffic.RETENTION);
        ArrayNode histogram = node.putArray("latency_histogram");
        for (VersionTraffic.LatencyBin bin : widest.latencies()) {
            ObjectNode entry = histogram.addObject();
            entry.put("le_ms", bin.upTo().toNanos() / 1e6);
            entry.put("calls", bin.calls());
        }
        VersionMonitor monitor = monitor(resolved);
        node.set("units", monitor.units());
        ModelTask task = resolved.model().task();
        boolean monitored = switch (task) {
            case TEXT_CLASSIFICATION, IMAGE_CLASSIFICATION, EMBEDDING, TABULAR -> true;
            case TENSOR, CHAT, COMPLETION, TRANSCRIPTION -> false;
        };
        node.put("outputs_monitored", monitored);
        if (monitored) {
            node.set("drift", monitor.drift());
        }
        return node;
    }

    private ObjectNode window(VersionKey key, Duration span) {
        VersionTraffic.Window window = traffic.window(key, span);
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("window", span.toMinutes() + "m"); // whole minutes, each
        node.put("calls", window.calls());
        node.put("errors", window.errors());
        node.put("error_rate", window.errorRate());
        double minutes = span.toSeconds() / 60.0;
        node.put("calls_per_minute", window.calls() / minutes);
        node.put("errors_per_minute", window.errors() / minutes);
        window.p50().ifPresent(p50 -> node.put("p50_ms", p50.toNanos() / 1e6));
        window.p90().ifPresent(p90 -> node.put("p90_ms", p90.toNanos() / 1e6));
        window.p99().ifPresent(p99 -> node.put("p99_ms", p99.toNanos() / 1e6));
        return node;
    }
}
