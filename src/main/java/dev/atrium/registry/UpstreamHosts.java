package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.EpochMicros;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;

/**
 * The upstream hosts remote models may point at, kept by the platform admin. A model whose base URL is not on
 * the list cannot be created, and a request to one whose host was removed since is refused before it leaves.
 * An entry is a host ({@code api.openai.com}, any port) or a host and port ({@code 10.0.0.5:8000}).
 */
public final class UpstreamHosts {
    private static final Pattern HOST = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
            + "|\\[[0-9a-f:.]+]");

    /** One allowed host. */
    public record UpstreamHost(String host, Instant createdAt) {}

    private final Jdbi jdbi;
    private final Clock clock;
    private volatile Set<String> allowed;

    private final dev.atrium.store.ChangeFeed changes;

    public UpstreamHosts(Jdbi jdbi, Clock clock) {
        this(jdbi, clock, dev.atrium.store.ChangeFeed.none());
    }

    /** The allowed hosts, whose changes other replicas hear of through the feed, and theirs here. */
    public UpstreamHosts(Jdbi jdbi, Clock clock, dev.atrium.store.ChangeFeed changes) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.changes = requireNonNull(changes, "changes is null");
        this.allowed = load();
        changes.subscribe(dev.atrium.store.ChangeFeed.Topic.UPSTREAMS, () -> allowed = load());
    }

    public List<UpstreamHost> list() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT host, created_at FROM upstream_hosts ORDER BY host")
                .map((rs, ctx) -> new UpstreamHost(rs.getString("host"), EpochMicros.instant(rs, "created_at")))
                .list());
    }

    /** Adds an entry; adding one that is there already changes nothing and returns it. */
    public UpstreamHost add(String entry) {
        String host = normalize(entry);
        Instant now = clock.instant();
        jdbi.useHandle(handle -> handle.createUpdate(
                        "INSERT INTO upstream_hosts (host, created_at) VALUES (:host, :now) ON CONFLICT (host) DO NOTHING")
                .bind("host", host)
                .bind("now", EpochMicros.of(now))
                .execute());
        allowed = load();
        changes.publish(dev.atrium.store.ChangeFeed.Topic.UPSTREAMS);
        return find(host).orElseThrow();
    }

    /** Removes an entry; models pointing at it stay, but their requests are refused until it is back. */
    public void remove(String entry) {
        String host = normalize(entry);
        int deleted = jdbi.withHandle(handle -> handle.createUpdate("DELETE FROM upstream_hosts WHERE host = :host")
                .bind("host", host)
                .execute());
        allowed = load();
        changes.publish(dev.atrium.store.ChangeFeed.Topic.UPSTREAMS);
        if (deleted == 0) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "'" + host + "' is not an allowed upstream host");
        }
    }

    /** Whether a URL's host (and port) is on the list. */
    public boolean allows(URI url) {
        if (url.getHost() == null) {
            return false;
        }
        String host = url.getHost().toLowerCase(Locale.ROOT);
        int port = url.getPort() != -1 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
        Set<String> entries = allowed;
        return entries.contains(host) || entries.contains(host + ":" + port);
    }

    /**
     * Checks a remote model's base URL: http or https, a host, no credentials, query or fragment; returns it
     * without a trailing slash.
     *
     * @throws AtriumException 400 when it is malformed, 403 when its host is not on the list
     */
    public String checkBaseUrl(String baseUrl) {
        URI url;
        try {
            url = new URI(baseUrl);
        } catch (URISyntaxException e) {
            throw AtriumException.invalidParam("base_url", "'base_url' is not a URL");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || url.getHost() == null || url.getRawUserInfo() != null
                || url.getRawQuery() != null || url.getRawFragment() != null) {
            throw AtriumException.invalidParam("base_url", "'base_url' must be an http or https URL with a host,"
                    + " and no credentials, query or fragment");
        }
        if (!allows(url)) {
            throw AtriumException.withParam(ErrorCode.PERMISSION_DENIED, "base_url", "upstream host '"
                    + url.getHost() + (url.getPort() == -1 ? "" : ":" + url.getPort())
                    + "' is not on the platform's list of allowed upstream hosts");
        }
        String text = url.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return text;
    }

    /** An entry in its stored form: lowercase host, optionally {@code :port}. */
    static String normalize(String entry) {
        String text = entry == null ? "" : entry.strip().toLowerCase(Locale.ROOT);
        String host = text;
        String port = null;
        int colon = text.lastIndexOf(':');
        if (colon > 0 && (!text.startsWith("[") || text.charAt(colon - 1) == ']')) {
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        boolean validPort = port == null || (port.matches("[0-9]{1,5}") && Integer.parseInt(port) >= 1
                && Integer.parseInt(port) <= 65535);
        if (host.length() > 253 || !HOST.matcher(host).matches() || !validPort) {
            throw AtriumException.invalidParam("host", "'" + entry + "' is not a host: give a host name or address,"
                    + " optionally with ':port' (no scheme or path)");
        }
        return port == null ? host : host + ":" + Integer.parseInt(port);
    }

    private Optional<UpstreamHost> find(String host) {
        return list().stream().filter(entry -> entry.host().equals(host)).findFirst();
    }

    private Set<String> load() {
        return list().stream().map(UpstreamHost::host).collect(Collectors.toUnmodifiableSet());
    }
}
