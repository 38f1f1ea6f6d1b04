package dev.atrium.server;

import static java.util.Objects.requireNonNull;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds the Helidon web server: the request filter, the protocol services under their prefixes, the error
 * mapping, and a not-found answer in the right shape for everything else.
 */
public final class AtriumServer {
    private AtriumServer() {}

    /**
     * @param connections the {@link ConnectionGuard}'s filter, first of all
     * @param gateway the filter that authenticates, admits and audits, after the request id is set
     * @param services services by path prefix ({@code /v1}, {@code /v2}, {@code /admin}; {@code /} for services
     *     that route full paths), registered in order
     * @param routes told each route (method and full pattern) as Helidon builds the routing, for a {@link RouteTable}
     */
    public static HttpRouting.Builder routing(Filter connections, Lifecycle lifecycle, Filter gateway,
            Map<String, List<HttpService>> services, Consumer<RouteTable.Route> routes) {
        HttpRouting.Builder routing = HttpRouting.builder()
                .addFilter(connections)
                .addFilter(new RequestFilter(lifecycle))
                .addFilter(gateway);
        ErrorResponses.register(routing);
        HttpRules rules = new RouteRecorder(routing, "", routes);
        rules.get("/health", (request, response) -> Json.send(response, io.helidon.http.Status.OK_200,
                new Health(lifecycle.isDraining() ? "draining" : "ok")));
        services.forEach((prefix, list) -> {
            if (prefix.equals("/")) {
                rules.register(list.toArray(HttpService[]::new));
            } else {
                rules.register(prefix, list.toArray(HttpService[]::new));
            }
        });
        // the fallback, not a route of its own
        routing.any(ErrorResponses::notFound);
        return routing;
    }

    record Health(String status) {}

    /**
     * Starts listening: HTTP/1.1 and HTTP/2 (h2c, or h2 through ALPN over TLS when {@code tls} is given), every
     * accepted connection under the {@code guard}.
     *
     * @param tls the certificate chain and key, or null for plain HTTP
     */
    public static WebServer start(String bindAddress, int port, HttpRouting.Builder routing, Duration drainTimeout,
            ConnectionGuard guard, TlsFiles tls) {
        SocketOptions options = SocketOptions.builder()
                // streamed tokens are small writes: with Nagle's algorithm each waits for the client's delayed ACK
                // (40 ms on Linux), which showed as ~50 ms added to the first streamed token
                .tcpNoDelay(true)
                .build();
        WebServerConfig.Builder server = WebServer.builder()
                .bindAddress(new InetSocketAddress(bindAddress, port))
                .port(port)
                .shutdownHook(false)
                .shutdownGracePeriod(drainTimeout)
                .connectionOptions(guard.socketOptions(options))
                // the guard counts and refuses connections itself: Helidon's own limit would stop accepting
                // instead, leaving clients in the kernel's backlog
                .maxTcpConnections(-1)
                .routing(routing);
        if (tls != null) {
            server.tls(tls.toTls());
        }
        return server.build().start();
    }

    /** PEM files of a TLS certificate chain and its private key. */
    public record TlsFiles(Path certificateChain, Path privateKey) {
        /** TLS 1.3 and 1.2 only. */
        static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

        public TlsFiles {
            requireNonNull(certificateChain, "certificateChain is null");
            requireNonNull(privateKey, "privateKey is null");
        }

        Tls toTls() {
            for (Path file : List.of(certificateChain, privateKey)) {
                if (!Files.isReadable(file)) {
                    throw new IllegalArgumentException("cannot read the TLS file " + file);
                }
            }
            return Tls.builder()
                    .privateKey(Keys.builder().pem(pem -> pem.key(Resource.create(privateKey))).build())
                    .privateKeyCertChain(Keys.builder().pem(pem -> pem.certChain(Resource.create(certificateChain))).build())
                    .enabledProtocols(PROTOCOLS)
                    .build();
        }
    }
}
