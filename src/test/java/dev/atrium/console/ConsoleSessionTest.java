package dev.atrium.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.net.http.HttpRequest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's sign-in over HTTP, as an attacker would try it: no session without a valid key, the cookie's
 * flags, a forged or missing CSRF token refused on every state-changing call, the security headers on every
 * console response, and a session that ends with sign-out or with its key.
 */
class ConsoleSessionTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Http.Reply signIn(String key, String... headers) {
        HttpRequest.Builder request = admin.withKey(null).request("/console/session")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"key\": \"" + key + "\"}"));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return admin.send(request.build());
    }

    /** The session cookie's name=value, from a sign-in's Set-Cookie. */
    private static String cookie(Http.Reply signedIn) {
        String setCookie = signedIn.header("set-cookie");
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    private static Http.Reply withCookie(String cookie, String method, String path, String body, String csrf) {
        HttpRequest.Builder request = admin.withKey(null).request(path).header("Cookie", cookie)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (csrf != null) {
            request.header("X-CSRF-Token", csrf);
        }
        return admin.send(request.build());
    }

    @Test
    void noSessionWithoutAValidKey_andNoCookieForARefusal_andFailuresAreCounted() throws Exception {
        double failuresBefore = authFailures();
        for (String bad : List.of("", "atr-not-a-real-key", "x".repeat(300))) {
            Http.Reply refused = signIn(bad);
            assertThat(refused.status()).as(bad).isEqualTo(401);
            assertThat(refused.header("set-cookie")).isNull();
            assertThat(refused.json().path("error").path("code").asString()).isEqualTo("invalid_api_key");
        }
        // counted as the gateway counts failed keys
        assertThat(authFailures() - failuresBefore).as("failed sign-ins counted").isEqualTo(3);
        Http.Reply noBody = admin.withKey(null).post("/console/session", "application/json", new byte[0]);
        assertThat(noBody.status()).isEqualTo(400);
        assertThat(withCookie(ConsoleSessions.COOKIE + "=" + "A".repeat(43), "GET", "/admin/keys", null, null)
                .status()).as("a made-up session id").isEqualTo(401);
        assertThat(withCookie(ConsoleSessions.COOKIE + "=" + "A".repeat(43), "GET", "/console/session", null, null)
                .status()).isEqualTo(401);
    }

    private static double authFailures() {
        return admin.get("/metrics").text().lines().filter(line -> line.startsWith("atrium_auth_failures_total"))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void theCookieIsHttpOnlyStrictAndSecureBehindTls_andTheKeyIsNeverGivenBack() {
        Tenants.Key owner = tenants.key(tenants.tenant("cookie-flags"), "owner");
        Http.Reply signedIn = signIn(owner.secret());

        assertThat(signedIn.status()).isEqualTo(200);
        String setCookie = signedIn.header("set-cookie");
        assertThat(setCookie).startsWith(ConsoleSessions.COOKIE + "=").contains("; HttpOnly")
                .contains("; SameSite=Strict").contains("; Path=/").contains("; Max-Age=28800")
                .doesNotContain("Secure");
        assertThat(signedIn.text()).doesNotContain(owner.secret());
        assertThat(signedIn.json().path("key").path("role").asString()).isEqualTo("owner");
        assertThat(signedIn.json().path("csrf_token").asString()).hasSizeGreaterThan(40);
        assertThat(signIn(owner.secret(), "X-Forwarded-Proto", "https").header("set-cookie")).contains("; Secure");

        Http.Reply current = withCookie(cookie(signedIn), "GET", "/console/session", null, null);
        assertThat(current.status()).isEqualTo(200);
        assertThat(current.text()).doesNotContain(owner.secret());
        assertThat(current.json().path("csrf_token").asString())
                .isEqualTo(signedIn.json().path("csrf_token").asString());
    }

    @Test
    void stateChangingCalls_needTheSessionsCsrfToken_readsDoNot() {
        String tenant = tenants.tenant("csrf");
        Http.Reply signedIn = signIn(tenants.key(tenant, "owner").secret());
        String cookie = cookie(signedIn);
        String csrf = signedIn.json().path("csrf_token").asString();
        String create = "{\"role\": \"member\", \"name\": \"from the console\"}";

        assertThat(withCookie(cookie, "GET", "/admin/keys", null, null).status()).isEqualTo(200);
        Http.Reply missing = withCookie(cookie, "POST", "/admin/keys", create, null);
        assertThat(missing.status()).isEqualTo(403);
        assertThat(missing.json().path("error").path("code").asString()).isEqualTo("permission_denied");
        assertThat(withCookie(cookie, "POST", "/admin/keys", create, "forged-" + csrf).status()).isEqualTo(403);
        assertThat(withCookie(cookie, "POST", "/admin/keys", create, csrf.substring(1)).status()).isEqualTo(403);
        // another session's token is not this one's
        String other = signIn(tenants.key(tenant, "owner").secret()).json().path("csrf_token").asString();
        assertThat(withCookie(cookie, "POST", "/admin/keys", create, other).status()).isEqualTo(403);
        assertThat(admin.get("/admin/keys?tenant=" + tenant).json().path("keys")).hasSize(2); // nothing made

        Http.Reply made = withCookie(cookie, "POST", "/admin/keys", create, csrf);
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        assertThat(made.json().path("tenant").asString()).isEqualTo(tenant);
        assertThat(withCookie(cookie, "DELETE", "/console/session", null, null).status()).isEqualTo(403);
        assertThat(withCookie(cookie, "GET", "/console/session", null, null).status()).as("still signed in")
                .isEqualTo(200);
    }

    @Test
    void aSessionEnds_atSignOut_andWhenItsKeyIsRevoked() {
        String tenant = tenants.tenant("session-ends");
        Http.Reply first = signIn(tenants.key(tenant, "owner").secret());
        assertThat(withCookie(cookie(first), "DELETE", "/console/session", null,
                first.json().path("csrf_token").asString()).status()).isEqualTo(204);
        assertThat(withCookie(cookie(first), "GET", "/admin/keys", null, null).status()).isEqualTo(401);
        assertThat(withCookie(cookie(first), "GET", "/console/session", null, null).status()).isEqualTo(401);

        Tenants.Key revoked = tenants.key(tenant, "owner");
        Http.Reply second = signIn(revoked.secret());
        assertThat(withCookie(cookie(second), "GET", "/v1/models", null, null).status()).isEqualTo(200);
        assertThat(admin.delete("/admin/keys/" + revoked.id()).status()).isEqualTo(200);
        assertThat(withCookie(cookie(second), "GET", "/v1/models", null, null).status()).isEqualTo(401);
        assertThat(withCookie(cookie(second), "GET", "/console/session", null, null).status()).isEqualTo(401);
        assertThat(signIn(revoked.secret()).status()).isEqualTo(401);
    }

    @Test
    void everyConsoleResponse_carriesTheSecurityHeaders() {
        for (String path : List.of("/console/", "/console", "/console/app.js", "/console/console.css",
                "/console/session", "/console/nothing-here.js")) {
            Http.Reply reply = admin.withKey(null).get(path);
            assertThat(reply.header("content-security-policy")).as(path).isEqualTo(
                    ConsoleService.CONTENT_SECURITY_POLICY);
            assertThat(reply.header("x-content-type-options")).as(path).isEqualTo("nosniff");
            assertThat(reply.header("x-frame-options")).as(path).isEqualTo("DENY");
        }
        Http.Reply page = admin.withKey(null).get("/console/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.header("content-type")).startsWith("text/html");
        // no inline script, nothing from elsewhere
        assertThat(page.text()).doesNotContainPattern("<script(?![^>]*\\bsrc=\"/console/)")
                .doesNotContain("http://").doesNotContain("https://");
        assertThat(admin.withKey(null).get("/console/nothing-here.js").status()).isEqualTo(404);
        assertThat(admin.withKey(null).get("/console/app.js").header("content-type")).startsWith("text/javascript");
    }
}
