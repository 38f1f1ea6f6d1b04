package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.engine.Transcript;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The {@code response_format}s of OpenAI's transcriptions, and how a transcript is written in each. */
enum TranscriptFormats {
    JSON("json", "application/json"),
    TEXT("text", "text/plain; charset=utf-8"),
    SRT("srt", "application/x-subrip; charset=utf-8"),
    VERBOSE_JSON("verbose_json", "application/json"),
    VTT("vtt", "text/vtt; charset=utf-8");

    /** Whisper's language names, for {@code verbose_json}, of the languages a model here may speak. */
    private static final Map<String, String> LANGUAGES = Map.of("en", "english");

    private final String wireName;
    private final String contentType;

    TranscriptFormats(String wireName, String contentType) {
        this.wireName = wireName;
        this.contentType = contentType;
    }

    String contentType() {
        return contentType;
    }

    static TranscriptFormats fromWireName(Optional<String> name) {
        if (name.isEmpty()) {
            return JSON;
        }
        return Arrays.stream(values()).filter(format -> format.wireName.equals(name.get())).findFirst()
                .orElseThrow(() -> AtriumException.invalidParam("response_format", "'response_format' must be one of"
                        + " json, text, srt, verbose_json, vtt"));
    }

    /** The answer's body in this format; {@code json} formats as objects the caller serializes. */
    Object body(Transcript transcript, double audioSeconds) {
        return switch (this) {
            case JSON -> new Json(transcript.text(), new Usage("duration", audioSeconds));
            case TEXT -> transcript.text() + "\n";
            case SRT -> subtitles(transcript, false);
            case VTT -> subtitles(transcript, true);
            case VERBOSE_JSON -> new VerboseJson("transcribe", LANGUAGES.getOrDefault(transcript.language(),
                    transcript.language()), transcript.durationSeconds(), transcript.text(),
                    transcript.segments().stream().map(segment -> new Segment(segment.id(), segment.start(),
                            segment.end(), segment.text(), List.of(), 0.0)).toList(),
                    new Usage("duration", audioSeconds));
        };
    }

    record Usage(String type, double seconds) {}

    record Json(String text, Usage usage) {}

    /** A segment as OpenAI's verbose answer has it (token ids are not kept: an empty list). */
    record Segment(int id, double start, double end, String text, List<Integer> tokens, double temperature) {}

    record VerboseJson(String task, String language, double duration, String text, List<Segment> segments,
            Usage usage) {}

    private static String subtitles(Transcript transcript, boolean vtt) {
        StringBuilder out = new StringBuilder(vtt ? "WEBVTT\n\n" : "");
        int number = 1;
        for (Transcript.Segment segment : transcript.segments()) {
            if (segment.text().isBlank()) {
                continue;
            }
            if (!vtt) {
                out.append(number).append('\n');
            }
            out.append(time(segment.start(), vtt)).append(" --> ").append(time(segment.end(), vtt)).append('\n')
                    .append(segment.text().strip()).append("\n\n");
            number++;
        }
        return out.toString();
    }

    /** {@code HH:MM:SS,mmm} (SRT) or {@code HH:MM:SS.mmm} (WebVTT). */
    static String time(double seconds, boolean vtt) {
        long millis = Math.round(seconds * 1000);
        return String.format(Locale.ROOT, "%02d:%02d:%02d%c%03d", millis / 3_600_000, millis / 60_000 % 60,
                millis / 1000 % 60, vtt ? '.' : ',', millis % 1000);
    }
}
