package dev.atrium.observe;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import dev.atrium.engine.VersionKey;
import dev.atrium.rollout.VersionMonitors;
import dev.atrium.scheduling.Batcher;
import dev.atrium.scheduling.SchedulerMetrics;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;

/**
 * The server's metrics, kept in a Micrometer registry and scraped in Prometheus text format at {@code /metrics}:
 * requests by endpoint and status with latency histograms, model requests and tokens in and out, engine compute
 * time and queue depth, ledger commit latency and batch size, admission refusals, and each monitored version's
 * drift (its PSI, and the times it began to drift).
 */
public final class AtriumMetrics implements SchedulerMetrics, VersionMonitors.Metrics,
        dev.atrium.engine.residency.ResidencyMetrics {
    /** Bounds the caches of per-request meters; meters past it are still recorded, only looked up each time. */
    private static final int CACHED_METERS = 4_096;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Meters recorded on every request, found once per key: building and registering a Micrometer meter merges
    // and sorts its tags each time, a cost on every request. These meters are never removed from the registry.
    private final Cache<RequestKey, Timer> requestTimers = Caffeine.newBuilder().maximumSize(CACHED_METERS).build();
    private final Cache<ServedKey, ServedMeters> servedMeters = Caffeine.newBuilder().maximumSize(CACHED_METERS)
            .build();

    private final Timer ledgerCommits = Timer.builder("atrium.ledger.commit").description("usage ledger group commits")
            .publishPercentileHistogram().register(registry);
    private final DistributionSummary ledgerBatchSizes = DistributionSummary.builder("atrium.ledger.batch.size")
            .description("records per ledger commit").publishPercentileHistogram().register(registry);

    private record RequestKey(String endpoint, int status) {}

    private record ServedKey(String model, int version, String endpoint, String outcome) {}

    private record ServedMeters(Counter requests, Counter tokensIn, Counter tokensOut, Timer compute) {}

    public MeterRegistry registry() {
        return registry;
    }

    /** One HTTP request, by a low-cardinality endpoint name. */
    public void request(String endpoint, int status, long nanos) {
        requestTimers.get(new RequestKey(endpoint, status), key -> Timer.builder("atrium.http.requests")
                .description("HTTP requests by endpoint and status")
                .tag("endpoint", key.endpoint())
                .tag("status", Integer.toString(key.status()))
                .publishPercentileHistogram()
                .serviceLevelObjectives(Duration.ofMillis(5), Duration.ofMillis(50), Duration.ofMillis(500))
                .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * A request that reached a model: its outcome, tokens and engine compute time; requests and compute by the
     * version that served them too (a traffic split's versions side by side).
     */
    public void served(String model, int version, String endpoint, String outcome, long inputTokens,
            long outputTokens, long computeMillis) {
        ServedKey served = new ServedKey(model, version, endpoint, outcome);
        ServedMeters meters = servedMeters.get(served, key -> new ServedMeters(
                Counter.builder("atrium.model.requests").description("requests that reached a model")
                        .tag("model", key.model()).tag("version", Integer.toString(key.version()))
                        .tag("endpoint", key.endpoint()).tag("outcome", key.outcome())
                        .register(registry),
                Counter.builder("atrium.model.tokens").description("tokens read and written by models")
                        .tag("model", key.model()).tag("direction", "in").register(registry),
                Counter.builder("atrium.model.tokens").description("tokens read and written by models")
                        .tag("model", key.model()).tag("direction", "out").register(registry),
                Timer.builder("atrium.engine.compute").description("engine compute time per request")
                        .tag("model", key.model()).tag("version", Integer.toString(key.version()))
                        .publishPercentileHistogram().register(registry)));
        meters.requests().increment();
        meters.tokensIn().increment(inputTokens);
        meters.tokensOut().increment(outputTokens);
        meters.compute().record(computeMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * A charge that came out above what its request had reserved (a price raised while it ran): the excess is
     * charged all the same, and counted here so that it is seen.
     */
    public void overrun(String model, java.math.BigDecimal excess) {
        Counter.builder("atrium.budget.overruns").description("charges that exceeded their reservation")
                .tag("model", model).register(registry).increment();
        Counter.builder("atrium.budget.overrun.amount").description("what charges exceeded their reservations by")
                .tag("model", model).register(registry).increment(excess.doubleValue());
    }

    public void ledgerCommit(long nanos, int batchSize) {
        ledgerCommits.record(nanos, TimeUnit.NANOSECONDS);
        ledgerBatchSizes.record(batchSize);
    }

    /** A request refused by admission: {@code rate_limit} or {@code budget}. */
    public void refused(String reason) {
        Counter.builder("atrium.admission.refusals")
                .description("requests refused before they ran: limits, budgets, a store refusing writes")
                .tag("reason", reason).register(registry).increment();
    }

    /** A connection the server closed on its own: a timeout, a too-large body, or a refusal beyond the limit. */
    /** A request admitted without a rate check because the store could not be reached (rate-limits-fail-open). */
    public void admittedUnchecked() {
        Counter.builder("atrium.admission.unchecked").description("requests admitted without a rate check while the"
                + " store could not be reached (rate-limits-fail-open)").register(registry).increment();
    }

    public void connectionClosed(String reason) {
        Counter.builder("atrium.connections.closed").description("connections the server closed: timeouts, refusals")
                .tag("reason", reason).register(registry).increment();
    }

    public void openConnections(Supplier<Number> open) {
        Gauge.builder("atrium.connections.open", open).description("TCP connections open now").register(registry);
    }

    /** A request refused for a missing or invalid key (the audit log samples them; this counts every one). */
    public void authenticationFailed() {
        Counter.builder("atrium.auth.failures").description("requests refused for a missing or invalid API key")
                .register(registry).increment();
    }

    /** A cold start: how long loading a version took, by engine kind; its count is the number of cold starts. */
    @Override
    public void loaded(String kind, long nanos, long bytes) {
        Timer.builder("atrium.model.load").description("model version loads (cold starts) by engine kind")
                .tag("kind", kind).publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
        DistributionSummary.builder("atrium.model.load.bytes").description("memory a load measured (resident growth)")
                .baseUnit("bytes").tag("kind", kind).register(registry).record(bytes);
    }

    @Override
    public void evicted(String kind, String reason) {
        Counter.builder("atrium.model.evictions").description("loaded versions unloaded by the memory budget or their"
                + " keep-alive").tag("kind", kind).tag("reason", reason).register(registry).increment();
    }

    @Override
    public void residency(java.util.function.LongSupplier loadedBytes, java.util.function.LongSupplier loadedVersions,
            long budgetBytes) {
        Gauge.builder("atrium.model.loaded.bytes", loadedBytes::getAsLong).description("memory the loaded versions"
                + " hold, as their loads measured").baseUnit("bytes").register(registry);
        Gauge.builder("atrium.model.loaded.versions", loadedVersions::getAsLong).description("versions loaded now")
                .register(registry);
        Gauge.builder("atrium.model.memory.budget", () -> budgetBytes).description("the memory budget of loaded"
                + " versions; -1 for none").baseUnit("bytes").register(registry);
    }

    public void queueDepth(String engine, Supplier<Number> depth) {
        Gauge.builder("atrium.engine.queue.depth", depth).description("inference tasks waiting for an engine thread")
                .tag("engine", engine).register(registry);
    }

    /** Exchanges with remote models' upstreams that are open now (a leak shows as a number that never falls). */
    public void upstreamExchanges(Supplier<Number> open) {
        Gauge.builder("atrium.upstream.exchanges.open", open)
                .description("requests to remote models' upstreams in progress, bodies not yet read or closed")
                .register(registry);
    }

    /** A model version's batcher: its queue depth, batch sizes, queue waits and batch execution times. */
    @Override
    public Batcher.Observer register(String model, Supplier<Number> queueDepth) {
        Tags tags = Tags.of("model", model);
        Gauge.builder("atrium.model.queue.depth", queueDepth).description("inputs waiting in a model's queue")
                .tags(tags).register(registry);
        DistributionSummary batchSize = DistributionSummary.builder("atrium.model.batch.size")
                .description("rows per batch a model ran").tags(tags)
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64).register(registry);
        Timer queueWait = Timer.builder("atrium.model.queue.wait").description("time inputs waited in a model's queue")
                .tags(tags).publishPercentileHistogram().register(registry);
        Timer execution = Timer.builder("atrium.model.batch.execution").description("time a model took to run a batch")
                .tags(tags).publishPercentileHistogram().register(registry);
        return new Batcher.Observer() {
            @Override
            public void batch(int rows, long executionNanos) {
                batchSize.record(rows);
                execution.record(executionNanos, TimeUnit.NANOSECONDS);
            }

            @Override
            public void dequeued(long waitedNanos) {
                queueWait.record(waitedNanos, TimeUnit.NANOSECONDS);
            }
        };
    }

    @Override
    public void unregister(String model) {
        for (Meter meter : registry.getMeters()) {
            if (meter.getId().getName().startsWith("atrium.model.") && model.equals(meter.getId().getTag("model"))
                    && (meter.getId().getName().startsWith("atrium.model.queue")
                            || meter.getId().getName().startsWith("atrium.model.batch"))) {
                registry.remove(meter);
            }
        }
    }

    @Override
    public void psi(VersionKey version, java.util.function.DoubleSupplier psi) {
        Gauge.builder("atrium.model.drift.psi", psi::getAsDouble)
                .description("population stability index of a version's recent outputs against its baseline")
                .tag("model", version.modelName()).tag("version", Integer.toString(version.version()))
                .register(registry);
    }

    @Override
    public void drifted(VersionKey version) {
        Counter.builder("atrium.model.drift.events").description("times a version's PSI rose above its threshold")
                .tag("model", version.modelName()).tag("version", Integer.toString(version.version()))
                .register(registry).increment();
    }

    /** The registry in Prometheus text format. */
    public String scrape() {
        return registry.scrape();
    }
}
