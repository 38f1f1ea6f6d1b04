package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.ModelTask;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.Model;
import dev.atrium.server.Json;
import dev.atrium.serving.Serving;
import dev.atrium.training.FineTuningJob;
import dev.atrium.training.FineTuningJobs;
import dev.atrium.training.JobEvent;
import dev.atrium.training.TrainingMethod;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * OpenAI's {@code /v1/fine_tuning/jobs}: create, list, retrieve, cancel, events and checkpoints, scoped to the
 * caller's tenant. Atrium's {@code method.type} names the trainer ({@code text-classification}: a head over the
 * embedding model named in {@code model}); {@code suffix} names the model the result becomes a version of; the
 * job's {@code fine_tuned_model} is that version's reference.
 */
public final class OpenAiFineTuningService implements HttpService {
    private static final List<String> FIELDS = List.of("model", "training_file", "validation_file", "hyperparameters",
            "suffix", "seed", "method", "metadata", "integrations", "promote");

    private final FineTuningJobs jobs;
    private final Serving serving;
    private final long maxRequestBytes;

    public OpenAiFineTuningService(FineTuningJobs jobs, Serving serving, long maxRequestBytes) {
        this.jobs = requireNonNull(jobs, "jobs is null");
        this.serving = requireNonNull(serving, "serving is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/fine_tuning/jobs", this::create)
                .get("/fine_tuning/jobs", this::list)
                .get("/fine_tuning/jobs/{job_id}", this::retrieve)
                .post("/fine_tuning/jobs/{job_id}/cancel", this::cancel)
                .get("/fine_tuning/jobs/{job_id}/events", this::events)
                .get("/fine_tuning/jobs/{job_id}/checkpoints", this::checkpoints);
    }

    record ErrorView(String code, String message, String param) {}

    record MethodView(String type) {}

    record JobView(String id, String object, String model, long createdAt, Long finishedAt, String fineTunedModel,
            String organizationId, List<String> resultFiles, String status, String validationFile,
            String trainingFile, JsonNode hyperparameters, Long trainedTokens, ErrorView error, long seed,
            Long estimatedFinish, List<Object> integrations, MethodView method, JsonNode metrics,
            JsonNode leaderboard, JsonNode promote) {
        static JobView of(FineTuningJob job) {
            JsonNode error = job.error();
            return new JobView(job.id(), "fine_tuning.job", job.baseModel(), job.createdAt().getEpochSecond(),
                    job.finishedAt() == null ? null : job.finishedAt().getEpochSecond(), job.fineTunedModel(),
                    job.tenantId() == null ? "platform" : job.tenantId(), List.of(), job.status().wireName(),
                    job.validationFile(), job.trainingFile(), job.hyperparameters(), null,
                    error == null ? null : new ErrorView(error.path("code").asString(""),
                            error.path("message").asString(""), error.path("param").isNull() ? null
                                    : error.path("param").asString(null)),
                    job.seed(), null, List.of(), new MethodView(job.method().wireName()), job.metrics(),
                    job.leaderboard(), job.promote());
        }
    }

    record JobList(String object, List<JobView> data, boolean hasMore) {}

    record EventView(String object, String id, long createdAt, String level, String message, JsonNode data,
            String type) {}

    record EventList(String object, List<EventView> data, boolean hasMore) {}

    record CheckpointView(String object, String id, long createdAt, String fineTunedModelCheckpoint, long stepNumber,
            JsonNode metrics, String fineTuningJobId) {}

    record CheckpointList(String object, List<CheckpointView> data, boolean hasMore, String firstId, String lastId) {}

