package dev.atrium.server;

import static java.util.Objects.requireNonNull;

import io.helidon.http.Method;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The routes the services register, as method and full path pattern, so that tests and docs can enumerate them
 * (Helidon's routing does not list its routes). Sorted by pattern, then method.
 */
public record RouteTable(List<Route> routes) {
    private static final Comparator<Route> ORDER =
            Comparator.comparing(Route::pattern).thenComparing(route -> route.method().text());

    public RouteTable {
        routes = routes.stream().distinct().sorted(ORDER).toList();
    }

    public static RouteTable of(Collection<Route> routes) {
        return new RouteTable(List.copyOf(routes));
    }

    public boolean contains(Method method, String pattern) {
        return routes.contains(new Route(method, pattern));
    }

    /** One registered route: its method and its path pattern with the service's prefix. */
    public record Route(Method method, String pattern) {
        public Route {
            requireNonNull(method, "method is null");
            requireNonNull(pattern, "pattern is null");
        }

        @Override
        public String toString() {
            return method.text() + " " + pattern;
        }
    }
}
