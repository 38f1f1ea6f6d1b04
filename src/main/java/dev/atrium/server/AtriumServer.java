package dev.atrium.server;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpService;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Builds the Helidon web server: the request filter, the protocol services under their prefixes, the error
 * mapping, and a not-found answer in the right shape for everything else.
 */
public final class AtriumServer {
    private AtriumServer() {}

    /**
     * @param gateway the filter that authenticates, admits and audits, after the request id is set
     * @param services services by path prefix ({@code /v1}, {@code /v2}, {@code /admin}; {@code /} for services
     *     that route full paths), registered in order
     */
    public static HttpRouting.Builder routing(Lifecycle lifecycle, Filter gateway, Map<String, List<HttpService>> services) {
        HttpRouting.Builder routing = HttpRouting.builder()
                .addFilter(new RequestFilter(lifecycle))
                .addFilter(gateway);
        ErrorResponses.register(routing);
        routing.get("/health", (request, response) -> Json.send(response, io.helidon.http.Status.OK_200,
                new Health(lifecycle.isDraining() ? "draining" : "ok")));
        services.forEach((prefix, list) -> {
            if (prefix.equals("/")) {
                routing.register(list.toArray(HttpService[]::new));
            } else {
                routing.register(prefix, list.toArray(HttpService[]::new));
            }
        });
        routing.any(ErrorResponses::notFound);
        return routing;
    }

    record Health(String status) {}

    public static WebServer start(String bindAddress, int port, HttpRouting.Builder routing, Duration drainTimeout) {
        return WebServer.builder()
                .bindAddress(new InetSocketAddress(bindAddress, port))
                .port(port)
                .shutdownHook(false)
                .shutdownGracePeriod(drainTimeout)
                // streamed tokens are small writes: with Nagle's algorithm each waits for the client's delayed ACK
                // (40 ms on Linux), which showed as ~50 ms added to the first streamed token
                .connectionOptions(options -> options.tcpNoDelay(true))
                .routing(routing)
                .build()
                .start();
    }
}
