package dev.atrium.engine.remote;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingEngine;
import dev.atrium.engine.EmbeddingInput;
import dev.atrium.engine.ForwardedAnswer;
import dev.atrium.engine.ForwardedRequest;
import dev.atrium.engine.ForwardingEngine;
import dev.atrium.engine.RunContext;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.node.ObjectNode;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.engine.PreparedEmbedding;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.engine.VersionKey;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Remote models: requests go to an OpenAI-compatible upstream, with the model's API key, under its timeout and
 * retry policy (backoff on connection errors, 429 and 5xx, never sooner than the upstream's {@code Retry-After}).
 * Upstream answers are untrusted: they are read with size limits and deadlines on threads of their own, so a
 * stalled, malformed or broken answer ends in a clean error and its connection is closed, never leaked.
 * The engine knows where a model sends requests, never who asked or what it costs.
 */
public final class RemoteEngine implements EmbeddingEngine, ForwardingEngine {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteEngine.class);
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    static final int MAX_ANSWER_BYTES = 64 * 1024 * 1024;
    private static final int MAX_ERROR_BYTES = 64 * 1024;
    private static final int MAX_MESSAGE_CHARS = 300;
    /** Start and end tokens a tokenizer may add to each input. */
    private static final int SPECIAL_TOKENS_PER_INPUT = 4;
    /** The most an image, audio or file part of a message is taken to cost in prompt tokens. */
    static final int TOKENS_PER_MEDIA_PART = 8192;

    private final HttpClient client;
    /** Reads upstream bodies, so that a read can be given up on at a deadline. */
    private final ExecutorService readers;
    private final Predicate<URI> allowed;
    private final String userAgent;
    private final AtomicInteger exchanges = new AtomicInteger();
    private final AtomicInteger reading = new AtomicInteger();

    /**
     * @param allowed whether a URL's host may be called now (the platform's list, checked on every request)
     */
    public RemoteEngine(Predicate<URI> allowed, String userAgent) {
        this.allowed = requireNonNull(allowed, "allowed is null");
        this.userAgent = requireNonNull(userAgent, "userAgent is null");
        this.readers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("atrium-upstream-", 0).factory());
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                // a redirect could lead the key anywhere: an upstream that redirects is an error
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(10))
                .executor(readers)
                .build();
    }

    /** Exchanges with upstreams now open: sending, waiting, or with a body not yet read to its end or closed. */
    public int openExchanges() {
        return exchanges.get();
    }

    /** Threads reading upstream bodies now; one that never ends would be a leaked thread. */
    public int activeReaders() {
        return reading.get();
    }

    /** Runs a read on a reader thread, counted while it runs. */
    <T> Future<T> startReading(java.util.concurrent.Callable<T> task) {
        return readers.submit(() -> {
            reading.incrementAndGet();
            try {
                return task.call();
            } finally {
                reading.decrementAndGet();
            }
        });
    }

    // ---- lifecycle: a remote model has no files and nothing to load --------------------------------------------

    @Override
    public void load(Deployment deployment) {
        // nothing to load: the upstream serves it
    }

    /** Always: a remote model holds nothing here, so it is as loaded as it can be. */
    @Override
    public boolean isLoaded(VersionKey key) {
        return true;
    }

    /** Nothing to free: a remote model holds nothing here. */
    @Override
    public boolean unload(VersionKey key) {
        return false;
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    /**
     * Counts the inputs with OpenAI's o200k encoding (for rate limits) and bounds what the upstream may count with
     * its own tokenizer: no tokenizer makes more tokens of a text than it has UTF-8 bytes, plus its special tokens.
     */
    @Override
    public PreparedEmbedding prepare(Deployment deployment, EmbeddingRequest request) {
        remote(deployment);
        long tokens = 0;
        long bound = 0;
        for (EmbeddingInput input : request.inputs()) {
            switch (input) {
                case EmbeddingInput.Text text -> {
                    tokens += TokenCounter.count(text.text());
                    bound += text.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                            + SPECIAL_TOKENS_PER_INPUT;
                }
                case EmbeddingInput.TokenIds ids -> {
                    tokens += ids.ids().length;
                    bound += ids.ids().length + SPECIAL_TOKENS_PER_INPUT;
                }
            }
        }
        return new PreparedEmbedding(deployment, request, List.of(), tokens, Math.max(tokens, bound));
    }

    @Override
    public EmbeddingResult embed(PreparedEmbedding prepared, RunContext context) {
        Deployment deployment = prepared.deployment();
        ObjectNode body = prepared.request().forward().map(ObjectNode::deepCopy)
                .orElseGet(() -> embeddingBody(prepared.request()));
        body.put("model", remote(deployment).upstreamModel());
        ForwardedAnswer reply = call(deployment, "/embeddings", JSON.writeValueAsBytes(body), context);
        JsonNode data = reply.body().get("data");
        int inputs = prepared.request().inputs().size();
        if (data == null || !data.isArray() || data.size() != inputs) {
            throw upstreamError(deployment, "an answer without one embedding per input");
        }
        List<float[]> vectors = new ArrayList<>(inputs);
        for (int i = 0; i < inputs; i++) {
            vectors.add(vector(deployment, data.get(i).get("embedding")));
        }
        JsonNode reported = reply.body().path("usage").get("prompt_tokens");
        long promptTokens = prepared.tokens();
        if (reported != null && !reported.isNull()) {
            if (!reported.isIntegralNumber() || !reported.canConvertToLong() || reported.longValue() < 0) {
                throw upstreamError(deployment, "usage that is not a token count");
            }
            promptTokens = reported.longValue();
        }
        return new EmbeddingResult(vectors, promptTokens, reply.elapsedNanos());
    }

    private static ObjectNode embeddingBody(EmbeddingRequest request) {
        ObjectNode body = JSON.createObjectNode();
        var input = body.putArray("input");
        for (EmbeddingInput item : request.inputs()) {
            switch (item) {
                case EmbeddingInput.Text text -> input.add(text.text());
                case EmbeddingInput.TokenIds ids -> {
                    var array = input.addArray();
                    for (long id : ids.ids()) {
                        array.add(id);
                    }
                }
            }
        }
        request.dimensions().ifPresent(dimensions -> body.put("dimensions", dimensions));
        return body;
    }

    /** An embedding as numbers, or as base64 of little-endian float32 (what {@code encoding_format} base64 gets). */
    private static float[] vector(Deployment deployment, JsonNode embedding) {
        if (embedding != null && embedding.isArray()) {
            float[] vector = new float[embedding.size()];
            for (int i = 0; i < vector.length; i++) {
                JsonNode value = embedding.get(i);
                if (!value.isNumber()) {
                    throw upstreamError(deployment, "an embedding with a value that is not a number");
                }
                vector[i] = value.floatValue();
            }
            return vector;
        }
        if (embedding != null && embedding.isString()) {
            byte[] bytes;
            try {
                bytes = java.util.Base64.getDecoder().decode(embedding.stringValue());
            } catch (IllegalArgumentException e) {
                throw upstreamError(deployment, "an embedding that is not base64");
            }
            if (bytes.length % Float.BYTES != 0) {
                throw upstreamError(deployment, "a base64 embedding that is not float32");
            }
            float[] vector = new float[bytes.length / Float.BYTES];
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(vector);
            return vector;
        }
        throw upstreamError(deployment, "an embedding that is neither numbers nor base64");
    }

    // ---- chat and completions -----------------------------------------------------------------------------------

    @Override
    public int countTokens(String text) {
        return TokenCounter.count(text);
    }

    @Override
    public ForwardedRequest prepare(Deployment deployment, ObjectNode body, boolean chat) {
        RemoteMetadata remote = remote(deployment);
        ObjectNode upstream = body.deepCopy();
        UpstreamBodies.Prompt prompt = chat ? UpstreamBodies.chatPrompt(upstream) : UpstreamBodies.completionPrompt(upstream);
        boolean completionField = upstream.hasNonNull("max_completion_tokens");
        int maxTokens = UpstreamBodies.maxTokens(upstream).orElse(remote.maxOutputTokens());
        int choices = UpstreamBodies.choices(upstream, chat);
        boolean stream = UpstreamBodies.bool(upstream, "stream");
        JsonNode options = upstream.get("stream_options");
        boolean includeUsage = stream && options != null && options.isObject()
                && UpstreamBodies.bool(options, "include_usage");
        upstream.put("model", remote.upstreamModel());
        // the output the request is reserved for is what the upstream is asked for: never more
        upstream.put(completionField ? "max_completion_tokens" : "max_tokens", maxTokens);
        if (stream) {
            upstream.putObject("stream_options").put("include_usage", true);
        } else {
            upstream.remove("stream_options");
        }
        byte[] bytes = JSON.writeValueAsBytes(upstream);
        long estimate = prompt.estimate();
        if (remote.contextLength() > 0 && estimate >= remote.contextLength()) {
            throw AtriumException.withParam(ErrorCode.CONTEXT_LENGTH_EXCEEDED, chat ? "messages" : "prompt",
                    "the prompt is about " + estimate + " tokens, but model '" + deployment.key().modelName()
                            + "' has a context of " + remote.contextLength() + " tokens");
        }
        // what any tokenizer can make of everything sent (tools and schemas count), plus what media can cost
        long bound = bytes.length + (long) prompt.mediaParts() * TOKENS_PER_MEDIA_PART;
        if (remote.contextLength() > 0) {
            bound = Math.min(bound, remote.contextLength());
        }
        return new ForwardedRequest(chat ? "/chat/completions" : "/completions", bytes, chat, stream, includeUsage,
                estimate, Math.max(estimate, bound), (long) maxTokens * choices);
    }

    @Override
    public ForwardedAnswer call(Deployment deployment, ForwardedRequest request, RunContext context) {
        return call(deployment, request.path(), request.body(), context);
    }

    /**
     * Sends a request and reads the whole JSON answer.
     *
     * @param path the API path under the base URL, e.g. {@code /chat/completions}
     * @throws AtriumException {@code UPSTREAM_*} codes when the upstream fails, 400 when it refuses the request
     */
    private ForwardedAnswer call(Deployment deployment, String path, byte[] body, RunContext context) {
        long started = System.nanoTime();
        RemoteMetadata remote = remote(deployment);
        Opened opened = exchange(deployment, path, body, false, context);
        HttpResponse<InputStream> response = opened.response();
        try {
            // the whole answer, headers and body, within one timeout of the attempt that got it and the call's deadline
            long attemptDeadline = opened.attemptStartedNanos() + TimeUnit.MILLISECONDS.toNanos(remote.timeoutMillis());
            long deadline = Math.min(attemptDeadline, context.deadlineNanos());
            byte[] bytes;
            try {
                bytes = read(response.body(), MAX_ANSWER_BYTES, deadline, deployment);
            } catch (AtriumException e) {
                throw e.code() == ErrorCode.UPSTREAM_TIMEOUT && deadline < attemptDeadline ? callDeadline(deployment) : e;
            }
            if (bytes.length > MAX_ANSWER_BYTES) {
                throw upstreamError(deployment, "an answer larger than " + MAX_ANSWER_BYTES + " bytes");
            }
            JsonNode node;
            try {
                node = JSON.readTree(bytes);
            } catch (JacksonException e) {
                throw upstreamError(deployment, "an answer that is not JSON");
            }
            if (node == null || !node.isObject()) {
                throw upstreamError(deployment, "an answer that is not a JSON object");
            }
            return new ForwardedAnswer((ObjectNode) node, System.nanoTime() - started);
        } finally {
            closeQuietly(response.body());
            exchanges.decrementAndGet();
        }
    }

    /**
     * Sends a streaming request and returns its events as they come. The caller must close the stream.
     *
     * @throws AtriumException as {@link #call} when the stream cannot be opened
     */
    @Override
    public UpstreamStream stream(Deployment deployment, ForwardedRequest request, RunContext context) {
        long started = System.nanoTime();
        RemoteMetadata remote = remote(deployment);
        HttpResponse<InputStream> response = exchange(deployment, request.path(), request.body(), true, context)
                .response();
        String type = response.headers().firstValue("Content-Type").orElse("");
        if (!type.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream")) {
            closeQuietly(response.body());
            exchanges.decrementAndGet();
            throw upstreamError(deployment, "a " + (type.isEmpty() ? "body without a type" : "'" + type + "' body")
                    + " to a streaming request");
        }
        return new UpstreamStream(response.body(), this, Duration.ofMillis(remote.timeoutMillis()), started,
                context.deadlineNanos(), deployment.key().modelName(), exchanges::decrementAndGet);
    }

    /** An upstream answer whose status is 2xx, its body not read yet. */
    private record Opened(HttpResponse<InputStream> response, long attemptStartedNanos) {}

    /**
     * Opens an exchange that answers 2xx, retrying as the model's policy allows; counts it open. The caller reads
     * and closes the body, then decrements the count.
     */
    private Opened exchange(Deployment deployment, String path, byte[] body, boolean stream, RunContext context) {
        RemoteMetadata remote = remote(deployment);
        URI uri = URI.create(remote.baseUrl() + path);
        if (!allowed.test(uri)) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "the upstream host of model '"
                    + deployment.key().modelName() + "' is not on the platform's list of allowed upstream hosts");
        }
        for (int attempt = 1; ; attempt++) {
            long left = context.remainingNanos();
            if (left <= 0) {
                throw callDeadline(deployment);
            }
            // the model's timeout, or what is left of the call's deadline if that comes first
            boolean cutByCall = left < TimeUnit.MILLISECONDS.toNanos(remote.timeoutMillis());
            HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                    .timeout(cutByCall ? Duration.ofNanos(Math.max(left, 1_000_000))
                            : Duration.ofMillis(remote.timeoutMillis()))
                    .header("Content-Type", "application/json")
                    .header("Accept", stream ? "text/event-stream" : "application/json")
                    .header("User-Agent", userAgent)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body));
            deployment.upstreamKey().ifPresent(key -> request.header("Authorization", "Bearer " + key.reveal()));
            long attemptStarted = System.nanoTime();
            long deadline = attemptStarted + TimeUnit.MILLISECONDS.toNanos(remote.timeoutMillis());
            AtriumException failure;
            OptionalLong retryAfter = OptionalLong.empty();
            exchanges.incrementAndGet();
            context.accepted().run();
            try {
                HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return new Opened(response, attemptStarted);
                }
                retryAfter = retryAfterMillis(response.headers());
                String detail = errorDetail(response, deadline, deployment);
                if (status == 429) {
                    failure = AtriumException.retryable(ErrorCode.UPSTREAM_RATE_LIMITED, "the upstream of model '"
                            + deployment.key().modelName() + "' is rate limiting requests",
                            seconds(retryAfter.orElse(1000)));
                } else if (status >= 500 || status == 408) {
                    failure = upstreamError(deployment, "status " + status + detail);
                } else {
                    exchanges.decrementAndGet();
                    throw refused(deployment, status, detail);
                }
            } catch (HttpConnectTimeoutException e) {
                failure = upstreamError(deployment, "no connection within 10 s");
            } catch (HttpTimeoutException e) {
                // it may still be working on the request: no retry, which could do the work twice
                exchanges.decrementAndGet();
                throw cutByCall ? callDeadline(deployment) : timeout(deployment);
            } catch (IOException e) {
                failure = upstreamError(deployment, "a failed connection (" + e.getClass().getSimpleName() + ")");
            } catch (InterruptedException e) {
                exchanges.decrementAndGet();
                Thread.currentThread().interrupt();
                throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
            }
            exchanges.decrementAndGet();
            long backoff = backoffMillis(remote, attempt);
            if (attempt >= remote.maxAttempts() || retryAfter.orElse(0) > remote.maxBackoffMillis()) {
                LOG.warn("model {}: upstream failed after {} attempt(s): {}", deployment.key().modelName(), attempt,
                        failure.getMessage());
                throw failure;
            }
            long wait = Math.max(backoff, retryAfter.orElse(0));
            if (TimeUnit.MILLISECONDS.toNanos(wait) >= context.remainingNanos()) {
                LOG.warn("model {}: upstream failed ({}); no time left in the call for a retry",
                        deployment.key().modelName(), failure.getMessage());
                throw failure;
            }
            LOG.info("model {}: upstream attempt {} failed ({}); retrying in {} ms", deployment.key().modelName(),
                    attempt, failure.getMessage(), wait);
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure;
            }
        }
    }

    /** Exponential backoff with jitter: between half and all of {@code initial × 2^(attempt-1)}, capped. */
    static long backoffMillis(RemoteMetadata remote, int attempt) {
        long full = Math.min(remote.maxBackoffMillis(), remote.initialBackoffMillis() << Math.min(attempt - 1, 30));
        return full / 2 + ThreadLocalRandom.current().nextLong(full / 2 + 1);
    }

    /** {@code Retry-After} in seconds or as an HTTP date, in milliseconds from now. */
    static OptionalLong retryAfterMillis(HttpHeaders headers) {
        return headers.firstValue("Retry-After").map(String::strip).map(value -> {
            if (value.matches("[0-9]{1,9}")) {
                return OptionalLong.of(Long.parseLong(value) * 1000);
            }
            try {
                long millis = Duration.between(ZonedDateTime.now(),
                        ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME)).toMillis();
                return OptionalLong.of(Math.max(0, millis));
            } catch (DateTimeParseException e) {
                return OptionalLong.empty();
            }
        }).orElse(OptionalLong.empty());
    }

    private static int seconds(long millis) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (millis + 999) / 1000));
    }

    /** The upstream's own error message, if it sent one in OpenAI's shape, for the log and (on 400) the client. */
    private String errorDetail(HttpResponse<InputStream> response, long deadline, Deployment deployment) {
        byte[] bytes;
        try {
            bytes = read(response.body(), MAX_ERROR_BYTES, deadline, deployment);
        } catch (AtriumException e) {
            return "";
        } finally {
            closeQuietly(response.body());
        }
        try {
            JsonNode node = JSON.readTree(bytes);
            JsonNode message = node == null ? null : node.path("error").path("message");
            if (message != null && message.isString()) {
                String text = message.stringValue().replaceAll("\\p{Cntrl}", " ").strip();
                String secret = deployment.upstreamKey().map(key -> key.reveal()).orElse(null);
                if (secret != null && !secret.isEmpty()) {
                    text = text.replace(secret, "[secret]");
                }
                return text.isEmpty() ? "" : ": " + (text.length() > MAX_MESSAGE_CHARS
                        ? text.substring(0, MAX_MESSAGE_CHARS) + "..." : text);
            }
        } catch (JacksonException e) {
            // not JSON: nothing to pass on
        }
        return "";
    }

    /** A 4xx other than 408 and 429: the request itself was refused, which no retry or fallback changes. */
    private static AtriumException refused(Deployment deployment, int status, String detail) {
        String model = deployment.key().modelName();
        return switch (status) {
            case 400, 413, 422 -> AtriumException.withParam(ErrorCode.INVALID_REQUEST, null,
                    "the upstream of model '" + model + "' refused the request (" + status + ")" + detail);
            case 401, 403 -> new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + model
                    + "' refused the model's credentials (" + status + "); the model's owner must fix its api_key");
            default -> new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + model
                    + "' answered " + status + detail);
        };
    }

    static AtriumException upstreamError(Deployment deployment, String what) {
        return new AtriumException(ErrorCode.UPSTREAM_ERROR, "the upstream of model '" + deployment.key().modelName()
                + "' failed: " + what);
    }

    /** The call's own deadline came before the upstream answered. */
    static AtriumException callDeadline(Deployment deployment) {
        return new AtriumException(ErrorCode.DEADLINE_EXCEEDED, "model '" + deployment.key().modelName()
                + "' did not answer within the call's deadline");
    }

    private static AtriumException timeout(Deployment deployment) {
        return new AtriumException(ErrorCode.UPSTREAM_TIMEOUT, "the upstream of model '"
                + deployment.key().modelName() + "' did not answer within "
                + remote(deployment).timeoutMillis() + " ms");
    }

    /**
     * Reads at most {@code limit + 1} bytes before the deadline, on a reader thread: a read past the deadline is
     * given up (the reader is interrupted, which closes the body and its connection).
     */
    private byte[] read(InputStream in, int limit, long deadline, Deployment deployment) {
        Future<byte[]> read = startReading(() -> in.readNBytes(limit + 1));
        try {
            return read.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            read.cancel(true);
            closeQuietly(in);
            throw timeout(deployment);
        } catch (ExecutionException e) {
            closeQuietly(in);
            throw upstreamError(deployment, "the connection broke while it answered");
        } catch (InterruptedException e) {
            read.cancel(true);
            closeQuietly(in);
            Thread.currentThread().interrupt();
            throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the request was interrupted", 1);
        }
    }

    static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // closing a broken stream: nothing more to do
        }
    }

    private static RemoteMetadata remote(Deployment deployment) {
        return deployment.metadata().remoteMetadata().orElseThrow(() -> new IllegalStateException(
                "model " + deployment.key().modelName() + " is not a remote model"));
    }

    /** Closes every upstream connection and stops the reader threads. */
    @Override
    public void close() {
        readers.shutdownNow();
        client.shutdownNow();
        try {
            if (!client.awaitTermination(Duration.ofSeconds(5))) {
                LOG.warn("the upstream HTTP client did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
