package dev.atrium;

import dev.atrium.admin.AdminAuditService;
import dev.atrium.admin.AdminMeteringService;
import dev.atrium.admin.AdminModelsService;
import dev.atrium.admin.AdminTenancyService;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditRetention;
import dev.atrium.cli.AtriumCommand;
import dev.atrium.config.ServerConfig;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.llama.LlamaEngine;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.onnx.OnnxEngine;
import dev.atrium.engine.remote.RemoteEngine;
import dev.atrium.registry.UpstreamHosts;
import dev.atrium.store.GroupCommitWriter;
import dev.atrium.store.SecretCipher;
import dev.atrium.admin.AdminUpstreamsService;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.GatewayFilter;
import dev.atrium.metering.Budgets;
import dev.atrium.metering.Metering;
import dev.atrium.metering.PriceBook;
import dev.atrium.metering.UsageLedger;
import dev.atrium.gateway.LocalRateLimiter;
import dev.atrium.gateway.RateLimiter;
import dev.atrium.gateway.StoreRateLimiter;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.observe.MetricsService;
import dev.atrium.openai.OpenAiGenerationService;
import dev.atrium.openai.OpenAiService;
import dev.atrium.openai.OpenAiFilesService;
import dev.atrium.openai.OpenAiFineTuningService;
import dev.atrium.openai.OpenAiTaskService;
import dev.atrium.training.EncryptedFileStore;
import dev.atrium.training.FineTuningJobs;
import dev.atrium.training.RegistryEmbedder;
import dev.atrium.training.RegistryPublisher;
import dev.atrium.training.TextClassificationTrainer;
import dev.atrium.training.TrainingFiles;
import dev.atrium.training.TrainingMethod;
import dev.atrium.registry.ArtifactStore;
import dev.atrium.store.ObjectStore;
import dev.atrium.store.S3ObjectStore;
import dev.atrium.registry.BundledModel;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.serving.Serving;
import dev.atrium.server.AtriumServer;
import dev.atrium.server.ConnectionGuard;
import dev.atrium.server.Lifecycle;
import dev.atrium.server.RouteTable;
import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.PrivateFiles;
import dev.atrium.tenancy.AdminKeyBootstrap;
import dev.atrium.tenancy.Tenancy;
import dev.atrium.v2.V2Service;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The Atrium server and its composition root: {@link #start} wires the store, the registry, the engines and the
 * HTTP services with plain constructors; {@link #close} drains and stops them in reverse order.
 */
public final class Atrium implements AutoCloseable {
    public static final String VERSION = "0.1.0";
    /** The llama.cpp release GGUF models run on (see {@code scripts/llama-natives.sh}). */
    public static final String LLAMA_CPP_VERSION = "v0.5.0";

    /** The runtimes a version needs, with the versions this server runs it on: what its bundle's manifest names. */
    static Map<String, String> runtimes(dev.atrium.registry.ResolvedModel resolved) {
        Map<String, String> runtimes = new LinkedHashMap<>();
        runtimes.put("atrium", VERSION);
        switch (resolved.model().engine()) {
            case ONNX -> runtimes.put("onnxruntime", ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion());
            case LLAMA -> runtimes.put("llama.cpp", LLAMA_CPP_VERSION);
            case REMOTE -> { }
        }
        return runtimes;
    }
    /** The exit status when the listener has failed for good. */
    public static final int EXIT_LISTENER_FAILED = 75;
    private static final Logger LOG = LoggerFactory.getLogger(Atrium.class);

    private final ServerConfig config;
    private final Database database;
    private final AuditLog audit;
    private final UsageLedger ledger;
    private final GroupCommitWriter writer;
    private final OnnxEngine onnx;
    private final LlamaEngine llama;
    private final RemoteEngine remote;
    private final ModelRegistry registry;
    private final Lifecycle lifecycle;
    private final ConnectionGuard guard;
    private final GatewayFilter gateway;
    private final AuditRetention retention;
    private final WebServer server;
    private final RouteTable routes;
    private final TrainingFiles trainingFiles;
    private final FineTuningJobs jobs;
    private final dev.atrium.rollout.Rollouts rollouts;
    private final dev.atrium.engine.residency.Residency residency;
    private final ObjectStore objects;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private Atrium(ServerConfig config, Database database, AuditLog audit, UsageLedger ledger,
            GroupCommitWriter writer, OnnxEngine onnx,
            LlamaEngine llama, RemoteEngine remote, ModelRegistry registry, Lifecycle lifecycle, ConnectionGuard guard,
            GatewayFilter gateway, AuditRetention retention, WebServer server, RouteTable routes,
            TrainingFiles trainingFiles, FineTuningJobs jobs, dev.atrium.rollout.Rollouts rollouts,
            dev.atrium.engine.residency.Residency residency, ObjectStore objects) {
        this.residency = residency;
        this.objects = objects;
        this.trainingFiles = trainingFiles;
        this.rollouts = rollouts;
        this.jobs = jobs;
        this.config = config;
        this.database = database;
        this.audit = audit;
        this.ledger = ledger;
        this.writer = writer;
        this.onnx = onnx;
        this.llama = llama;
        this.remote = remote;
        this.registry = registry;
        this.lifecycle = lifecycle;
        this.guard = guard;
        this.gateway = gateway;
        this.retention = retention;
        this.server = server;
        this.routes = routes;
    }

    public static void main(String[] args) {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(AtriumCommand.commandLine().execute(args));
    }

    /** Opens the data directory, registers the bundled model on first use, and starts serving. */
    public static Atrium start(ServerConfig config) {
        return start(config, Atrium::exitOnListenerFailure);
    }

    /**
     * @param listenerFailure run when the listener stops without a shutdown (accepting connections failed for
     *     good): by default the process exits with {@link #EXIT_LISTENER_FAILED} so that a supervisor restarts it
     */
    public static Atrium start(ServerConfig config, Runnable listenerFailure) {
        return start(config, listenerFailure, BundledModel::registerOnFirstStart);
    }

    /**
     * @param seed puts the models the server starts with into its registry, before it listens: the bundled model,
     *     or (at the edge) the one version of a bundle
     */
    public static Atrium start(ServerConfig config, Runnable listenerFailure,
            java.util.function.Consumer<ModelRegistry> seed) {
        try {
            PrivateFiles.createDirectories(config.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + config.dataDir(), e);
        }
        Database database = Database.open(config.store(), config.dataDir(), config.storePassword());
        Clock clock = Clock.systemUTC();
        AtriumMetrics metrics = new AtriumMetrics();
        // one writer for the ledger and the audit log: their rows share commits
        GroupCommitWriter writer = new GroupCommitWriter(database.jdbi(), 100_000, metrics::ledgerCommit);
        AuditLog audit = new AuditLog(database.jdbi(), writer);
        UsageLedger ledger = new UsageLedger(database.jdbi(), writer);
        OnnxEngine onnx = null;
        RemoteEngine remote = null;
        ConnectionGuard guard = null;
        GatewayFilter gateway = null;
        AuditRetention retention = null;
        FineTuningJobs jobs = null;
        dev.atrium.rollout.Rollouts rollouts = null;
        ObjectStore objects = null;
        // one memory budget over the loaded versions of every engine
        dev.atrium.engine.residency.Residency residency = dev.atrium.engine.residency.Residency.create(
                new dev.atrium.engine.residency.Residency.Settings(config.memoryBudgetBytes(),
                        java.util.Optional.ofNullable(config.keepAlive()), config.callDeadline(),
                        Duration.ofSeconds(1)), metrics);
        try {
            Tenancy tenancy = new Tenancy(database.jdbi(), clock, database.changes());
            AdminKeyBootstrap.run(tenancy, audit, clock, config);
            onnx = OnnxEngine.create(new OnnxEngine.Settings(config.engineThreads(), config.intraOpThreads(),
                    config.cudaDevice(), config.queueCapacity(), OnnxEngine.DEFAULT_BATCHING,
                    new OutputLimit(config.maxOutputBytes()), config.maxAudioDuration()), metrics, residency);
            // with an S3 bucket, artifacts and tenant files are shared by the replicas; the data directory caches
            objects = openObjectStore(config);
            ArtifactStore artifacts = ArtifactStore.open(config.dataDir(), objects, clock);
            LlamaEngine llama = new LlamaEngine(new LlamaEngine.Settings(
                    Math.max(1, Runtime.getRuntime().availableProcessors()), 4, java.time.Duration.ofSeconds(20),
                    config.llamaNatives() == null ? dev.atrium.engine.llama.LlamaNatives.defaults()
                            : dev.atrium.engine.llama.LlamaNatives.at(config.llamaNatives())), residency);
            UpstreamHosts upstreams = new UpstreamHosts(database.jdbi(), clock, database.changes());
            remote = new RemoteEngine(upstreams::allows, "atrium/" + VERSION);
            SecretCipher secrets = SecretCipher.open(config.secretsKey(), config.secretsKeyFile());
            ModelRegistry registry = new ModelRegistry(database.jdbi(), artifacts,
                    Map.of(EngineKind.ONNX, onnx, EngineKind.LLAMA, llama, EngineKind.REMOTE, remote),
                    secrets, upstreams, clock, database.changes());
            registry.sweepArtifacts();
            registry.residencies().forEach(residency::policy);
            database.changes().subscribe(dev.atrium.store.ChangeFeed.Topic.MODELS,
                    () -> residency.policies(registry.residencies()));
            residency.startSweeping();
            // replicas starting together over one store: one registers the bundled model, the others then see it
            database.exclusively("first-start", () -> seed.accept(registry));
            for (String reference : config.preload()) {
                preload(registry, reference);
            }

            // on PostgreSQL a request's place at once and its budget hold outlast it by two deadlines at most
            Duration held = config.callDeadline().multipliedBy(2).plusMinutes(1);
            Metering metering = new Metering(new PriceBook(database.jdbi(), clock, database.changes()), ledger,
                    new Budgets(database, ledger, clock, held), audit, metrics, clock);
            OnnxEngine engine = onnx;
            metrics.queueDepth("onnx", engine::queueDepth);
            metrics.queueDepth("llama", llama::queueDepth);
            metrics.upstreamExchanges(remote::openExchanges);
            Lifecycle lifecycle = new Lifecycle();
            RateLimiter.Defaults limits = new RateLimiter.Defaults(config.defaultRpm(), config.defaultTpm(),
                    config.defaultMaxConcurrent(), config.rateLimitWindow());
            // on PostgreSQL the counters are shared by replicas
            RateLimiter limiter = database.dialect() == Dialect.POSTGRESQL
                    ? new StoreRateLimiter(database.jdbi(), limits, held, config.rateLimitsFailOpen(),
                            metrics::admittedUnchecked)
                    : new LocalRateLimiter(limits);
            Map<String, List<HttpService>> services = new LinkedHashMap<>();
            services.put("/", List.of(new MetricsService(metrics, () -> config.metricsOpen()
                    || (Caller.CURRENT.isBound() && Caller.current().isAdmin()))));
            dev.atrium.rollout.VersionTraffic traffic = new dev.atrium.rollout.VersionTraffic(clock);
            // each version's outputs against its baseline, drift raised as an audit event and a metric
            dev.atrium.rollout.VersionMonitors monitors = new dev.atrium.rollout.VersionMonitors(database.jdbi(),
                    registry, traffic, audit, metrics, clock);
            dev.atrium.rollout.Shadows shadows = new dev.atrium.rollout.Shadows(database.jdbi(), registry, clock);
            Serving serving = new Serving(registry, metering, config.callDeadline(), traffic, monitors, shadows);
            // tenants' training files, encrypted under their own data keys (wrapped by a key derived from the secrets
            // key), and the jobs that train on them
            dev.atrium.store.TenantKeys tenantKeys = new dev.atrium.store.TenantKeys(database.jdbi(),
                    secrets.deriveKey("tenant-data-keys"), clock, 10_000, Duration.ofMinutes(10))
                    .withChanges(database.changes());
            TrainingFiles trainingFiles = new TrainingFiles(database.jdbi(), new EncryptedFileStore(
                    new dev.atrium.store.EncryptedFiles(config.dataDir().resolve("tenant-files"), tenantKeys,
                            objects)), clock,
                    Math.min(config.maxUploadBytes(), TrainingFiles.MAX_FILE_BYTES));
            dev.atrium.training.VersionScorer scorer = new dev.atrium.training.VersionScorer(serving, trainingFiles);
            // the caller a key acts as in work done for it later (a job's run after a restart, its promotion)
            java.util.function.Function<String, java.util.Optional<Caller>> callers = keyId -> tenancy.activeKey(keyId)
                    .map(key -> new Caller(key, tenancy.tenantOf(key)));
            jobs = new FineTuningJobs(database.jdbi(), trainingFiles, Map.of(
                    TrainingMethod.TEXT_CLASSIFICATION, new TextClassificationTrainer(new RegistryEmbedder(registry),
                            trainingFiles),
                    TrainingMethod.TABULAR_REGRESSION, new dev.atrium.training.tabular.TabularTrainer(
                            dev.atrium.engine.onnx.tabular.FeatureSchema.Task.REGRESSION, clock),
                    TrainingMethod.TABULAR_CLASSIFICATION, new dev.atrium.training.tabular.TabularTrainer(
                            dev.atrium.engine.onnx.tabular.FeatureSchema.Task.CLASSIFICATION, clock),
                    TrainingMethod.IMAGE_CLASSIFICATION, new dev.atrium.training.ImageClassificationTrainer()),
                    new RegistryPublisher(registry, trainingFiles), new dev.atrium.training.AliasPromoter(registry,
                            scorer, callers), clock, serving, callers, Duration.ofHours(1),
                    new FineTuningJobs.Limits(config.trainingConcurrency(), 16, 1));
            // canaries: the key that started one scores its versions when its plan has an evaluation
            rollouts = new dev.atrium.rollout.Rollouts(database.jdbi(), registry, traffic, audit,
                    (keyId, reference, evaluation) -> {
                        Caller starter = callers.apply(keyId).orElseThrow(() -> new dev.atrium.AtriumException(
                                dev.atrium.ErrorCode.PERMISSION_DENIED, "the key that started the rollout is revoked"
                                + " or expired"));
                        tools.jackson.databind.JsonNode value = scorer.score(starter, reference, evaluation.file(),
                                evaluation.target()).metrics().get(evaluation.metric());
                        if (value == null || !value.isNumber()) {
                            throw dev.atrium.AtriumException.invalidParam("evaluation", "the evaluation file gives no "
                                    + evaluation.metric() + " for " + reference);
                        }
                        return value.doubleValue();
                    }, clock, Duration.ofSeconds(1));
            services.put("/v1", List.of(new OpenAiService(registry, metering, serving, config.maxRequestBytes(),
                            config.truncateInputs()),
                    new OpenAiGenerationService(serving, config.maxRequestBytes()),
                    new OpenAiTaskService(serving, config.maxRequestBytes(), config.maxAudioBytes()),
                    new OpenAiFilesService(trainingFiles),
                    new OpenAiFineTuningService(jobs, serving, config.maxRequestBytes()),
                    new dev.atrium.openai.OpenAiEvaluationService(scorer, config.maxRequestBytes())));
            // not ready while the shared store is out of reach, or the store refuses writes (a full disk): a balancer
            // then sends the calls elsewhere, which this server would refuse
            services.put("/v2", List.of(new V2Service(registry, serving, lifecycle, config.maxRequestBytes(), VERSION,
                    () -> database.changes().reachable() && writer.takesWrites())));
            // the publisher keys uploads may be signed by (supply chain)
            dev.atrium.registry.PublisherKeys publishers = new dev.atrium.registry.PublisherKeys(database.jdbi(),
                    clock);
            services.put("/admin", List.of(
                    new AdminModelsService(registry, rollouts, config.maxRequestBytes(), config.maxUploadBytes(),
                            new dev.atrium.admin.UploadSigning(publishers, config.requireSignedUploads(),
                                    tenancy::requiresSignedUploads)),
                    new dev.atrium.admin.AdminPublishersService(publishers, config.maxRequestBytes()),
                    new dev.atrium.admin.AdminQuantizeService(registry, serving, rollouts, config.maxRequestBytes(),
                            config.maxUploadBytes()),
                    new dev.atrium.admin.AdminRolloutsService(rollouts, shadows, config.maxRequestBytes()),
                    new dev.atrium.admin.AdminBundleService(registry, dev.atrium.registry.SigningKey.whenNeeded(
                            database, config.dataDir(), secrets), Atrium::runtimes, clock),
                    new dev.atrium.admin.AdminMonitoringService(monitors, config.maxRequestBytes()),
                    new dev.atrium.admin.AdminResidencyService(registry, residency, config.maxRequestBytes()),
                    new AdminUpstreamsService(registry.upstreams(), config.maxRequestBytes()),
                    new AdminTenancyService(tenancy, metering.budgets(), registry, config.maxRequestBytes(),
                            trainingFiles::deleteTenant),
                    new AdminMeteringService(metering, tenancy, config.maxRequestBytes()),
                    new AdminAuditService(audit, tenancy)));
            ConnectionGuard.Settings connections = new ConnectionGuard.Settings(config.headerTimeout(),
                    config.bodyTimeout(), config.idleTimeout(), config.maxConnections());
            guard = new ConnectionGuard(connections, config.usesTls(),
                    closure -> metrics.connectionClosed(closure.name().toLowerCase(Locale.ROOT)), listenerFailure);
            metrics.openConnections(guard::openConnections);
            // the web console: files and sign-in at /console, sessions in the store (shared by replicas)
            dev.atrium.console.ConsoleSessions sessions = new dev.atrium.console.ConsoleSessions(database.jdbi(),
                    clock);
            gateway = new GatewayFilter(tenancy, sessions, limiter, audit, metrics, config.metricsOpen(), clock);
            services.put("/console", List.of(new dev.atrium.console.ConsoleService(tenancy, sessions, audit, clock,
                    config.usesTls(), gateway)));
            retention = new AuditRetention(audit, config.auditRetention(), clock, Duration.ofHours(1));
            Set<RouteTable.Route> registered = ConcurrentHashMap.newKeySet();
            WebServer server = AtriumServer.start(config.bindAddress(), config.port(),
                    AtriumServer.routing(guard.filter(), lifecycle, gateway, services, registered::add),
                    config.drainTimeout(), guard,
                    config.usesTls() ? new AtriumServer.TlsFiles(config.tlsCertificate(), config.tlsKey()) : null);
            guard.watchListener(new InetSocketAddress(config.bindAddress(), server.port()));
            lifecycle.markReady();
            LOG.info("Atrium {} serving on {}://{}:{} (data in {}, {} engine threads x {} intra-op threads)",
                    VERSION, config.usesTls() ? "https" : "http", config.bindAddress(), server.port(), config.dataDir().toAbsolutePath(),
                    config.engineThreads(), config.intraOpThreads());
            return new Atrium(config, database, audit, ledger, writer, onnx, llama, remote, registry, lifecycle, guard,
                    gateway, retention, server, RouteTable.of(registered), trainingFiles, jobs, rollouts,
                    residency, objects);
        } catch (RuntimeException e) {
            if (rollouts != null) {
                rollouts.close();
            }
            if (jobs != null) {
                jobs.close();
            }
            if (guard != null) {
                guard.close();
            }
            if (gateway != null) {
                gateway.close();
            }
            if (retention != null) {
                retention.close();
            }
            if (onnx != null) {
                onnx.close();
            }
            if (remote != null) {
                remote.close();
            }
            residency.close();
            if (objects != null) {
                objects.close();
            }
            ledger.close();
            audit.close();
            writer.close();
            database.close();
            throw e;
        }
    }

    /**
     * Exits on another thread (the listener's own thread is the caller, and the shutdown hook's drain waits for
     * it), and halts if the shutdown hook has not finished in time.
     */
    public static void exitOnListenerFailure() {
        LOG.error("exiting with status {} so that a supervisor can restart the server", EXIT_LISTENER_FAILED);
        Thread.ofPlatform().name("atrium-exit").start(() -> System.exit(EXIT_LISTENER_FAILED));
        Thread.ofPlatform().name("atrium-halt").daemon(true).start(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(EXIT_LISTENER_FAILED);
        });
    }

    private static void preload(ModelRegistry registry, String reference) {
        try {
            ResolvedModel resolved = registry.resolve(ModelScope.PLATFORM, reference);
            registry.engine(resolved.model()).load(resolved.deployment());
        } catch (AtriumException e) {
            LOG.warn("cannot preload {}: {}", reference, e.getMessage());
        }
    }

    public int port() {
        return server.port();
    }

    /**
     * The shared artifact store, checked to answer before the server starts, or null for none. On PostgreSQL with
     * none, each replica keeps its own files: a model uploaded to one is not served by the others.
     */
    private static ObjectStore openObjectStore(ServerConfig config) {
        if (config.artifactStore() == null) {
            if (config.store().dialect() == Dialect.POSTGRESQL) {
                LOG.warn("artifact-store is local: replicas sharing {} will not share model files or tenant"
                        + " files; set it to an S3 bucket (s3://BUCKET/PREFIX)", config.store().display());
            }
            return null;
        }
        ObjectStore store = S3ObjectStore.open(config.artifactStore());
        try {
            store.checkReachable();
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        LOG.info("artifacts and tenant files in {}", store.location());
        return store;
    }

    /** Every route the services registered, as method and full path pattern. */
    public RouteTable routes() {
        return routes;
    }

    /** Tenants' training files (for tests that look behind the API). */
    public TrainingFiles trainingFiles() {
        return trainingFiles;
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** What is loaded within the memory budget (for tests that look behind the API). */
    public dev.atrium.engine.residency.Residency residency() {
        return residency;
    }

    /** Inputs waiting in the queues of the loaded ONNX models. */
    public int onnxQueueDepth() {
        return onnx.queueDepth();
    }

    /** The engine of remote models, whose open exchanges and reader threads tests watch for leaks. */
    public RemoteEngine remoteEngine() {
        return remote;
    }

    public ServerConfig config() {
        return config;
    }

    /** TCP connections open now, as the connection guard counts them. */
    public int openConnections() {
        return guard.openConnections();
    }

    /** Requests being served now. */
    public int requestsInFlight() {
        return lifecycle.inFlight();
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /**
     * Drains: readiness turns false and new requests get 503, requests in flight may finish within the drain
     * timeout; then the listener stops and the engines and the store close.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LOG.info("draining {} requests in flight", lifecycle.inFlight());
        if (!lifecycle.drain(config.drainTimeout())) {
            LOG.warn("{} requests still running after {}; stopping anyway", lifecycle.inFlight(), config.drainTimeout());
        }
        // first, so that the listener's stop is taken for the shutdown it is, not a failure
        guard.close();
        server.stop();
        gateway.close();
        retention.close();
        rollouts.close();
        jobs.close();
        onnx.close();
        llama.close();
        remote.close();
        residency.close();
        if (objects != null) {
            objects.close();
        }
        ledger.close();
        audit.close();
        writer.close();
        database.close();
        LOG.info("Atrium stopped");
        stopped.countDown();
    }
}
