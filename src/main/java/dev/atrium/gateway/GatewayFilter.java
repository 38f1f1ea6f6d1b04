package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditTrail;
import dev.atrium.console.ConsoleSessions;
import dev.atrium.observe.AtriumMetrics;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.KeySecrets;
import dev.atrium.tenancy.Tenancy;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The gateway in front of every endpoint but the health checks: authenticates the key
 * ({@code Authorization: Bearer}, or {@code api-key}), binds the {@link Caller}, admits model calls through the
 * {@link RateLimiter} with OpenAI's {@code x-ratelimit-*} headers, and appends management actions to the audit
 * log, and authentication failures counted and sampled (a row per source address per minute, see
 * {@link AuthenticationFailures}).
 *
 * <p>A signed-in console ({@link ConsoleSessions}) authenticates with its session cookie instead: the session's key
 * is looked up on every request (a revoked or expired key ends its sessions at once), and every call but GET and
 * HEAD must carry the session's CSRF token in {@code X-CSRF-Token} (403 otherwise). A request with a key in its
 * headers is judged by the key alone. {@code /console} itself (its files and its sign-in) needs no key.
 *
 * <p>Every authentication failure gets the same 401, whatever was wrong with the key, so that a probe learns
 * nothing about which keys exist.
 */
public final class GatewayFilter implements Filter, AutoCloseable {
    public static final String UNAUTHENTICATED_MESSAGE =
            "missing or invalid API key: send it as 'Authorization: Bearer atr-...'";
    private static final HeaderName API_KEY = HeaderNames.create("api-key");
    private static final Duration FAILURE_WINDOW = Duration.ofMinutes(1);
    /** Source addresses whose failed authentications are being counted at once, at most. */
    private static final int MAX_FAILING_SOURCES = 10_000;
    private static final Set<String> OPEN_PATHS = Set.of("/health", "/v2/health/live", "/v2/health/ready");

    private final Tenancy tenancy;
    private final ConsoleSessions sessions;
    private final RateLimiter limiter;
    private final AuditLog audit;
    private final AtriumMetrics metrics;
    private final boolean metricsOpen;
    private final Clock clock;
    private final AuthenticationFailures failures;
    private final Thread ticker;

    /**
     * @param metricsOpen whether {@code /metrics} needs no key (otherwise it needs a platform admin key)
     */
    public GatewayFilter(Tenancy tenancy, ConsoleSessions sessions, RateLimiter limiter, AuditLog audit,
            AtriumMetrics metrics, boolean metricsOpen, Clock clock) {
        this(tenancy, sessions, limiter, audit, metrics, metricsOpen, clock, FAILURE_WINDOW);
    }

