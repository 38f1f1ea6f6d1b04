package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.gateway.Caller;
import dev.atrium.server.Json;
import dev.atrium.training.VersionScorer;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Atrium's {@code POST /v1/evaluations}: scores a model version on one of the caller's files —
 * {@code {"model", "file", "target"}} ({@code target}: the CSV column with the truth, for a tabular model) — and
 * answers {@code {"object": "evaluation", "model": "name:version", "file", "metrics"}}. Every row is a model call
 * of the caller's through the serving path, metered as such; so two versions are compared on the same data by two
 * calls.
 */
public final class OpenAiEvaluationService implements HttpService {
    private static final List<String> FIELDS = List.of("model", "file", "target");

    private final VersionScorer scorer;
    private final long maxRequestBytes;

    public OpenAiEvaluationService(VersionScorer scorer, long maxRequestBytes) {
        this.scorer = requireNonNull(scorer, "scorer is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/evaluations", this::evaluate);
    }

    record EvaluationView(String object, String model, String file, JsonNode metrics) {}

    private void evaluate(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, FIELDS, "an evaluation");
        String model = OpenAiGenerationRequest.requiredModel(body);
        String file = Json.optionalString(body, "file").orElseThrow(() -> AtriumException.invalidParam("file",
                "'file' is required: the id of an uploaded file to score the model on"));
        VersionScorer.Score score = scorer.score(caller, model, file, Json.optionalString(body, "target"));
        Json.send(response, Status.OK_200, new EvaluationView("evaluation", score.model(), score.file(),
                score.metrics()));
    }

}
