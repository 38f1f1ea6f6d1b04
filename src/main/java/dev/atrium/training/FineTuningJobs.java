package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.EpochMicros;
import java.io.InputStream;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Fine-tuning jobs (OpenAI's {@code /v1/fine_tuning/jobs}): kept in the store, run one at a time, oldest first, by
 * one platform thread — files checked ({@code validating_files}), then {@code queued}, {@code running}, and
 * {@code succeeded} with the new model version, {@code failed} with why, or {@code cancelled} (between steps).
 * Every step is an event. A job the server stopped under (a crash, a restart) is queued again when it starts and
 * runs from the beginning: its seed makes the result the same.
 *
 * <p>A tenant sees only its own jobs: another tenant's id is not found.
 */
public final class FineTuningJobs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FineTuningJobs.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /** Makes a trained model a new version of the job's target model; answers its reference, {@code name:version}. */
    public interface Publisher {
        String publish(FineTuningJob job, Trainer.Trained trained);
    }

    /** Decides a succeeded job's {@code promote}: moves the alias or not, and answers why. */
    public interface Promoter {
        /**
         * @param version the job's new version of its target model
         * @return the decision: {@code promoted}, {@code reason}, and the values compared
         */
        ObjectNode promote(FineTuningJob job, int version);
    }

    /** What a client asks for when it creates a job. */
    public record Request(TrainingMethod method, String baseModel, String targetModel, String trainingFile,
            String validationFile, ObjectNode hyperparameters, long seed, Promotion promote) {
        public Request {
            requireNonNull(method, "method is null");
            requireNonNull(baseModel, "baseModel is null");
            requireNonNull(targetModel, "targetModel is null");
            requireNonNull(trainingFile, "trainingFile is null");
            requireNonNull(hyperparameters, "hyperparameters is null");
        }

        public Request(TrainingMethod method, String baseModel, String targetModel, String trainingFile,
                String validationFile, ObjectNode hyperparameters, long seed) {
            this(method, baseModel, targetModel, trainingFile, validationFile, hyperparameters, seed, null);
        }
    }

    /**
     * Moves an alias of the target model to a job's result when the result is better on a metric than the version
     * the alias points at now, both scored on the same validation rows (or when the alias points nowhere yet).
     */
    public record Promotion(String alias, String ifBetterOn) {
        public Promotion {
            requireNonNull(alias, "alias is null");
            requireNonNull(ifBetterOn, "ifBetterOn is null");
        }
    }

    private final Jdbi jdbi;
    private final TrainingFiles files;
    private final Map<TrainingMethod, Trainer> trainers;
    private final Publisher publisher;
    private final Promoter promoter;
    private final Clock clock;
    private final dev.atrium.serving.Serving serving;
    private final java.util.function.Function<String, Optional<dev.atrium.gateway.Caller>> callers;
    private final java.time.Duration maxJobTime;
    /** The metering of jobs not yet ended, from their reservation to their record. */
    private final Map<String, dev.atrium.serving.Serving.JobCall> meters = new ConcurrentHashMap<>();
    private final Set<String> cancelling = ConcurrentHashMap.newKeySet();
    private final Semaphore work = new Semaphore(0);
    private final List<Thread> workers;
    private final int maxActivePerTenant;
    private final int maxRunningPerTenant;
    /** The jobs a worker has taken, by id, with their tenants (the platform's as the empty string). */
    private final Map<String, String> claimed = new java.util.HashMap<>();
    private volatile boolean closed;
    /** This replica, as the jobs it runs name it. */
    private final String runner = "runner-" + java.util.UUID.randomUUID();
    /** Whether other replicas share the store (PostgreSQL): runners are then seen, and jobs handed on. */
    private final boolean shared;
    private final java.util.concurrent.ScheduledExecutorService heartbeat;
    /** A job whose runner has not been seen this long is queued again: its replica died. */
    static final java.time.Duration RUNNER_LOST = java.time.Duration.ofSeconds(30);
    private static final java.time.Duration HEARTBEAT = java.time.Duration.ofSeconds(2);

    /**
     * @param metering meters each job like a request: its compute-seconds (wall time on the training thread,
     *     priced by the {@code per_compute_second} of the job's {@code model}: the embedding model, or the tabular
     *     family) reserved against budgets for {@code maxJobTime} before it is created, and recorded when it ends
     * @param maxJobTime how long a job may run; it is cut there (and failed)
     */
    /**
     * How many jobs run at once and how many one tenant may have.
     *
     * @param concurrency jobs run at once, each on a platform thread of its own (1 to 64)
     * @param maxActivePerTenant jobs a tenant may have queued or running; one more is refused (429)
     * @param maxRunningPerTenant jobs of one tenant run at once, so that one tenant's queue does not hold every
     *     worker while another's waits
     */
    public record Limits(int concurrency, int maxActivePerTenant, int maxRunningPerTenant) {
        /** One job at a time; 16 jobs queued or running per tenant. */
        public static final Limits DEFAULTS = new Limits(1, 16, 1);

        public Limits {
            if (concurrency < 1 || concurrency > 64 || maxActivePerTenant < 1 || maxRunningPerTenant < 1) {
                throw new IllegalArgumentException("concurrency " + concurrency + " (1 to 64), per tenant "
                        + maxActivePerTenant + " active and " + maxRunningPerTenant + " running (at least 1)");
            }
        }
    }

    public FineTuningJobs(Jdbi jdbi, TrainingFiles files, Map<TrainingMethod, Trainer> trainers, Publisher publisher,
            Promoter promoter, Clock clock, dev.atrium.serving.Serving serving,
            java.util.function.Function<String, Optional<dev.atrium.gateway.Caller>> callers,
            java.time.Duration maxJobTime, Limits limits) {
        this.promoter = requireNonNull(promoter, "promoter is null");
        this.maxActivePerTenant = limits.maxActivePerTenant();
        this.maxRunningPerTenant = limits.maxRunningPerTenant();
        this.serving = requireNonNull(serving, "serving is null");
        this.callers = requireNonNull(callers, "callers is null");
        this.maxJobTime = requireNonNull(maxJobTime, "maxJobTime is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.files = requireNonNull(files, "files is null");
        this.trainers = Map.copyOf(trainers);
        this.publisher = requireNonNull(publisher, "publisher is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.shared = jdbi.withHandle(handle -> {
            try {
                return handle.getConnection().getMetaData().getDatabaseProductName();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("cannot tell the store's kind", e);
            }
        }).toLowerCase(java.util.Locale.ROOT).contains("postgres");
        // one process owns a SQLite store: what was running ran here, and stopped with it; over a shared store only
        // the jobs of runners no longer seen are
        int restarted = shared ? requeueLost() : jdbi.withHandle(handle -> handle.createUpdate(
                "UPDATE fine_tuning_jobs SET status = 'queued', runner = NULL WHERE status = 'running'").execute());
        if (restarted > 0) {
            LOG.info("{} fine-tuning job(s) the server stopped under are queued again", restarted);
        }
        this.heartbeat = shared ? java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("fine-tuning-heartbeat").daemon(true).factory()) : null;
        if (heartbeat != null) {
            heartbeat.scheduleWithFixedDelay(this::beat, HEARTBEAT.toMillis(), HEARTBEAT.toMillis(),
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        this.workers = java.util.stream.IntStream.range(0, limits.concurrency())
                .mapToObj(i -> Thread.ofPlatform().name("fine-tuning-" + i).daemon(true).start(this::work)).toList();
        work.release(limits.concurrency());
    }

    /**
     * Creates a job for a tenant's files; it is checked and run in the background.
     *
     * @throws AtriumException 404 for a file the tenant does not have, 400 for a method with no trainer here
     */
    public FineTuningJob create(dev.atrium.gateway.Caller caller, Request request) {
        String tenantId = caller.key().tenantId();
        String keyId = caller.key().id();
        files.get(tenantId, request.trainingFile());
        if (request.validationFile() != null) {
            files.get(tenantId, request.validationFile());
        }
        if (!trainers.containsKey(request.method())) {
            throw AtriumException.invalidParam("method", "no trainer for method " + request.method().wireName());
        }
        SearchSettings.of(request.hyperparameters()); // a search it cannot run is refused now, not once queued
        long active = jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT COUNT(*) FROM fine_tuning_jobs
                        WHERE tenant_id IS NOT DISTINCT FROM :tenant
                            AND status IN ('validating_files', 'queued', 'running')""")
                .bind("tenant", tenantId).mapTo(Long.class).one());
        if (active >= maxActivePerTenant) {
            throw new AtriumException(ErrorCode.RATE_LIMITED_REQUESTS, "the tenant has " + active + " fine-tuning jobs"
                    + " queued or running, its most; wait for one to end, or cancel one");
        }
        ObjectNode promote = null;
        if (request.promote() != null) {
            promote = JSON.createObjectNode();
            promote.put("alias", request.promote().alias());
            promote.put("if_better_on", request.promote().ifBetterOn());
        }
        Instant now = clock.instant();
        String id = "ftjob-" + HexFormat.of().formatHex(randomBytes());
        // the worst case reserved first: a budget that cannot cover the job refuses it (429) before it exists
        meters.put(id, serving.openJob(caller, id, request.baseModel(), maxJobTime));
        FineTuningJob job = new FineTuningJob(id, tenantId, keyId,
                request.method(), request.baseModel(), request.targetModel(), request.trainingFile(),
                request.validationFile(), request.hyperparameters(), request.seed(), JobStatus.VALIDATING_FILES, null,
                null, null, now, null, null, null, promote);
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO fine_tuning_jobs (id, tenant_id, key_id, method, base_model, target_model, training_file,
                    validation_file, hyperparameters, seed, status, created_at, promote)
                VALUES (:id, :tenant, :key, :method, :base, :target, :training, :validation, :hyperparameters, :seed,
                    :status, :created_at, :promote)""")
                .bind("id", job.id())
                .bind("tenant", tenantId)
                .bind("key", keyId)
                .bind("method", job.method().wireName())
                .bind("base", job.baseModel())
                .bind("target", job.targetModel())
                .bind("training", job.trainingFile())
                .bind("validation", job.validationFile())
                .bind("hyperparameters", job.hyperparameters().toString())
                .bind("seed", job.seed())
                .bind("status", job.status().wireName())
                .bind("created_at", EpochMicros.of(now))
                .bind("promote", job.promote() == null ? null : job.promote().toString())
                .execute());
        event(job.id(), "info", "Validating training file: " + job.trainingFile(), null);
        wake();
        return job;
    }

    /** A tenant's jobs, newest first, after the job {@code after} if given. */
    public List<FineTuningJob> list(String tenantId, Optional<String> after, int limit) {
        Optional<FineTuningJob> cursor = after.map(id -> get(tenantId, id));
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM fine_tuning_jobs WHERE tenant_id IS NOT DISTINCT FROM :tenant"
                        + (cursor.isPresent() ? " AND (created_at, id) < (:at, :id)" : "")
                        + " ORDER BY created_at DESC, id DESC LIMIT :limit")
                .bind("tenant", tenantId)
                .bind("at", cursor.map(job -> EpochMicros.of(job.createdAt())).orElse(0L))
                .bind("id", cursor.map(FineTuningJob::id).orElse(""))
                .bind("limit", limit)
                .map((rs, ctx) -> job(rs))
                .list());
    }

    /** A tenant's job; another tenant's, or none, is 404. */
    public FineTuningJob get(String tenantId, String id) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM fine_tuning_jobs WHERE id = :id AND tenant_id IS NOT DISTINCT FROM :tenant")
                .bind("id", id).bind("tenant", tenantId).map((rs, ctx) -> job(rs)).findOne())
                .orElseThrow(() -> AtriumException.withParam(ErrorCode.NOT_FOUND, "fine_tuning_job_id",
                        "no fine-tuning job '" + id + "'"));
    }

    /**
     * Cancels a job: one not yet running at once, a running one between its steps.
     *
     * @throws AtriumException 409 for a job that has ended
     */
    public FineTuningJob cancel(String tenantId, String id) {
        FineTuningJob job = get(tenantId, id);
        if (job.status().isFinal()) {
            throw new AtriumException(ErrorCode.CONFLICT, "fine-tuning job '" + id + "' has already "
                    + job.status().wireName());
        }
        cancelling.add(id);
        int updated = jdbi.withHandle(handle -> handle.createUpdate("""
                UPDATE fine_tuning_jobs SET status = 'cancelled', finished_at = :now
                WHERE id = :id AND status IN ('validating_files', 'queued')""")
                .bind("id", id).bind("now", EpochMicros.of(clock.instant())).execute());
        if (updated == 0 && shared) {
            // running, perhaps on another replica: its runner hears of it within a heartbeat
            jdbi.useHandle(handle -> handle.createUpdate(
                    "UPDATE fine_tuning_jobs SET cancel_requested = 1 WHERE id = :id AND status = 'running'")
                    .bind("id", id).execute());
        }
        if (updated > 0) {
            cancelling.remove(id);
            dev.atrium.serving.Serving.JobCall meter = meters.remove(id);
            if (meter != null) {
                meter.release(); // it never ran: nothing to record
            }
            event(id, "info", "The job was cancelled", null);
        }
        return get(tenantId, id);
    }

    /** A tenant job's events, newest first, after the event {@code after} if given. */
    public List<JobEvent> events(String tenantId, String id, Optional<String> after, int limit) {
        get(tenantId, id);
        long before = after.map(FineTuningJobs::sequence).orElse(Long.MAX_VALUE);
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM fine_tuning_events WHERE job_id = :id AND seq < :before
                        ORDER BY seq DESC LIMIT :limit""")
                .bind("id", id).bind("before", before).bind("limit", limit)
                .map((rs, ctx) -> event(rs)).list());
    }

    /** A checkpoint of a job: its step and the metrics then. */
    public record Checkpoint(String id, String jobId, long step, Instant createdAt, JsonNode metrics) {}

    /** A tenant job's checkpoints, newest first. */
    public List<Checkpoint> checkpoints(String tenantId, String id, int limit) {
        get(tenantId, id);
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM fine_tuning_checkpoints WHERE job_id = :id ORDER BY step DESC LIMIT :limit""")
                .bind("id", id).bind("limit", limit)
                .map((rs, ctx) -> new Checkpoint(rs.getString("id"), rs.getString("job_id"), rs.getLong("step"),
                        EpochMicros.instant(rs, "created_at"), JSON.readTree(rs.getString("metrics"))))
                .list());
    }

    /** Waits until a job has ended (for tests and the CLI's own polling), at most {@code timeout}. */
    public FineTuningJob awaitEnd(String tenantId, String id, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        FineTuningJob job = get(tenantId, id);
        while (!job.status().isFinal() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            job = get(tenantId, id);
        }
        return job;
    }

    // ---- the worker ---------------------------------------------------------------------------------------------

    private void work() {
        while (!closed) {
            try {
                // jobs created on another replica are seen here within a heartbeat
                work.tryAcquire(shared ? HEARTBEAT.toMillis() : Long.MAX_VALUE, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            Optional<FineTuningJob> next;
            while (!closed && (next = claim()).isPresent()) {
                try {
                    run(next.get());
                } finally {
                    synchronized (claimed) {
                        claimed.remove(next.get().id());
                    }
                    wake(); // a tenant held back by its running cap may go on now
                }
            }
        }
    }

    private void wake() {
        int missing = workers.size() - work.availablePermits();
        if (missing > 0) {
            work.release(missing);
        }
    }

    /** Takes the oldest job waiting that no worker has and whose tenant is under its running cap. */
    private Optional<FineTuningJob> claim() {
        synchronized (claimed) {
            List<FineTuningJob> waiting = jdbi.withHandle(handle -> handle.createQuery("""
                            SELECT * FROM fine_tuning_jobs WHERE status IN ('validating_files', 'queued')
                            ORDER BY created_at, id LIMIT :limit""")
                    .bind("limit", claimed.size() + 256)
                    .map((rs, ctx) -> job(rs)).list());
            for (FineTuningJob job : waiting) {
                String tenant = job.tenantId() == null ? "" : job.tenantId();
                long running = claimed.values().stream().filter(tenant::equals).count();
                if (!claimed.containsKey(job.id()) && running < maxRunningPerTenant) {
                    claimed.put(job.id(), tenant);
                    return Optional.of(job);
                }
            }
            return Optional.empty();
        }
    }


    private void run(FineTuningJob job) {
        dev.atrium.serving.Serving.JobCall meter = meters.remove(job.id());
        if (meter == null) {
            // queued before a restart: its reservation went with the process, and is made again for its key
            Optional<dev.atrium.gateway.Caller> caller = callers.apply(job.keyId());
            if (caller.isEmpty()) {
                fail(job, "invalid_api_key", "the key that created the job is revoked or expired", null);
                return;
            }
            try {
                meter = serving.openJob(caller.get(), job.id(), job.baseModel(), maxJobTime);
            } catch (AtriumException e) {
                fail(job, e.code().openAiCode(), e.getMessage(), null);
                return;
            }
        }
        JobRun run = new JobRun(job, System.nanoTime());
        dev.atrium.metering.Outcome outcome = dev.atrium.metering.Outcome.ENGINE_ERROR;
        try {
            outcome = train(job, run);
        } finally {
            long millis = (System.nanoTime() - run.startNanos) / 1_000_000;
            if (outcome == null) {
                Thread.interrupted(); // the stop's interrupt must not fail the store call that gives back
                // stopped with the server (recorded when it runs again, from its saved state), or another replica
                // took it first (it records it)
                meter.release();
            } else {
                meter.finish(millis, outcome);
                run.dropState();
                if (run.succeeded != null) {
                    // after its record: a client that sees the job succeeded finds its usage too
                    run.succeeded.run();
                }
            }
        }
    }

    /** Runs a job to its end; answers the outcome its usage is recorded with, or null when the server stopped it. */
    private dev.atrium.metering.Outcome train(FineTuningJob job, JobRun run) {
        Trainer trainer = trainers.get(job.method());
        try {
            // each step moves the job on only from the status it had: a cancel that came between is kept
            if (job.status() == JobStatus.VALIDATING_FILES) {
                trainer.validate(run);
                if (!move(job.id(), "validating_files", "queued")) {
                    return takenElsewhere(job) ? null : cancelledBefore(job);
                }
                event(job.id(), "info", "Files validated; the job is queued", null);
            }
            if (!move(job.id(), "queued", "running")) {
                return takenElsewhere(job) ? null : cancelledBefore(job);
            }
            event(job.id(), "info", "Training started (" + job.method().wireName() + " on " + job.baseModel() + ")",
                    null);
            Trainer.Trained trained = trainer.train(run);
            if (cancelled(job.id())) {
                throw new CancellationException();
            }
            String reference = publisher.publish(job, trained);
            if (job.promote() != null) {
                promote(job, Integer.parseInt(reference.substring(reference.lastIndexOf(':') + 1)));
            }
            ObjectNode metrics = trained.metrics();
            run.succeeded = () -> {
                jdbi.useHandle(handle -> handle.createUpdate("""
                        UPDATE fine_tuning_jobs SET status = 'succeeded', fine_tuned_model = :model, metrics = :metrics,
                            leaderboard = :leaderboard, finished_at = :now WHERE id = :id""")
                        .bind("id", job.id()).bind("model", reference).bind("metrics", metrics.toString())
                        .bind("leaderboard", trained.leaderboard() == null ? null : trained.leaderboard().toString())
                        .bind("now", EpochMicros.of(clock.instant())).execute());
                event(job.id(), "info", "The job has successfully completed: " + reference, metrics);
            };
            return dev.atrium.metering.Outcome.OK;
        } catch (CancellationException e) {
            if (stoppedWithTheServer(job)) {
                return null; // the server is stopping: the job stays running and is queued again at the next start
            }
            if (run.pastTimeLimit()) {
                fail(job, "deadline_exceeded", "the job ran past its time limit of " + maxJobTime.toMinutes()
                        + " minutes", null);
                return dev.atrium.metering.Outcome.DEADLINE;
            }
            cancelling.remove(job.id());
            status(job.id(), JobStatus.CANCELLED, null);
            event(job.id(), "info", "The job was cancelled", null);
            return dev.atrium.metering.Outcome.CLIENT_CANCELLED;
        } catch (AtriumException e) {
            if (stoppedWithTheServer(job)) {
                return null;
            }
            fail(job, e.code().openAiCode(), e.getMessage(), e.param().orElse(null));
            return dev.atrium.metering.Outcome.ENGINE_ERROR;
        } catch (RuntimeException e) {
            if (stoppedWithTheServer(job)) {
                // the stop's interrupt reached a call that fails on it (a store call, a file): not the job's fault
                return null;
            }
            LOG.warn("fine-tuning job {} failed", job.id(), e);
            fail(job, "server_error", "the job failed inside the server", null);
            return dev.atrium.metering.Outcome.ENGINE_ERROR;
        }
    }

    /**
     * Whether a job that stopped early was stopped by the server stopping, not by a cancel: it then stays running
     * in the store and is queued again at the next start. Clears the stop's interrupt, so that the store call that
     * asks can run.
     */
    private boolean stoppedWithTheServer(FineTuningJob job) {
        if (!closed) {
            return false;
        }
        Thread.interrupted();
        return !cancelled(job.id());
    }

    /** Moves a job from one status to the next, unless it has left the first (a cancel); answers whether it moved. */
    private boolean move(String id, String from, String to) {
        return jdbi.withHandle(handle -> handle.createUpdate("""
                        UPDATE fine_tuning_jobs SET status = :to,
                            started_at = CASE WHEN :to = 'running' THEN :now ELSE started_at END,
                            runner = CASE WHEN :to = 'running' THEN :runner ELSE runner END,
                            runner_seen = CASE WHEN :to = 'running' THEN :now ELSE runner_seen END
                        WHERE id = :id AND status = :from""")
                .bind("id", id).bind("from", from).bind("to", to).bind("now", EpochMicros.of(clock.instant()))
                .bind("runner", runner)
                .execute()) > 0;
    }

    /** Whether a job this worker could not move on was taken by another replica (rather than cancelled). */
    private boolean takenElsewhere(FineTuningJob job) {
        return shared && jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT status FROM fine_tuning_jobs WHERE id = :id")
                .bind("id", job.id()).mapTo(String.class).findOne())
                .map(status -> !status.equals("cancelled")).orElse(false);
    }

    /** Queues again the running jobs whose runners have not been seen for {@link #RUNNER_LOST}. */
    private int requeueLost() {
        return jdbi.withHandle(handle -> handle.createUpdate("""
                        UPDATE fine_tuning_jobs SET status = 'queued', runner = NULL
                        WHERE status = 'running' AND (runner_seen IS NULL OR runner_seen < :lost)""")
                .bind("lost", EpochMicros.of(clock.instant().minus(RUNNER_LOST))).execute());
    }

    /**
     * Over a shared store, every {@link #HEARTBEAT}: says this replica still runs its jobs, hears of cancels asked
     * for on other replicas, gives back the reservations of jobs created here that another replica took, and
     * queues again the jobs of runners that died.
     */
    private void beat() {
        try {
            long now = EpochMicros.of(clock.instant());
            jdbi.useHandle(handle -> handle.createUpdate("""
                    UPDATE fine_tuning_jobs SET runner_seen = :now WHERE runner = :runner AND status = 'running'""")
                    .bind("now", now).bind("runner", runner).execute());
            cancelling.addAll(jdbi.withHandle(handle -> handle.createQuery("""
                    SELECT id FROM fine_tuning_jobs WHERE runner = :runner AND status = 'running'
                        AND cancel_requested = 1""").bind("runner", runner).mapTo(String.class).list()));
            if (!meters.isEmpty()) {
                List<String> elsewhere = jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT id FROM fine_tuning_jobs WHERE id IN (<ids>)
                            AND status NOT IN ('validating_files', 'queued')""")
                        .bindList("ids", List.copyOf(meters.keySet())).mapTo(String.class).list());
                for (String id : elsewhere) {
                    dev.atrium.serving.Serving.JobCall meter = meters.remove(id);
                    if (meter != null) {
                        meter.release();
                    }
                }
            }
            if (requeueLost() > 0) {
                wake();
            }
        } catch (RuntimeException e) {
            LOG.warn("fine-tuning heartbeat: {}", e.getMessage());
        }
    }

    /** A job cancelled while a worker had taken it, before it ran: it is cancelled already, with its event. */
    private dev.atrium.metering.Outcome cancelledBefore(FineTuningJob job) {
        cancelling.remove(job.id());
        return dev.atrium.metering.Outcome.CLIENT_CANCELLED;
    }

    /** Moves the job's alias to its new version if it is better; a failure to score leaves the alias where it is. */
    private void promote(FineTuningJob job, int version) {
        ObjectNode decision;
        try {
            decision = promoter.promote(job, version);
        } catch (AtriumException e) {
            decision = ((ObjectNode) job.promote()).deepCopy();
            decision.put("promoted", false);
            decision.put("reason", "the versions could not be compared: " + e.getMessage());
        }
        ObjectNode recorded = decision;
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE fine_tuning_jobs SET promote = :promote WHERE id = :id")
                .bind("id", job.id()).bind("promote", recorded.toString()).execute());
        String alias = decision.path("alias").asString();
        event(job.id(), "info", decision.path("promoted").asBoolean()
                ? "Promoted: alias '" + alias + "' now points at " + job.targetModel() + ":" + version + " ("
                        + decision.path("reason").asString() + ")"
                : "Not promoted: alias '" + alias + "' stays (" + decision.path("reason").asString() + ")", decision);
    }

    private void fail(FineTuningJob job, String code, String message, String param) {
        ObjectNode error = JSON.createObjectNode();
        error.put("code", code);
        error.put("message", message);
        error.put("param", param);
        status(job.id(), JobStatus.FAILED, error);
        ObjectNode data = JSON.createObjectNode();
        data.set("error", error);
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO fine_tuning_events (job_id, seq, created_at, level, message, data)
                VALUES (:id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM fine_tuning_events WHERE job_id = :id), :now,
                    'error', :message, :data)""")
                .bind("id", job.id()).bind("now", EpochMicros.of(clock.instant()))
                .bind("message", "The job failed: " + message).bind("data", data.toString()).execute());
    }

    private boolean cancelled(String id) {
        return cancelling.contains(id);
    }

    private void status(String id, JobStatus status, JsonNode error) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                UPDATE fine_tuning_jobs SET status = :status, error = :error,
                    finished_at = CASE WHEN :final THEN :now ELSE finished_at END
                WHERE id = :id""")
                .bind("id", id).bind("status", status.wireName()).bind("error", error == null ? null : error.toString())
                .bind("final", status.isFinal()).bind("now", EpochMicros.of(clock.instant())).execute());
    }

    void event(String jobId, String level, String message, JsonNode data) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO fine_tuning_events (job_id, seq, created_at, level, message, data)
                VALUES (:id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM fine_tuning_events WHERE job_id = :id), :now,
                    :level, :message, :data)""")
                .bind("id", jobId).bind("now", EpochMicros.of(clock.instant())).bind("level", level)
                .bind("message", message).bind("data", data == null ? null : data.toString()).execute());
    }

    /** How often a running job's state is kept at most: a crash loses at most this much of its work. */
    static final java.time.Duration STATE_INTERVAL = java.time.Duration.ofSeconds(5);

    /** One job's view for its trainer. */
    private final class JobRun implements Trainer.Run {
        private final FineTuningJob job;
        private final long startNanos;
        /** The blob of the state saved last, in this run or one before it; null when none. */
        private String stateBlob;
        /** When this run last kept a state: states are kept at most once every {@link #STATE_INTERVAL}. */
        private long savedAtNanos;
        private boolean savedOnce;
        /** Marks the job succeeded: run once its usage record is written, so that no client sees it before. */
        private Runnable succeeded;

        JobRun(FineTuningJob job, long startNanos) {
            this.job = job;
            this.startNanos = startNanos;
            this.stateBlob = jdbi.withHandle(handle -> handle.createQuery(
                            "SELECT state_blob FROM fine_tuning_jobs WHERE id = :id")
                    .bind("id", job.id()).mapTo(String.class).findOne().orElse(null));
        }

        @Override
        public Optional<byte[]> savedState() {
            return stateBlob == null ? Optional.empty() : files.readBlob(job.tenantId(), stateBlob);
        }

        @Override
        public boolean wantsState() {
            return !savedOnce || System.nanoTime() - savedAtNanos >= STATE_INTERVAL.toNanos();
        }

        @Override
        public void saveState(byte[] state) {
            if (!wantsState()) {
                return;
            }
            savedOnce = true;
            savedAtNanos = System.nanoTime();
            String blob = files.keepBlob(job.tenantId(), state);
            String previous = stateBlob;
            jdbi.useHandle(handle -> handle.createUpdate(
                            "UPDATE fine_tuning_jobs SET state_blob = :blob WHERE id = :id")
                    .bind("id", job.id()).bind("blob", blob).execute());
            stateBlob = blob;
            if (previous != null) {
                files.dropBlob(job.tenantId(), previous);
            }
        }

        /** Forgets the saved state of a job that has ended. */
        void dropState() {
            if (stateBlob != null) {
                jdbi.useHandle(handle -> handle.createUpdate(
                                "UPDATE fine_tuning_jobs SET state_blob = NULL WHERE id = :id")
                        .bind("id", job.id()).execute());
                files.dropBlob(job.tenantId(), stateBlob);
                stateBlob = null;
            }
        }

        boolean pastTimeLimit() {
            return System.nanoTime() - startNanos > maxJobTime.toNanos();
        }

        @Override
        public FineTuningJob job() {
            return job;
        }

        @Override
        public Supplier<InputStream> trainingFile() {
            TrainingFile file = files.get(job.tenantId(), job.trainingFile());
            return () -> files.content(file);
        }

        @Override
        public String trainingFileName() {
            return files.get(job.tenantId(), job.trainingFile()).filename();
        }

        @Override
        public Optional<String> validationFileName() {
            return job.validationFileId().map(id -> files.get(job.tenantId(), id).filename());
        }

        @Override
        public Optional<Supplier<InputStream>> validationFile() {
            return job.validationFileId().map(id -> {
                TrainingFile file = files.get(job.tenantId(), id);
                return () -> files.content(file);
            });
        }

        @Override
        public String trainingFileSha256() {
            return files.get(job.tenantId(), job.trainingFile()).sha256();
        }

        @Override
        public Optional<String> validationFileSha256() {
            return job.validationFileId().map(id -> files.get(job.tenantId(), id).sha256());
        }

        @Override
        public void event(String message, JsonNode data) {
            FineTuningJobs.this.event(job.id(), "info", message, data);
        }

        @Override
        public void checkpoint(long step, Map<String, Double> metrics) {
            ObjectNode values = JSON.createObjectNode();
            metrics.forEach(values::put);
            jdbi.useHandle(handle -> handle.createUpdate("""
                    INSERT INTO fine_tuning_checkpoints (id, job_id, step, created_at, metrics)
                    VALUES (:id, :job, :step, :now, :metrics)""")
                    .bind("id", "ftckpt-" + HexFormat.of().formatHex(randomBytes()))
                    .bind("job", job.id()).bind("step", step).bind("now", EpochMicros.of(clock.instant()))
                    .bind("metrics", values.toString()).execute());
        }

        @Override
        public boolean cancelled() {
            return closed || FineTuningJobs.this.cancelled(job.id()) || pastTimeLimit();
        }
    }

    // ---- rows ---------------------------------------------------------------------------------------------------

    private static FineTuningJob job(ResultSet rs) throws SQLException {
        rs.getLong("started_at");
        Instant startedAt = rs.wasNull() ? null : EpochMicros.instant(rs, "started_at");
        rs.getLong("finished_at");
        Instant finishedAt = rs.wasNull() ? null : EpochMicros.instant(rs, "finished_at");
        String error = rs.getString("error");
        String metrics = rs.getString("metrics");
        return new FineTuningJob(rs.getString("id"), rs.getString("tenant_id"), rs.getString("key_id"),
                TrainingMethod.fromWireName(rs.getString("method")).orElseThrow(), rs.getString("base_model"),
                rs.getString("target_model"), rs.getString("training_file"), rs.getString("validation_file"),
                JSON.readTree(rs.getString("hyperparameters")), rs.getLong("seed"),
                JobStatus.fromWireName(rs.getString("status")).orElseThrow(), rs.getString("fine_tuned_model"),
                error == null ? null : JSON.readTree(error), metrics == null ? null : JSON.readTree(metrics),
                EpochMicros.instant(rs, "created_at"), startedAt, finishedAt, json(rs.getString("leaderboard")),
                json(rs.getString("promote")));
    }

    private static JsonNode json(String text) {
        return text == null ? null : JSON.readTree(text);
    }

    private static JobEvent event(ResultSet rs) throws SQLException {
        String data = rs.getString("data");
        return new JobEvent(rs.getString("job_id"), rs.getLong("seq"), EpochMicros.instant(rs, "created_at"),
                rs.getString("level"), rs.getString("message"), data == null ? null : JSON.readTree(data));
    }

    /** The sequence number in an event id ({@code ftevent-<job>-<seq>}); an id of another shape starts from the top. */
    private static long sequence(String eventId) {
        int dash = eventId.lastIndexOf('-');
        try {
            return Long.parseLong(eventId.substring(dash + 1));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return Long.MAX_VALUE;
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    /** Stops the worker: a running job stops at its next step and is queued again at the next start. */
    @Override
    public void close() {
        closed = true;
        if (heartbeat != null) {
            heartbeat.shutdownNow();
        }
        workers.forEach(Thread::interrupt);
        for (Thread worker : workers) {
            try {
                // a worker gives back its job's reservation as it stops, while the store is still open
                worker.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // jobs still queued: their reservations are made again when they run (in a shared store they would
        // otherwise be held until they expire)
        meters.values().forEach(dev.atrium.serving.Serving.JobCall::release);
        meters.clear();
    }
}
