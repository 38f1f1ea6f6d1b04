package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.PredictionRequest;
import dev.atrium.engine.PredictionResult;
import dev.atrium.engine.TranscriptionRequest;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.Metered;
import dev.atrium.metering.Usage;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.Json;
import dev.atrium.serving.Serving;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * OpenAI-compatible task endpoints beside embeddings and chat: {@code /v1/audio/transcriptions} (OpenAI's own
 * shape, so the SDKs' {@code audio.transcriptions.create} works), {@code /v1/audio/translations},
 * {@code /v1/classifications} (texts and images, in the list-and-usage shape of {@code /v1/embeddings}) and
 * {@code /v1/predictions} (MLflow's scoring formats). Each only parses and encodes; the serving layer runs them.
 */
public final class OpenAiTaskService implements HttpService {
    private static final List<String> TRANSCRIPTION_FIELDS = List.of("model", "language", "prompt",
            "response_format", "temperature", "timestamp_granularities[]", "timestamp_granularities", "stream",
            "user");
    private static final List<String> PREDICTION_FIELDS = List.of("model", "dataframe_split", "dataframe_records",
            "instances", "inputs", "params", "user");

    private final Serving serving;
    private final long maxRequestBytes;
    private final long maxAudioBytes;

    public OpenAiTaskService(Serving serving, long maxRequestBytes, long maxAudioBytes) {
        this.serving = requireNonNull(serving, "serving is null");
        this.maxRequestBytes = maxRequestBytes;
        this.maxAudioBytes = maxAudioBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/audio/transcriptions", this::transcriptions)
                .post("/audio/translations", this::translations)
                .post("/classifications", this::classifications)
                .post("/predictions", this::predictions);
    }

    // ---- audio --------------------------------------------------------------------------------------------------

    private void transcriptions(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        FormParts form = audioForm(request);
        form.rejectUnknownFields(TRANSCRIPTION_FIELDS);
        String model = form.requiredField("model");
        TranscriptFormats format = TranscriptFormats.fromWireName(form.field("response_format"));
        boolean stream = form.field("stream").map(String::strip).map(value -> switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw AtriumException.invalidParam("stream", "'stream' must be true or false");
        }).orElse(false);
        if (stream && format != TranscriptFormats.JSON && format != TranscriptFormats.TEXT) {
            throw AtriumException.invalidParam("stream", "a streamed transcription is sent as events: response_format"
                    + " json or text, not " + form.field("response_format").orElse(""));
        }
        List<String> granularities = new ArrayList<>(form.fields().getOrDefault("timestamp_granularities[]", List.of()));
        granularities.addAll(form.fields().getOrDefault("timestamp_granularities", List.of()));
        for (String granularity : granularities) {
            if (!granularity.equals("segment") && !granularity.equals("word")) {
                throw AtriumException.invalidParam("timestamp_granularities", "timestamp granularities are word and"
                        + " segment");
            }
            if (granularity.equals("word")) {
                throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "timestamp_granularities", "word"
                        + " timestamps are not supported: segments carry start and end times");
            }
        }
        if (!granularities.isEmpty() && format != TranscriptFormats.VERBOSE_JSON) {
            throw AtriumException.invalidParam("timestamp_granularities", "timestamp_granularities need"
                    + " response_format verbose_json");
        }
        double temperature = form.field("temperature").map(text -> {
            try {
                return Double.parseDouble(text.strip());
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        }).orElse(0.0);
        if (!(temperature >= 0 && temperature <= 1)) {
            throw AtriumException.invalidParam("temperature", "'temperature' must be a number from 0 to 1");
        }
        Optional<String> language = form.field("language").map(String::strip).filter(text -> !text.isEmpty());
        if (language.isPresent() && !language.get().matches("[a-z]{2,3}")) {
            throw AtriumException.invalidParam("language", "'language' must be an ISO-639-1 code such as en");
        }
        byte[] audio = audioFile(form);
        TranscriptionRequest call = new TranscriptionRequest(audio, language, form.field("prompt"), temperature);
        if (stream) {
            TranscriptionEvents events = new TranscriptionEvents(response);
            Serving.Transcribed transcribed;
            try {
                transcribed = serving.transcribe(caller, model, call, events);
            } catch (AtriumException e) {
                if (!events.begun()) {
                    throw e;
                }
                events.failed(e);
                return;
            }
            events.done(transcribed.transcript().text(), transcribed.usage().audioMillis() / 1000.0);
            return;
        }
        Serving.Transcribed transcribed = serving.transcribe(caller, model, call,
                dev.atrium.engine.TranscriptionProgress.NONE);
        Metered.alertHeaders(response, transcribed.alerts());
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(transcribed.model().version().version()));
        double seconds = transcribed.usage().audioMillis() / 1000.0;
        Object body = format.body(transcribed.transcript(), seconds);
        if (body instanceof String text) {
            response.status(Status.OK_200);
            response.header(HeaderNames.CONTENT_TYPE, format.contentType());
            response.send(text.getBytes(StandardCharsets.UTF_8));
        } else {
            Json.send(response, Status.OK_200, body);
        }
    }

    /** Translation into English needs a multilingual model; every transcription model here says which it is. */
    private void translations(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        FormParts form = audioForm(request);
        ResolvedModel resolved = serving.resolve(caller, form.requiredField("model"));
        if (resolved.model().task() != ModelTask.TRANSCRIPTION) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '"
                    + resolved.model().name() + "' is a " + resolved.model().task().wireName() + " model; it cannot"
                    + " do audio translations");
        }
        throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "model", "model '" + resolved.model().name()
                + "' is English-only: it transcribes English speech but cannot translate; use"
                + " /v1/audio/transcriptions");
    }

    private FormParts audioForm(ServerRequest request) {
        if (!FormParts.isMultipart(request)) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send audio as multipart/form-data with a"
                    + " 'file' part and a 'model' field");
        }
        // the file plus its form fields: a little room over the audio limit for the fields
        return FormParts.read(request, maxAudioBytes + 64 * 1024, List.of("file"));
    }

    private byte[] audioFile(FormParts form) {
        if (form.files().size() != 1) {
            throw AtriumException.invalidParam("file", form.files().isEmpty() ? "the form needs a 'file' part with"
                    + " the audio" : "send one audio 'file' per request");
        }
        byte[] audio = form.files().getFirst().bytes();
        if (audio.length > maxAudioBytes) {
            throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the audio file is larger than the limit of "
                    + maxAudioBytes + " bytes");
        }
        return audio;
    }

    // ---- classifications ----------------------------------------------------------------------------------------

    record LabelView(String label, double score) {}

    record ClassificationView(String object, int index, List<LabelView> labels) {}

    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    record ClassificationUsage(long promptTokens, long totalTokens, Long images) {}

    record ClassificationList(String object, List<ClassificationView> data, String model, ClassificationUsage usage) {}

    private void classifications(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        OpenAiClassificationRequest call;
        if (FormParts.isMultipart(request)) {
            call = OpenAiClassificationRequest.parse(FormParts.read(request, maxRequestBytes, List.of("file")));
        } else {
            JsonNode body = Json.readObject(request, maxRequestBytes);
            String model = OpenAiGenerationRequest.requiredModel(body);
            OpenAiFields.routeByUser(body);
            boolean images = serving.resolve(caller, model).model().task() == ModelTask.IMAGE_CLASSIFICATION;
            call = OpenAiClassificationRequest.parse(body, images);
        }
        Serving.Classified classified = serving.classify(caller, call.model(), call.request());
        Metered.alertHeaders(response, classified.alerts());
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(classified.model().version().version()));
        List<ClassificationView> data = new ArrayList<>();
        List<List<ClassificationResult.LabelScore>> labels = classified.result().labels();
        for (int i = 0; i < labels.size(); i++) {
            data.add(new ClassificationView("classification", i, labels.get(i).stream()
                    .map(score -> new LabelView(score.label(), score.score())).toList()));
        }
        Usage usage = classified.usage();
        Json.send(response, Status.OK_200, new ClassificationList("list", data, classified.model().model().name(),
                new ClassificationUsage(usage.inputTokens(), usage.inputTokens(),
                        usage.images() > 0 ? usage.images() : null)));
    }

    // ---- predictions --------------------------------------------------------------------------------------------

    record PredictionUsage(long rows) {}

    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    record PredictionList(List<Object> predictions, List<Map<String, Double>> probabilities, String model,
            PredictionUsage usage) {}

    private void predictions(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, PREDICTION_FIELDS, "a prediction request");
        String model = OpenAiGenerationRequest.requiredModel(body);
        OpenAiFields.routeByUser(body);
        Serving.Predicted predicted = serving.predict(caller, model, new PredictionRequest(body));
        Metered.alertHeaders(response, predicted.alerts());
        response.header(OpenAiService.MODEL_VERSION, Integer.toString(predicted.model().version().version()));
        List<Object> values = new ArrayList<>();
        List<Map<String, Double>> probabilities = new ArrayList<>();
        for (PredictionResult.Prediction prediction : predicted.result().predictions()) {
            switch (prediction) {
                case PredictionResult.Value value -> values.add(value.value());
                case PredictionResult.Label label -> {
                    values.add(label.integer() ? (Object) Long.valueOf(label.label()) : label.label());
                    probabilities.add(new LinkedHashMap<>(label.probabilities()));
                }
            }
        }
        Json.send(response, Status.OK_200, new PredictionList(values, probabilities.isEmpty() ? null : probabilities,
                predicted.model().model().name(), new PredictionUsage(predicted.usage().rows())));
    }
}