    /** @param failureWindow how long one audit row of failed authentications from one address counts them */
    GatewayFilter(Tenancy tenancy, ConsoleSessions sessions, RateLimiter limiter, AuditLog audit,
            AtriumMetrics metrics, boolean metricsOpen, Clock clock, Duration failureWindow) {
        this.tenancy = requireNonNull(tenancy, "tenancy is null");
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.limiter = requireNonNull(limiter, "limiter is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.metricsOpen = metricsOpen;
        this.clock = requireNonNull(clock, "clock is null");
        this.failures = new AuthenticationFailures(audit, metrics, clock, failureWindow, MAX_FAILING_SOURCES);
        this.ticker = Thread.ofPlatform().name("auth-failure-windows").daemon(true).start(this::tick);
    }

    private void tick() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            failures.closeExpired();
        }
    }

    /** Writes the counts of the open windows of failed authentications; before the audit log closes. */
    @Override
    public void close() {
        ticker.interrupt();
        try {
            ticker.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        failures.close();
    }

    /**
     * Counts a failed sign-in made elsewhere (the console's) as the gateway counts its own failures: in the metric
     * and the audit log's per-source rows, by the key's prefix when it was well formed.
     */
    public void signInFailed(String secret, String target, String source) {
        failures.failed(Optional.ofNullable(secret).filter(KeySecrets::isWellFormed).map(KeySecrets::prefix)
                .orElse(null), target, source);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String path = request.path().absolute().path();
        long start = System.nanoTime();
        response.whenSent(() -> metrics.request(endpoint(path), response.status().code(), System.nanoTime() - start));
        if (OPEN_PATHS.contains(path) || (metricsOpen && path.equals("/metrics")) || path.equals("/console")
                || path.startsWith("/console/")) {
            chain.proceed();
            return;
        }
        Method method = request.prologue().method();
        Optional<String> secret = secret(request);
        Optional<ApiKey> key;
        Optional<ConsoleSessions.Session> session = secret.isEmpty() ? sessions.of(request.headers())
                : Optional.empty();
        if (session.isPresent()) {
            key = tenancy.activeKey(session.get().keyId());
            if (key.isPresent() && !method.equals(Method.GET) && !method.equals(Method.HEAD)
                    && !ConsoleSessions.csrfMatches(session.get(), request.headers())) {
                throw new AtriumException(ErrorCode.PERMISSION_DENIED, "a call made with a console session must"
                        + " carry the session's CSRF token in " + ConsoleSessions.CSRF_HEADER);
            }
        } else {
            key = secret.flatMap(tenancy::authenticate);
        }
        if (key.isEmpty()) {
            failures.failed(secret.filter(KeySecrets::isWellFormed).map(KeySecrets::prefix).orElse(null),
                    request.prologue().method().text() + " " + path, source(request));
            throw new AtriumException(ErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE);
        }
        Caller caller = new Caller(key.get(), tenancy.tenantOf(key.get()));
        ScopedValue.Carrier scope = ScopedValue.where(Caller.CURRENT, caller);

        if (path.startsWith("/admin/") && !method.equals(Method.GET) && !method.equals(Method.HEAD)) {
            AuditTrail trail = new AuditTrail(method.text().toLowerCase(Locale.ROOT) + " " + path, path,
                    caller.key().tenantId());
            scope = scope.where(AuditTrail.CURRENT, trail);
            response.beforeSend(() -> {
                int status = response.status().code();
                audit.record(new AuditEvent(0, clock.instant(), caller.key().id(), caller.key().prefix(),
                        trail.tenantId(), trail.action(), trail.target(), source(request), AuditEvent.outcome(status),
                        status));
            });
        }

        if (!path.startsWith("/v1/") && !path.startsWith("/v2/")) {
            scope.run(chain::proceed);
            return;
        }
        RateLimiter.Permit permit;
        try {
            permit = limiter.admit(caller);
        } catch (AtriumException e) {
            metrics.refused("rate_limit");
            throw e;
        }
        try {
            // written as the response goes out, error or not, so they count the tokens the request took; over
            // HTTP/2 Helidon has already taken the headers by then, so they are also written now, at admission
            setHeaders(response, permit.status());
            response.beforeSend(() -> {
                if (!response.isSent()) {
                    setHeaders(response, permit.status());
                }
            });
            scope.where(Admission.PERMIT, permit).run(chain::proceed);
        } catch (AtriumException e) {
            if (e.code() == ErrorCode.RATE_LIMITED_TOKENS) {
                metrics.refused("rate_limit");
            }
            throw e;
        } finally {
            permit.close();
        }
    }

    /** A low-cardinality name for a path: model names, ids and unknown paths are folded. */
    static String endpoint(String path) {
        if (path.startsWith("/v2/models/")) {
            return path.endsWith("/infer") ? "/v2/models/{model}/infer"
                    : path.endsWith("/ready") ? "/v2/models/{model}/ready" : "/v2/models/{model}";
        }
        if (path.startsWith("/v1/models/")) {
            return "/v1/models/{model}";
        }
        if (path.startsWith("/admin/")) {
            int next = path.indexOf('/', "/admin/".length());
            return next < 0 ? path : path.substring(0, next) + "/{id}";
        }
        return switch (path) {
            case "/v1/models", "/v1/embeddings", "/v1/chat/completions", "/v1/completions", "/v1/usage",
                 "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/classifications", "/v1/predictions", "/v2",
                 "/v2/health/live", "/v2/health/ready", "/health", "/metrics" -> path;
            default -> "other";
        };
    }

    private static void setHeaders(RoutingResponse response, RateLimitStatus status) {
        for (Map.Entry<String, String> header : status.headers()) {
            response.header(header.getKey(), header.getValue());
        }
    }

    private static Optional<String> secret(RoutingRequest request) {
        Optional<String> authorization = request.headers().first(HeaderNames.AUTHORIZATION);
        if (authorization.isPresent()) {
            String value = authorization.get().strip();
            if (value.length() > 7 && value.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return Optional.of(value.substring(7).strip());
            }
            return Optional.empty();
        }
        return request.headers().first(API_KEY).map(String::strip);
    }

    private static String source(RoutingRequest request) {
        try {
            return request.remotePeer().host();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
