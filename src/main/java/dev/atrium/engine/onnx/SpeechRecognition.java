package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.Transcript;
import dev.atrium.engine.TranscriptionRequest;
import dev.atrium.engine.onnx.audio.AudioSegmenter;
import dev.atrium.engine.onnx.audio.AudioWindow;
import dev.atrium.engine.onnx.audio.DecodedAudio;
import dev.atrium.engine.onnx.audio.TranscriptionPipeline;
import dev.atrium.engine.onnx.audio.VoiceActivity;
import dev.atrium.engine.onnx.audio.WhisperModel;
import dev.atrium.engine.onnx.audio.WhisperOptions;
import java.util.List;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Transcription models in the ONNX engine: Whisper as one end-to-end graph (with ONNX Runtime Extensions' custom
 * ops) and, when the version has a {@code vad} part, Silero VAD to cut long audio at silences (else fixed 30 s
 * windows with an overlap). Config: {@code num_beams}, {@code max_length}, {@code length_penalty},
 * {@code repetition_penalty}, and {@code vad}: {@code {threshold, min_speech_ms, speech_pad_ms, overlap_ms}}.
 * The graphs here are English-only and decode greedily from the audio alone, so a request's {@code language}
 * must be English and {@code prompt} and a non-zero {@code temperature} are refused rather than ignored.
 */
final class SpeechRecognition {
    private static final Set<String> VAD_FIELDS = Set.of("threshold", "min_speech_ms", "speech_pad_ms", "overlap_ms");

    /** What a loaded transcription model keeps beside its session. */
    record State(TranscriptionPipeline pipeline, WhisperOptions options, VoiceActivity voiceActivity)
            implements AutoCloseable {
        @Override
        public void close() {
            if (voiceActivity != null) {
                voiceActivity.close();
            }
        }
    }

    private SpeechRecognition() {}

    static OrtSession.SessionOptions sessionOptions(int intraOpThreads) throws ai.onnxruntime.OrtException {
        return WhisperModel.sessionOptions(intraOpThreads);
    }

    /** Checks the graph, the voice activity detector and the config at upload. */
    static ModelMetadata inspect(OrtEnvironment environment, OrtSession session, List<TensorSpec> inputs,
            List<TensorSpec> outputs, ArtifactFiles files, JsonNode config) {
        if (files.tokenizer().isPresent()) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "a transcription model has no tokenizer part: its"
                    + " graph decodes text itself");
        }
        WhisperModel.of(environment, session);
        options(config);
        segmenterSettings(config);
        files.voiceActivity().ifPresent(path -> VoiceActivity.open(environment, path).close());
        return new ModelMetadata(inputs, outputs, null, null);
    }

    static State load(OrtEnvironment environment, OrtSession session, Deployment deployment) {
        WhisperModel whisper = WhisperModel.of(environment, session);
        AudioSegmenter.Settings settings = segmenterSettings(deployment.config());
        VoiceActivity voiceActivity = deployment.files().voiceActivity()
                .map(path -> VoiceActivity.open(environment, path)).orElse(null);
        AudioSegmenter segmenter = voiceActivity == null ? AudioSegmenter.fixed(settings)
                : AudioSegmenter.atSilences(voiceActivity, settings);
        return new State(new TranscriptionPipeline(whisper, segmenter), options(deployment.config()), voiceActivity);
    }

    /** Refuses what the model cannot do with a request, before its audio is decoded. */
    static void check(Deployment deployment, TranscriptionRequest request) {
        String model = deployment.key().modelName();
        if (request.language().isPresent() && !request.language().get().equals("en")) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "language", "model '" + model
                    + "' is English-only: it transcribes language en, not " + request.language().get());
        }
        if (request.prompt().filter(prompt -> !prompt.isBlank()).isPresent()) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "prompt", "model '" + model
                    + "' transcribes from the audio alone: it takes no prompt; leave 'prompt' out");
        }
        if (request.temperature() != 0) {
            throw AtriumException.withParam(ErrorCode.UNSUPPORTED_BY_MODEL, "temperature", "model '" + model
                    + "' decodes deterministically (beam search): it takes no sampling temperature; send 0 or"
                    + " leave 'temperature' out");
        }
    }

    /** Joins windows' texts into the transcript, with its segments in order. */
    static Transcript transcript(State state, DecodedAudio audio, List<AudioWindow> windows, List<String> texts,
            long computeNanos) {
        dev.atrium.engine.onnx.audio.Transcript joined = state.pipeline().assemble(audio, windows, texts);
        return new Transcript(joined.text(), "en", joined.durationSeconds(), joined.segments().stream()
                .map(segment -> new Transcript.Segment(segment.id(), segment.startSeconds(), segment.endSeconds(),
                        segment.text())).toList(), computeNanos);
    }

    private static WhisperOptions options(JsonNode config) {
        WhisperOptions defaults = WhisperOptions.DEFAULT;
        try {
            return new WhisperOptions(
                    integer(config, "num_beams", defaults.numBeams()),
                    integer(config, "max_length", defaults.maxLength()),
                    (float) number(config, "length_penalty", defaults.lengthPenalty()),
                    (float) number(config, "repetition_penalty", defaults.repetitionPenalty()));
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage().replace("numBeams", "num_beams").replace("maxLength", "max_length")
                    .replace("lengthPenalty", "length_penalty").replace("repetitionPenalty", "repetition_penalty"));
        }
    }

    private static AudioSegmenter.Settings segmenterSettings(JsonNode config) {
        JsonNode vad = config.get("vad");
        AudioSegmenter.Settings defaults = AudioSegmenter.Settings.DEFAULT;
        if (vad == null || vad.isNull()) {
            return defaults;
        }
        if (!vad.isObject()) {
            throw invalid("vad must be an object: {threshold, min_speech_ms, speech_pad_ms, overlap_ms}");
        }
        for (String field : vad.propertyNames()) {
            if (!VAD_FIELDS.contains(field)) {
                throw invalid("unknown vad field '" + field + "'; the fields are " + new java.util.TreeSet<>(VAD_FIELDS));
            }
        }
        try {
            return new AudioSegmenter.Settings(number(vad, "threshold", defaults.threshold()),
                    integer(vad, "min_speech_ms", defaults.minSpeechMillis()),
                    integer(vad, "speech_pad_ms", defaults.speechPadMillis()),
                    integer(vad, "overlap_ms", defaults.overlapMillis()));
        } catch (IllegalArgumentException e) {
            throw invalid("vad: " + e.getMessage());
        }
    }

    private static int integer(JsonNode config, String field, int fallback) {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw invalid(field + " must be an integer");
        }
        return node.intValue();
    }

    private static double number(JsonNode config, String field, double fallback) {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw invalid(field + " must be a number");
        }
        return node.doubleValue();
    }

    private static AtriumException invalid(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }
}
