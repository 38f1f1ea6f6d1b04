package dev.atrium.engine.remote;

import dev.atrium.engine.ForwardedStream;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * An upstream's server-sent events, one JSON chunk at a time. A reader thread parses the body into a small
 * bounded queue (so a slow client slows the upstream rather than filling memory); the caller takes chunks with
 * the model's timeout. A stall, a malformed chunk, a line too long or a broken connection ends the stream with a
 * clean error; {@link #close} closes the body and its connection, whatever state the reader is in.
 */
public final class UpstreamStream implements ForwardedStream {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final int MAX_EVENT_BYTES = 4 * 1024 * 1024;
    private static final Object DONE = new Object();
    private static final Object END_OF_BODY = new Object();

    private final InputStream body;
    private final Duration timeout;
    private final long startedNanos;
    private final String model;
    private final Runnable onClose;
    private final BlockingQueue<Object> events = new ArrayBlockingQueue<>(64);
    private final Future<?> reader;
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean sawDone;
    private boolean ended;

    /** {@link System#nanoTime()} past which the call that reads the stream is cut. */
    private final long callDeadlineNanos;

    UpstreamStream(InputStream body, RemoteEngine engine, Duration timeout, long startedNanos, long callDeadlineNanos,
            String model, Runnable onClose) {
        this.callDeadlineNanos = callDeadlineNanos;
        this.body = body;
        this.timeout = timeout;
        this.startedNanos = startedNanos;
        this.model = model;
        this.onClose = onClose;
        this.reader = engine.startReading(() -> {
            read();
            return null;
        });
    }

    /**
     * The next chunk, waiting at most the model's timeout.
     *
     * @return null at the end of the stream (see {@link #sawDone})
     * @throws AtriumException {@code UPSTREAM_TIMEOUT} when nothing came in time, {@code UPSTREAM_ERROR} for a
     *     malformed chunk or a broken connection; the stream is closed then
     */
    public JsonNode next() {
        if (ended) {
            return null;
        }
        Object event;
        try {
            event = events.poll(Math.min(timeout.toNanos(), Math.max(0, callDeadlineNanos - System.nanoTime())),
                    TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
        }
        if (event == null && callDeadlineNanos - System.nanoTime() <= 0) {
            close();
            throw new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "the stream of model '" + model
                    + "' did not finish within the call's deadline");
        }
        if (event == null) {
            close();
            throw new AtriumException(ErrorCode.UPSTREAM_TIMEOUT, "the upstream of model '" + model
                    + "' sent nothing for " + timeout.toMillis() + " ms");
        }
        if (event == DONE || event == END_OF_BODY) {
            ended = true;
            sawDone = event == DONE;
            close();
            return null;
        }
        if (event instanceof AtriumException failure) {
            close();
            throw failure;
        }
        JsonNode chunk;
        try {
            chunk = JSON.readTree((String) event);
        } catch (JacksonException e) {
            chunk = null;
        }
        if (chunk == null || !chunk.isObject()) {
            close();
            throw failure("a malformed chunk");
        }
        return chunk;
    }

    /** Whether the stream ended with {@code data: [DONE]}, rather than just stopping. */
    public boolean sawDone() {
        return sawDone;
    }

    public long elapsedNanos() {
        return System.nanoTime() - startedNanos;
    }

    /** Stops reading and closes the connection; safe to call more than once. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        reader.cancel(true);
        RemoteEngine.closeQuietly(body);
        onClose.run();
    }

    private AtriumException failure(String what) {
        return new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + model + "' failed: " + what);
    }

    /** The reader: splits the body into lines and events, and queues each event's data. */
    private void read() {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        StringBuilder data = null;
        byte[] buffer = new byte[8192];
        try {
            while (true) {
                int n = body.read(buffer);
                if (n < 0) {
                    if (data != null) {
                        events.put(data.toString());
                    }
                    events.put(END_OF_BODY);
                    return;
                }
                for (int i = 0; i < n; i++) {
                    byte b = buffer[i];
                    if (b != '\n') {
                        line.write(b);
                        if (line.size() > MAX_EVENT_BYTES) {
                            events.put(failure("a line longer than " + MAX_EVENT_BYTES + " bytes"));
                            return;
                        }
                        continue;
                    }
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    if (text.endsWith("\r")) {
                        text = text.substring(0, text.length() - 1);
                    }
                    if (text.isEmpty()) {
                        if (data != null) {
                            if (data.toString().equals("[DONE]")) {
                                events.put(DONE);
                                return;
                            }
                            events.put(data.toString());
                            data = null;
                        }
                    } else if (text.startsWith("data:")) {
                        String value = text.substring(text.startsWith("data: ") ? 6 : 5);
                        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                        if (data.length() > MAX_EVENT_BYTES) {
                            events.put(failure("an event larger than " + MAX_EVENT_BYTES + " bytes"));
                            return;
                        }
                    }
                    // comments (':'), 'event:', 'id:' and 'retry:' lines carry nothing an OpenAI stream needs
                }
            }
        } catch (IOException e) {
            if (!closed.get()) {
                events.offer(failure("the connection broke mid-stream"));
            }
        } catch (InterruptedException e) {
            // closed by the caller
        }
    }
}
