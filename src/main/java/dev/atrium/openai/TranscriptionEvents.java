package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.engine.Transcript;
import dev.atrium.engine.TranscriptionProgress;
import dev.atrium.server.Json;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A streamed transcription as OpenAI streams them: server-sent events, a {@code transcript.text.delta} per segment
 * as soon as the windows before it are done, then one {@code transcript.text.done} with the whole text and the
 * usage. Atrium adds to each delta where its segment lies ({@code start}, {@code end}) and how far the model is
 * ({@code windows_done} of {@code windows}), which clients that do not know them skip. The stream begins with the
 * first window planned; a failure after that ends it with an {@code error} event.
 */
final class TranscriptionEvents implements TranscriptionProgress {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.UTF_8);

    private final ServerResponse response;
    private OutputStream out;

    TranscriptionEvents(ServerResponse response) {
        this.response = response;
    }

    boolean begun() {
        return out != null;
    }

    @Override
    public void planned(int windows) {
        response.status(Status.OK_200);
        response.header(HeaderValues.create("Content-Type", "text/event-stream; charset=utf-8"));
        response.header(HeaderValues.create("Cache-Control", "no-cache"));
        out = response.outputStream();
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", "transcript.text.delta");
        event.put("delta", "");
        event.put("windows_done", 0);
        event.put("windows", windows);
        write(event);
    }

    @Override
    public void segment(Transcript.Segment segment, int windowsDone, int windows) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", "transcript.text.delta");
        event.put("delta", (segment.id() == 0 ? "" : " ") + segment.text());
        event.put("start", segment.start());
        event.put("end", segment.end());
        event.put("windows_done", windowsDone);
        event.put("windows", windows);
        write(event);
    }

    void done(String text, double audioSeconds) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", "transcript.text.done");
        event.put("text", text);
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("type", "duration");
        usage.put("seconds", audioSeconds);
        event.put("usage", usage);
        write(event);
        close();
    }

    /** The model failed after the stream began: an error event, in OpenAI's error shape, ends it. */
    void failed(AtriumException failure) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", failure.getMessage());
        error.put("type", failure.code().openAiType());
        error.put("code", failure.code().openAiCode());
        try {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", "error");
            event.put("error", error);
            write(event);
            close();
        } catch (UncheckedIOException gone) {
            // the client left as well
        }
    }

    private void write(Object event) {
        try {
            out.write(DATA);
            out.write(Json.MAPPER.writeValueAsBytes(event));
            out.write(EVENT_END);
            out.flush();
        } catch (IOException | RuntimeException e) {
            // the server's own exceptions for a closed connection are unchecked
            throw e instanceof UncheckedIOException unchecked ? unchecked
                    : new UncheckedIOException("the client went away", e instanceof IOException io ? io
                            : new IOException(e.getMessage(), e));
        }
    }

    private void close() {
        try {
            out.close();
        } catch (IOException | RuntimeException e) {
            throw e instanceof UncheckedIOException unchecked ? unchecked
                    : new UncheckedIOException("the client went away", e instanceof IOException io ? io
                            : new IOException(e.getMessage(), e));
        }
    }
}
