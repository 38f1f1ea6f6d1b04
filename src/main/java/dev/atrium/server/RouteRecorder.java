package dev.atrium.server;

import io.helidon.http.Method;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Rules that pass every registration on to the real ones and tell each route, with its full pattern, to a
 * listener. Routes given as a built {@link HttpRoute} or without a path cannot be listed, so they are refused
 * rather than left out of the {@link RouteTable}.
 */
final class RouteRecorder implements HttpRules {
    private final HttpRules delegate;
    private final String prefix;
    private final Consumer<RouteTable.Route> routes;

    RouteRecorder(HttpRules delegate, String prefix, Consumer<RouteTable.Route> routes) {
        this.delegate = delegate;
        this.prefix = prefix;
        this.routes = routes;
    }

    @Override
    public HttpRules register(HttpService... services) {
        delegate.register(Arrays.stream(services).map(service -> recorded(service, prefix)).toArray(HttpService[]::new));
        return this;
    }

    @Override
    public HttpRules register(String pathPattern, HttpService... services) {
        String nested = join(prefix, pathPattern);
        delegate.register(pathPattern,
                Arrays.stream(services).map(service -> recorded(service, nested)).toArray(HttpService[]::new));
        return this;
    }

    @Override
    public HttpRules route(Method method, String pathPattern, Handler handler) {
        routes.accept(new RouteTable.Route(method, join(prefix, pathPattern)));
        delegate.route(method, pathPattern, handler);
        return this;
    }

    @Override
    public HttpRules route(HttpRoute route) {
        throw new UnsupportedOperationException("register routes by method and path pattern, so that the route "
                + "table lists them (under " + (prefix.isEmpty() ? "/" : prefix) + ")");
    }

    private HttpService recorded(HttpService service, String servicePrefix) {
        return new HttpService() {
            @Override
            public void routing(HttpRules rules) {
                service.routing(new RouteRecorder(rules, servicePrefix, routes));
            }

            @Override
            public void beforeStart() {
                service.beforeStart();
            }

            @Override
            public void afterStart(WebServer webServer) {
                service.afterStart(webServer);
            }

            @Override
            public void afterStop() {
                service.afterStop();
            }
        };
    }

    /** {@code /v2} and {@code /} give {@code /v2}: a service's root is its prefix. */
    private static String join(String prefix, String pattern) {
        if (pattern.equals("/") && !prefix.isEmpty()) {
            return prefix;
        }
        return prefix + pattern;
    }
}
