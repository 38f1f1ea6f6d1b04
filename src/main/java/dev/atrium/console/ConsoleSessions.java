package dev.atrium.console;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * Console sessions: a signed-in browser holds a random id in an HttpOnly cookie and nothing else (never the key);
 * the store keeps the id's SHA-256, the key the session acts as, its CSRF token and its end. Sessions last
 * {@link #LIFETIME} from sign-in, and end at sign-out or when their key is revoked or expires.
 *
 * <p>Thread-safe.
 */
public final class ConsoleSessions {
    /** The cookie's name. */
    public static final String COOKIE = "atrium_session";
    /** The header a state-changing call made with the cookie must carry, with the session's token. */
    public static final String CSRF_HEADER = "X-CSRF-Token";
    /** How long a session lasts from sign-in. */
    public static final Duration LIFETIME = Duration.ofHours(8);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{43}");

    private final Jdbi jdbi;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public ConsoleSessions(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A session as the store keeps it. */
    public record Session(String keyId, String csrfToken, Instant expiresAt) {}

    /** A new session, with the id for the cookie (given out once, kept nowhere). */
    public record Started(String id, Session session) {}

    /** Starts a session for the key; clears sessions that have ended. */
    public Started start(String keyId) {
        String id = token();
        Instant now = clock.instant();
        Session session = new Session(requireNonNull(keyId, "keyId is null"), token(), now.plus(LIFETIME));
        jdbi.useHandle(handle -> {
            handle.createUpdate("DELETE FROM console_sessions WHERE expires_at <= :now")
                    .bind("now", EpochMicros.of(now)).execute();
            handle.createUpdate("INSERT INTO console_sessions (id_hash, key_id, csrf_token, created_at, expires_at)"
                            + " VALUES (:id, :key, :csrf, :created, :expires)")
                    .bind("id", hash(id)).bind("key", keyId).bind("csrf", session.csrfToken())
                    .bind("created", EpochMicros.of(now)).bind("expires", EpochMicros.of(session.expiresAt()))
                    .execute();
        });
        return new Started(id, session);
    }

    /** The session of the request's cookie, if it has one that has not ended. */
    public Optional<Session> of(Headers headers) {
        return cookie(headers).flatMap(this::find);
    }

    /** The session id in the request's cookie, if it carries a well-formed one. */
    public static Optional<String> cookie(Headers headers) {
        if (!headers.contains(HeaderNames.COOKIE)) {
            return Optional.empty();
        }
        for (String header : headers.get(HeaderNames.COOKIE).allValues()) {
            for (String pair : header.split(";")) {
                int equals = pair.indexOf('=');
                if (equals > 0 && pair.substring(0, equals).strip().equals(COOKIE)) {
                    String value = pair.substring(equals + 1).strip();
                    if (ID.matcher(value).matches()) {
                        return Optional.of(value);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private Optional<Session> find(String id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT key_id, csrf_token, expires_at"
                        + " FROM console_sessions WHERE id_hash = :id AND expires_at > :now")
                .bind("id", hash(id)).bind("now", EpochMicros.of(clock.instant()))
                .map((rs, ctx) -> new Session(rs.getString("key_id"), rs.getString("csrf_token"),
                        EpochMicros.instant(rs, "expires_at")))
                .findOne());
    }

    /** Ends the session of the request's cookie; returns whether there was one. */
    public boolean end(Headers headers) {
        return cookie(headers).map(id -> jdbi.withHandle(handle -> handle.createUpdate(
                "DELETE FROM console_sessions WHERE id_hash = :id").bind("id", hash(id)).execute()) > 0)
                .orElse(false);
    }

    /** Whether a call made with the session carries its CSRF token (compared in constant time). */
    public static boolean csrfMatches(Session session, Headers headers) {
        String sent = headers.first(HeaderNames.create(CSRF_HEADER)).orElse("");
        return MessageDigest.isEqual(sent.getBytes(StandardCharsets.US_ASCII),
                session.csrfToken().getBytes(StandardCharsets.US_ASCII));
    }

    /** The cookie that holds a session: HttpOnly, SameSite=Strict, and Secure when the browser came over TLS. */
    public static String setCookie(String id, Duration maxAge, boolean secure) {
        return COOKIE + "=" + id + "; Path=/; Max-Age=" + maxAge.toSeconds() + "; HttpOnly; SameSite=Strict"
                + (secure ? "; Secure" : "");
    }

    private String token() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static String hash(String id) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(id.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
