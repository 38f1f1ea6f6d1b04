package dev.atrium.engine.onnx.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.audio.AudioResponseFormat;
import com.openai.models.audio.transcriptions.TranscriptionCreateParams;
import com.openai.models.audio.transcriptions.TranscriptionSegment;
import com.openai.models.audio.transcriptions.TranscriptionVerbose;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Speech recognition through the server with the official OpenAI SDK: Whisper tiny.en with Silero VAD uploaded as a
 * transcription model, real LibriVox speech (Debian's pocketsphinx-testdata) in every response format, a recording
 * of about three minutes joined from the clips and silences, the same clip as MP3 and FLAC, bad audio, and the
 * audio seconds on the tenant's invoice.
 */
class TranscriptionsEndToEndTest {
    private static final String MODEL = "whisper-tiny-en";
    private static TestServer server;
    private static Http http;
    private static OpenAIClient client;
    private static List<SpeechFixtures.Clip> clips;
    @TempDir
    static Path directory;

    @BeforeAll
    static void start() throws IOException {
        clips = SpeechFixtures.clips();
        server = TestServer.start();
        http = server.http();
        assertThat(http.postJson("/admin/models", Map.of("name", MODEL, "task", "transcription")).status())
                .isEqualTo(201);
        Map<String, Path> parts = new LinkedHashMap<>();
        parts.put("onnx", SpeechFixtures.model(SpeechFixtures.WHISPER));
        parts.put("vad", SpeechFixtures.model(SpeechFixtures.SILERO));
        Http.Reply upload = http.upload("/admin/models/" + MODEL + "/versions", parts);
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(server.adminKey())
                .timeout(java.time.Duration.ofMinutes(2)).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static TranscriptionCreateParams params(Path file, AudioResponseFormat format) {
        return TranscriptionCreateParams.builder().file(file).model(MODEL).responseFormat(format).build();
    }

    private static String raw(Path file, AudioResponseFormat format) throws IOException {
        try (HttpResponse response = client.audio().transcriptions().withRawResponse().create(params(file, format))) {
            assertThat(response.statusCode()).isEqualTo(200);
            try (InputStream body = response.body()) {
                return new String(body.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void sdk_transcribesTheLibriVoxClips_withinTenPercentWordErrorRate() {
        int errors = 0;
        int words = 0;
        for (SpeechFixtures.Clip clip : clips) {
            String text = client.audio().transcriptions().create(params(clip.wav(), AudioResponseFormat.JSON))
                    .asTranscription().text();
            int clipWords = SpeechFixtures.words(clip.reference()).size();
            errors += (int) Math.round(SpeechFixtures.wordErrorRate(clip.reference(), text) * clipWords);
            words += clipWords;
        }
        double wer = errors / (double) words;
        System.out.printf("word error rate over %d LibriVox clips through the server: %.3f%n", clips.size(), wer);
        assertThat(wer).isLessThanOrEqualTo(0.10);
    }

    @Test
    void sdk_everyResponseFormat_carriesTheSameWords() throws IOException {
        Path wav = clips.getFirst().wav();
        String json = client.audio().transcriptions().create(params(wav, AudioResponseFormat.JSON)).asTranscription()
                .text();
        TranscriptionVerbose verbose = client.audio().transcriptions().create(params(wav,
                AudioResponseFormat.VERBOSE_JSON)).asVerbose();
        String text = raw(wav, AudioResponseFormat.TEXT);
        String srt = raw(wav, AudioResponseFormat.SRT);
        String vtt = raw(wav, AudioResponseFormat.VTT);
        List<String> words = SpeechFixtures.words(json);
        assertThat(words).isNotEmpty();
        assertThat(SpeechFixtures.words(verbose.text())).isEqualTo(words);
        assertThat(verbose.duration()).isBetween(1.0, 30.0);
        assertThat(verbose.language()).isEqualTo("english");
        assertThat(verbose.segments().orElseThrow()).isNotEmpty();
        assertThat(SpeechFixtures.words(text)).isEqualTo(words);
        assertThat(srt).startsWith("1\n00:00:0").contains(" --> ");
        assertThat(SpeechFixtures.words(srt.replaceAll("(?m)^\\d+$|^\\d\\d:.*$", ""))).isEqualTo(words);
        assertThat(vtt).startsWith("WEBVTT\n\n00:00:0");
        assertThat(SpeechFixtures.words(vtt.replaceAll("(?m)^WEBVTT$|^\\d\\d:.*$", ""))).isEqualTo(words);
    }

    private static Path threeMinutes;
    private static String threeMinutesReference;

    /** About three minutes: the five clips six times over, with silences of 0.7 to 1.5 s between them. */
    private static synchronized Path threeMinutes() throws IOException {
        if (threeMinutes != null) {
            return threeMinutes;
        }
        List<float[]> samples = new ArrayList<>();
        StringBuilder reference = new StringBuilder();
        int total = 0;
        AudioDecoder decoder = new AudioDecoder(java.time.Duration.ofMinutes(5));
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < clips.size(); i++) {
                float[] clip = decoder.decode(Files.readAllBytes(clips.get(i).wav())).samples();
                float[] silence = new float[(7 + (round + i) % 9) * 1600];
                samples.add(clip);
                samples.add(silence);
                total += clip.length + silence.length;
                reference.append(clips.get(i).reference()).append(' ');
            }
        }
        float[] joined = new float[total];
        int at = 0;
        for (float[] part : samples) {
            System.arraycopy(part, 0, joined, at, part.length);
            at += part.length;
        }
        threeMinutes = Files.write(directory.resolve("three-minutes.wav"), SpeechFixtures.wav16(joined, 16_000));
        threeMinutesReference = reference.toString();
        return threeMinutes;
    }

    @Test
    void sdk_threeMinuteRecording_comesBackWholeWithSegmentsInOrder() throws IOException {
        Path file = threeMinutes();
        StringBuilder reference = new StringBuilder(threeMinutesReference);
        TranscriptionVerbose verbose = client.audio().transcriptions().create(TranscriptionCreateParams.builder()
                .file(file).model(MODEL).responseFormat(AudioResponseFormat.VERBOSE_JSON)
                .timestampGranularities(List.of(TranscriptionCreateParams.TimestampGranularity.SEGMENT)).build())
                .asVerbose();
        assertThat(verbose.duration()).isBetween(170.0, 200.0);
        double wer = SpeechFixtures.wordErrorRate(reference.toString(), verbose.text());
        System.out.printf("word error rate over a %.1f s recording through the server: %.3f in %d segments%n",
                verbose.duration(), wer, verbose.segments().orElseThrow().size());
        assertThat(wer).isLessThanOrEqualTo(0.10);
        List<TranscriptionSegment> segments = verbose.segments().orElseThrow();
        assertThat(segments.size()).isGreaterThan(5);
        double end = 0;
        for (TranscriptionSegment segment : segments) {
            assertThat(segment.start()).isGreaterThanOrEqualTo(end);
            assertThat(segment.end()).isGreaterThanOrEqualTo(segment.start()).isLessThanOrEqualTo(verbose.duration());
            assertThat(segment.end() - segment.start()).isLessThanOrEqualTo(30.0);
            end = segment.end();
        }
        StringBuilder fromSegments = new StringBuilder();
        segments.forEach(segment -> fromSegments.append(segment.text()).append(' '));
        assertThat(SpeechFixtures.words(fromSegments.toString())).isEqualTo(SpeechFixtures.words(verbose.text()));
    }

    @Test
    void sdk_streaming_sendsEachSegmentThenTheWholeText() throws IOException {
        Path wav = clips.get(2).wav();
        String whole = client.audio().transcriptions().create(params(wav, AudioResponseFormat.JSON)).asTranscription()
                .text();
        StringBuilder deltas = new StringBuilder();
        List<String> done = new ArrayList<>();
        try (var stream = client.audio().transcriptions().createStreaming(params(wav, AudioResponseFormat.JSON))) {
            stream.stream().forEach(event -> {
                if (event.isTranscriptTextDelta()) {
                    deltas.append(event.asTranscriptTextDelta().delta());
                } else if (event.isTranscriptTextDone()) {
                    done.add(event.asTranscriptTextDone().text());
                }
            });
        }
        assertThat(done).containsExactly(whole);
        assertThat(deltas.toString()).isEqualTo(whole);
    }

    @Test
    void streaming_threeMinutes_tellsTheWindowsAsTheyFinish_inOrder() throws IOException {
        byte[] recording = Files.readAllBytes(threeMinutes());
        Http.Reply reply = http.postForm("/v1/audio/transcriptions", Map.of("model", MODEL, "stream", "true"),
                List.of(recording));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.header("content-type")).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        for (String line : reply.text().split("\n")) {
            if (line.startsWith("data: ")) {
                events.add(dev.atrium.server.Json.MAPPER.readTree(line.substring(6)));
            }
        }
        JsonNode first = events.getFirst();
        int windows = first.path("windows").asInt();
        assertThat(windows).isGreaterThan(5);
        assertThat(first.path("windows_done").asInt()).isZero();
        int previousDone = 0;
        double previousEnd = 0;
        for (JsonNode event : events.subList(1, events.size() - 1)) {
            assertThat(event.path("type").asString()).isEqualTo("transcript.text.delta");
            assertThat(event.path("windows_done").asInt()).isBetween(previousDone, windows);
            assertThat(event.path("start").asDouble()).isGreaterThanOrEqualTo(previousEnd);
            previousDone = event.path("windows_done").asInt();
            previousEnd = event.path("end").asDouble();
        }
        assertThat(previousDone).isEqualTo(windows);
        assertThat(events.getLast().path("type").asString()).isEqualTo("transcript.text.done");
        assertThat(events.getLast().path("usage").path("seconds").asDouble()).isBetween(170.0, 200.0);
    }

    @Test
    void mp3AndFlacOfAClip_giveTheWavsText() throws Exception {
        Path wav = clips.get(1).wav();
        Path flac = directory.resolve("clip.flac");
        SpeechFixtures.run("flac", "--silent", "-f", "-o", flac.toString(), wav.toString());
        Path mp3 = directory.resolve("clip.mp3");
        SpeechFixtures.run("lame", "--quiet", "-b", "128", wav.toString(), mp3.toString());
        List<String> words = SpeechFixtures.words(client.audio().transcriptions().create(params(wav,
                AudioResponseFormat.JSON)).asTranscription().text());
        for (Path other : List.of(flac, mp3)) {
            assertThat(SpeechFixtures.words(client.audio().transcriptions().create(params(other,
                    AudioResponseFormat.JSON)).asTranscription().text())).as(other.getFileName().toString())
                    .isEqualTo(words);
        }
    }

    @Test
    void badAudio_is400NamingTheProblem() throws IOException {
        byte[] clip = Files.readAllBytes(clips.getFirst().wav());
        Map<String, byte[]> cases = new LinkedHashMap<>();
        cases.put("garbage", "this is not audio at all, just some text in a file".getBytes(StandardCharsets.UTF_8));
        cases.put("empty", new byte[0]);
        cases.put("truncated", java.util.Arrays.copyOf(clip, clip.length / 3));
        for (Map.Entry<String, byte[]> bad : cases.entrySet()) {
            assertThatThrownBy(() -> client.audio().transcriptions().create(TranscriptionCreateParams.builder()
                    .file(bad.getValue()).model(MODEL).build())).as(bad.getKey())
                    .isInstanceOf(BadRequestException.class)
                    .satisfies(e -> assertThat(((BadRequestException) e).param()).contains("file"));
        }
        Http.Reply french = http.postForm("/v1/audio/transcriptions", Map.of("model", MODEL, "language", "fr"),
                List.of(clip));
        assertThat(french.status()).isEqualTo(400);
        assertThat(french.json().path("error").path("param").asString()).isEqualTo("language");
        Http.Reply translation = http.postForm("/v1/audio/translations", Map.of("model", MODEL), List.of(clip));
        assertThat(translation.status()).isEqualTo(400);
        assertThat(translation.json().path("error").path("message").asString()).contains("English-only");
        Http.Reply unknownField = http.postForm("/v1/audio/transcriptions", Map.of("model", MODEL, "colour", "blue"),
                List.of(clip));
        assertThat(unknownField.status()).isEqualTo(400);
        Http.Reply noFile = http.postForm("/v1/audio/transcriptions", Map.of("model", MODEL), List.of());
        assertThat(noFile.status()).isEqualTo(400);
    }

    @Test
    void invoice_showsTheSecondsOfAudio() throws IOException {
        dev.atrium.testing.Tenants tenants = new dev.atrium.testing.Tenants(http);
        String tenant = tenants.tenant("listeners");
        Http member = http.withKey(tenants.key(tenant, "member").secret());
        assertThat(http.postJson("/admin/prices", Map.of("model", MODEL, "per_audio_second", "0.0001",
                "currency", "USD")).status()).isEqualTo(201);
        byte[] clip = Files.readAllBytes(clips.getFirst().wav());
        Http.Reply reply = member.postForm("/v1/audio/transcriptions", Map.of("model", MODEL), List.of(clip));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        double seconds = reply.json().path("usage").path("seconds").asDouble();
        assertThat(seconds).isCloseTo((clip.length - 44) / 32_000.0, org.assertj.core.data.Offset.offset(0.01));
        JsonNode invoice = http.get("/admin/invoices?tenant=" + tenant + "&month="
                + YearMonth.now(ZoneOffset.UTC)).json();
        JsonNode line = invoice.path("lines").get(0);
        assertThat(line.path("meter").asString()).isEqualTo("audio_seconds");
        assertThat(new java.math.BigDecimal(line.path("quantity").asString()).doubleValue())
                .isCloseTo(seconds, org.assertj.core.data.Offset.offset(0.001));
        assertThat(new java.math.BigDecimal(line.path("amount").asString())).isEqualByComparingTo(
                new java.math.BigDecimal(line.path("quantity").asString()).multiply(new java.math.BigDecimal("0.0001")));
    }

}