    private void create(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, FIELDS, "a fine-tuning job");
        String base = OpenAiGenerationRequest.requiredModel(body);
        String trainingFile = Json.optionalString(body, "training_file").orElseThrow(() -> AtriumException.invalidParam(
                "training_file", "'training_file' is required: the id of an uploaded file"));
        TrainingMethod method = methodOf(body);
        String defaultTarget;
        if (method == TrainingMethod.TEXT_CLASSIFICATION) {
            Model baseModel = serving.resolve(caller, base).model();
            if (baseModel.task() != ModelTask.EMBEDDING) {
                throw AtriumException.invalidParam("model", "a text-classification job trains a head over an"
                        + " embedding model; '" + base + "' is a " + baseModel.task().wireName() + " model");
            }
            defaultTarget = baseModel.name() + "-classifier";
        } else {
            // a tabular or image job's model is the family it trains, checked with its files
            defaultTarget = method == TrainingMethod.IMAGE_CLASSIFICATION ? "image-model" : "tabular-model";
        }
        String target = Json.optionalString(body, "suffix").orElse(defaultTarget);
        if (!Model.isValidName(target)) {
            throw AtriumException.invalidParam("suffix", "'suffix' names the model the result becomes a version of:"
                    + " lowercase letters, digits, '.', '_' and '-', at most 128");
        }
        JsonNode hyperparameters = body.get("hyperparameters");
        ObjectNode settings;
        if (hyperparameters != null && hyperparameters.isString() && hyperparameters.stringValue().equals("auto")) {
            // every hyperparameter chosen by an AutoML search with its defaults
            settings = JsonNodeFactory.instance.objectNode().put("search", "auto");
        } else if (hyperparameters != null && !hyperparameters.isNull() && !hyperparameters.isObject()) {
            throw AtriumException.invalidParam("hyperparameters", "'hyperparameters' must be an object, or \"auto\""
                    + " for an AutoML search");
        } else {
            settings = hyperparameters == null || hyperparameters.isNull()
                    ? JsonNodeFactory.instance.objectNode() : (ObjectNode) hyperparameters;
        }
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull() && (!seed.isIntegralNumber() || !seed.canConvertToLong())) {
            throw AtriumException.invalidParam("seed", "'seed' must be an integer");
        }
        String validationFile = Json.optionalString(body, "validation_file").orElse(null);
        FineTuningJob job = jobs.create(caller, new FineTuningJobs.Request(method,
                base, target, trainingFile, validationFile, settings,
                seed == null || seed.isNull() ? 42 : seed.longValue(), promotion(body, validationFile)));
        Json.send(response, Status.OK_200, JobView.of(job));
    }

    /**
     * Atrium's {@code promote}: {@code {"alias", "if_better_on"}}, the alias moved to the result only when it beats
     * the alias's version on the metric, both scored on the job's validation file (which it then needs).
     */
    private static FineTuningJobs.Promotion promotion(JsonNode body, String validationFile) {
        JsonNode promote = body.get("promote");
        if (promote == null || promote.isNull()) {
            return null;
        }
        String alias = promote.path("alias").asString("");
        String metric = promote.path("if_better_on").asString("");
        if (!promote.isObject() || !dev.atrium.registry.ModelReference.isValidAlias(alias)) {
            throw AtriumException.invalidParam("promote", "'promote' is {\"alias\": the alias to move,"
                    + " \"if_better_on\": a metric}");
        }
        if (!dev.atrium.training.Evaluations.isRankable(metric)) {
            throw AtriumException.invalidParam("promote", "promote.if_better_on must be one of "
                    + String.join(", ", dev.atrium.training.Evaluations.rankable()));
        }
        if (validationFile == null) {
            throw AtriumException.invalidParam("promote", "a job that promotes names a validation_file: both versions"
                    + " are scored on it");
        }
        return new FineTuningJobs.Promotion(alias, metric);
    }

    /** Atrium's trainer from {@code method.type}; absent, a text classifier over the embedding model named. */
    private static TrainingMethod methodOf(JsonNode body) {
        JsonNode method = body.get("method");
        if (method == null || method.isNull()) {
            return TrainingMethod.TEXT_CLASSIFICATION;
        }
        String type = method.path("type").asString("");
        return TrainingMethod.fromWireName(type).orElseThrow(() -> AtriumException.invalidParam("method",
                "method.type must be text-classification, tabular-regression, tabular-classification or"
                        + " image-classification, not '" + type + "'"));
    }

    private void list(ServerRequest request, ServerResponse response) {
        int limit = limit(request);
        List<FineTuningJob> page = jobs.list(Caller.current().key().tenantId(), parameter(request, "after"), limit + 1);
        Json.send(response, Status.OK_200, new JobList("list", page.stream().limit(limit).map(JobView::of).toList(),
                page.size() > limit));
    }

    private void retrieve(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, JobView.of(jobs.get(Caller.current().key().tenantId(), id(request))));
    }

    private void cancel(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        Json.send(response, Status.OK_200, JobView.of(jobs.cancel(caller.key().tenantId(), id(request))));
    }

    private void events(ServerRequest request, ServerResponse response) {
        int limit = limit(request);
        List<JobEvent> page = jobs.events(Caller.current().key().tenantId(), id(request), parameter(request, "after"),
                limit + 1);
        Json.send(response, Status.OK_200, new EventList("list", page.stream().limit(limit)
                .map(event -> new EventView("fine_tuning.job.event", event.id(), event.createdAt().getEpochSecond(),
                        event.level(), event.message(), event.data(), "message")).toList(), page.size() > limit));
    }

    private void checkpoints(ServerRequest request, ServerResponse response) {
        int limit = limit(request);
        String tenant = Caller.current().key().tenantId();
        FineTuningJob job = jobs.get(tenant, id(request));
        List<CheckpointView> data = jobs.checkpoints(tenant, job.id(), limit + 1).stream().map(checkpoint ->
                new CheckpointView("fine_tuning.job.checkpoint", checkpoint.id(), checkpoint.createdAt()
                        .getEpochSecond(), job.targetModel() + ":" + job.id() + ":step-" + checkpoint.step(),
                        checkpoint.step(), checkpoint.metrics(), job.id())).toList();
        List<CheckpointView> shown = data.stream().limit(limit).toList();
        Json.send(response, Status.OK_200, new CheckpointList("list", shown, data.size() > limit,
                shown.isEmpty() ? null : shown.getFirst().id(), shown.isEmpty() ? null : shown.getLast().id()));
    }

    private static int limit(ServerRequest request) {
        int limit = parameter(request, "limit").map(text -> {
            try {
                return Integer.parseInt(text);
            } catch (NumberFormatException e) {
                return -1;
            }
        }).orElse(20);
        if (limit < 1 || limit > 1000) {
            throw AtriumException.invalidParam("limit", "limit must be an integer from 1 to 1000");
        }
        return limit;
    }


    private static String id(ServerRequest request) {
        return request.path().pathParameters().get("job_id");
    }

    private static Optional<String> parameter(ServerRequest request, String name) {
        return request.query().first(name).asOptional().filter(value -> !value.isEmpty());
    }
}
