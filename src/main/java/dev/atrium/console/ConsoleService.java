package dev.atrium.console;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.gateway.GatewayFilter;
import dev.atrium.server.Json;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.Tenancy;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * The web console at {@code /console}: its files, served from the jar with a strict Content-Security-Policy (no
 * inline script, nothing from elsewhere), and its sign-in, which turns an API key into a session
 * ({@link ConsoleSessions}): the browser gets an HttpOnly, SameSite=Strict cookie (Secure over TLS) and a CSRF
 * token, never the key. Everything else the console does goes through the public {@code /admin} and {@code /v1}
 * APIs, with the key's own role.
 */
public final class ConsoleService implements HttpService {
    /** Every response of the console: its own files only, no framing, no sniffing, no referrer. */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; form-action 'self';"
            + " frame-ancestors 'none'; object-src 'none'";
    private static final long MAX_SIGN_IN_BYTES = 4096;
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml");
    /** The console's files by the name they are served under, and where they are on the class path. */
    static final Map<String, String> FILES = files();

    private static Map<String, String> files() {
        Map<String, String> files = new LinkedHashMap<>();
        for (String name : List.of("index.html", "console.css", "app.js", "api.js", "keys.js", "usage.js",
                "invoices.js", "audit.js", "jobs.js", "overview.js", "models.js", "tenants.js")) {
            files.put(name, "/console/" + name);
        }
        // uPlot, from its WebJar
        String uplot = "/META-INF/resources/webjars/uplot/1.6.30/dist/";
        files.put("lib/uPlot.esm.js", uplot + "uPlot.esm.js");
        files.put("lib/uPlot.min.css", uplot + "uPlot.min.css");
        return java.util.Collections.unmodifiableMap(files);
    }

    private final Tenancy tenancy;
    private final ConsoleSessions sessions;
    private final AuditLog audit;
    private final Clock clock;
    private final boolean tls;
    private final GatewayFilter gateway;
    private final Map<String, byte[]> files = new LinkedHashMap<>();

    /**
     * @param tls whether the server is reached over TLS (then the cookie is Secure)
     * @param gateway where failed sign-ins are counted, as the gateway counts its own
     */
    public ConsoleService(Tenancy tenancy, ConsoleSessions sessions, AuditLog audit, Clock clock, boolean tls,
            GatewayFilter gateway) {
        this.tenancy = requireNonNull(tenancy, "tenancy is null");
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.tls = tls;
        this.gateway = requireNonNull(gateway, "gateway is null");
        for (Map.Entry<String, String> file : FILES.entrySet()) {
            try (InputStream in = ConsoleService.class.getResourceAsStream(file.getValue())) {
                if (in == null) {
                    throw new IllegalStateException("the console file " + file.getValue() + " is not on the class"
                            + " path");
                }
                files.put(file.getKey(), in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (request, response) -> file("index.html", response))
                .post("/session", this::signIn)
                .get("/session", this::current)
                .delete("/session", this::signOut)
                .get("/lib/{file}", (request, response) -> file("lib/" + request.path().pathParameters().get("file"),
                        response))
                .get("/{file}", (request, response) -> file(request.path().pathParameters().get("file"), response));
    }

    /** What the console knows of its session: the key's identity and role, the CSRF token, and the session's end. */
    record SessionView(String csrfToken, Instant expiresAt, KeyView key) {}

    record KeyView(String id, String name, String prefix, String role, String tenant) {
        static KeyView of(ApiKey key) {
            return new KeyView(key.id(), key.name(), key.prefix(), key.role().wireName(), key.tenantId());
        }
    }

    private void signIn(ServerRequest request, ServerResponse response) {
        secure(response);
        JsonNode body = Json.readObject(request, MAX_SIGN_IN_BYTES);
        Json.rejectUnknownFields(body, List.of("key"), "a sign-in");
        Optional<String> secret = Json.optionalString(body, "key");
        Optional<ApiKey> key = secret.flatMap(tenancy::authenticate);
        if (key.isEmpty()) {
            gateway.signInFailed(secret.orElse(null), "POST /console/session", source(request));
            throw new AtriumException(ErrorCode.UNAUTHENTICATED, GatewayFilter.UNAUTHENTICATED_MESSAGE);
        }
        ConsoleSessions.Started started = sessions.start(key.get().id());
        record(key.get(), "console.sign_in", request, 200);
        response.header(HeaderNames.SET_COOKIE, ConsoleSessions.setCookie(started.id(), ConsoleSessions.LIFETIME,
                secureCookie(request)));
        Json.send(response, Status.OK_200, new SessionView(started.session().csrfToken(),
                started.session().expiresAt(), KeyView.of(key.get())));
    }

    private void current(ServerRequest request, ServerResponse response) {
        secure(response);
        ConsoleSessions.Session session = sessions.of(request.headers()).orElseThrow(ConsoleService::signedOut);
        ApiKey key = tenancy.activeKey(session.keyId()).orElseThrow(ConsoleService::signedOut);
        Json.send(response, Status.OK_200, new SessionView(session.csrfToken(), session.expiresAt(),
                KeyView.of(key)));
    }

    private void signOut(ServerRequest request, ServerResponse response) {
        secure(response);
        ConsoleSessions.Session session = sessions.of(request.headers()).orElseThrow(ConsoleService::signedOut);
        if (!ConsoleSessions.csrfMatches(session, request.headers())) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "signing out needs the session's CSRF token in "
                    + ConsoleSessions.CSRF_HEADER);
        }
        sessions.end(request.headers());
        tenancy.activeKey(session.keyId()).ifPresent(key -> record(key, "console.sign_out", request, 204));
        response.header(HeaderNames.SET_COOKIE, ConsoleSessions.setCookie("", Duration.ZERO, secureCookie(request)));
        response.status(Status.NO_CONTENT_204).send();
    }

    private void file(String name, ServerResponse response) {
        secure(response);
        byte[] content = files.get(name);
        if (content == null) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "the console has no file '" + name + "'");
        }
        response.header(HeaderNames.CONTENT_TYPE, TYPES.get(name.substring(name.lastIndexOf('.') + 1)));
        // the files change with the server: revalidated, never taken from a stale cache
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        response.send(content);
    }

    private void secure(ServerResponse response) {
        response.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        response.header("X-Content-Type-Options", "nosniff");
        response.header("Referrer-Policy", "no-referrer");
        response.header("X-Frame-Options", "DENY");
        response.header(HeaderNames.CACHE_CONTROL, "no-store");
    }

    /** Secure over TLS, or behind a proxy that says the browser came over it. */
    private boolean secureCookie(ServerRequest request) {
        return tls || request.headers().first(HeaderNames.X_FORWARDED_PROTO).map("https"::equalsIgnoreCase)
                .orElse(false);
    }

    private void record(ApiKey key, String action, ServerRequest request, int status) {
        audit.record(new AuditEvent(0, clock.instant(), key.id(), key.prefix(), key.tenantId(), action, key.id(),
                source(request), AuditEvent.outcome(status), status));
    }

    private static String source(ServerRequest request) {
        try {
            return request.remotePeer().host();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static AtriumException signedOut() {
        return new AtriumException(ErrorCode.UNAUTHENTICATED, "not signed in, or the session has ended");
    }
}
