package dev.atrium.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.util.Objects.requireNonNull;

import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps slow, idle and too many clients from taking the server down: every accepted TCP connection has a
 * deadline, and one sweeper thread closes the connections past theirs.
 *
 * <p>Design: Helidon's server has no read timeout and no refusal beyond a connection limit (it stops accepting,
 * so clients wait in the kernel's backlog), and a connection that never sends a byte holds its descriptor
 * forever. The guard sees each connection as it is accepted (through {@link #socketOptions}, which Helidon
 * applies to every accepted channel before anything is read from it) and sets a deadline that counts whole
 * phases, not gaps between bytes:
 * <ul>
 * <li>accepted: the TLS handshake and the first request's headers within the header timeout;</li>
 * <li>a request with a body: the whole body within the body timeout of its headers ({@link Json#readBody} tells
 *     the guard when it has it; model uploads instead need each read within the body timeout of the last);</li>
 * <li>handling: no deadline (a streamed answer may take long);</li>
 * <li>between requests: the next request, headers included, within the idle timeout.</li>
 * </ul>
 * An error answer that leaves the request body unread ends the connection rather than drain the body.
 * Beyond the connection limit a new connection gets a 503 (plain HTTP) and is closed at once.
 *
 * <p>Concurrency: connections are accepted on Helidon's listener thread, phases change on request threads and
 * deadlines are enforced on the sweeper; each connection's deadline is a single volatile value, and a
 * connection is closed by closing its channel, which also wakes the thread blocked reading it.
 */
public final class ConnectionGuard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
    private static final long NO_DEADLINE = Long.MAX_VALUE;
    private static final Duration LINGER = Duration.ofMillis(500);
    /** The most a connection answered before its body was read may still send before it is closed. */
    private static final long MAX_LINGER_BYTES = 64L << 20;
    private static final ScopedValue<Connection> CURRENT = ScopedValue.newInstance();
    private static final String REFUSAL_BODY = "{\"error\":{\"message\":\"too many connections\",\"type\":\"server_error\"}}";
    private static final byte[] REFUSAL = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            + "Retry-After: 1\r\nConnection: close\r\nContent-Length: " + REFUSAL_BODY.length() + "\r\n\r\n"
            + REFUSAL_BODY).getBytes(US_ASCII);

    /**
     * @param headerTimeout from accepting a connection to its first request's headers, TLS handshake included
     * @param bodyTimeout for a request's whole body, from its headers
     * @param idleTimeout from one answer to the next request's headers on a kept-alive connection
     * @param maxConnections open connections at most
     */
    public record Settings(Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout, int maxConnections) {
        public Settings {
            requireNonNull(headerTimeout, "headerTimeout is null");
            requireNonNull(bodyTimeout, "bodyTimeout is null");
            requireNonNull(idleTimeout, "idleTimeout is null");
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1");
            }
        }

        /** How often the sweeper looks: a quarter of the shortest timeout, between 10 ms and 1 s. */
        Duration sweepPeriod() {
            long shortest = Math.min(headerTimeout.toMillis(), Math.min(bodyTimeout.toMillis(), idleTimeout.toMillis()));
            return Duration.ofMillis(Math.clamp(shortest / 4, 10, 1_000));
        }
    }

    /** Why the guard closed a connection; each kind is counted. */
    public enum Closure {
        HEADER_TIMEOUT, BODY_TIMEOUT, IDLE_TIMEOUT, BODY_UNREAD, REFUSED
    }

    /** Told of each connection the guard closes. */
    public interface Observer {
        void closed(Closure closure);
    }

    private final Settings settings;
    private final boolean tls;
    private final Observer observer;
    private final Map<Key, Connection> open = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicBoolean failureReported = new AtomicBoolean();
    private final Runnable onListenerFailure;
    private final Thread sweeper;
    private volatile Thread watchdog;

    /**
     * @param tls whether connections speak TLS (then a refusal is a bare close, not a 503)
     * @param onListenerFailure run once if the listener stops accepting connections without a shutdown
     */
    public ConnectionGuard(Settings settings, boolean tls, Observer observer, Runnable onListenerFailure) {
        this.settings = requireNonNull(settings, "settings is null");
        this.tls = tls;
        this.observer = requireNonNull(observer, "observer is null");
        this.onListenerFailure = requireNonNull(onListenerFailure, "onListenerFailure is null");
        this.sweeper = Thread.ofPlatform().name("connection-guard").daemon(true).start(this::sweepLoop);
    }

    /** Helidon's options for accepted sockets, {@code base}'s with the guard taking each new connection in. */
    public SocketOptions socketOptions(SocketOptions base) {
        return new GuardedOptions(base);
    }

    /** The filter, first in the routing, that moves a connection through its phases. */
    public Filter filter() {
        return new Filter() {
            @Override
            public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
                ConnectionGuard.this.filter(chain, request, response);
            }

            @Override
            public void afterStop() {
                if (!closing.get()) {
                    listenerFailed("the HTTP listener stopped without a shutdown");
                }
            }
        };
    }

    /**
     * Starts checking that the listener at {@code address} still accepts connections. When accepting fails (out
     * of file descriptors, say), Helidon 4.5 logs it and stops the listener from the listener's own thread, which
     * then waits on itself forever: no stop event follows, and the process lives on, deaf. So when no connection
     * has been accepted for a header timeout, the watchdog connects itself, and if that connection is not
     * accepted within the header timeout, twice in a row, it runs the guard's {@code onListenerFailure}, once.
     *
     * @param address the listener's address; a wildcard address is probed on the loopback interface
     */
    public void watchListener(InetSocketAddress address) {
        InetSocketAddress target = address.getAddress().isAnyLocalAddress()
                ? new InetSocketAddress(InetAddress.getLoopbackAddress(), address.getPort())
                : address;
        watchdog = Thread.ofPlatform().name("listener-watchdog").daemon(true).start(() -> watchLoop(target));
    }

    private void watchLoop(InetSocketAddress target) {
        long patience = settings.headerTimeout().toMillis();
        int misses = 0;
        long seen = accepted.get();
        try {
            while (!closing.get() && !failureReported.get()) {
                Thread.sleep(patience);
                if (accepted.get() != seen) {
                    seen = accepted.get();
                    misses = 0;
                    continue;
                }
                misses = probe(target, seen, patience) ? 0 : misses + 1;
                seen = accepted.get();
                if (misses == 2 && !closing.get()) {
                    listenerFailed("the HTTP listener on " + target + " has not accepted a connection in "
                            + settings.headerTimeout().multipliedBy(2));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Connects to the listener; true if the guard saw a connection accepted within {@code patience}. */
    private boolean probe(InetSocketAddress target, long acceptedBefore, long patience) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(patience);
        try (Socket probe = new Socket()) {
            probe.connect(target, (int) patience);
            while (accepted.get() == acceptedBefore && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } catch (IOException e) {
            LOG.warn("cannot connect to the HTTP listener on {}: {}", target, e.toString());
            return false;
        }
        return accepted.get() != acceptedBefore;
    }

    private void listenerFailed(String why) {
        if (failureReported.compareAndSet(false, true)) {
            LOG.error("{}: the server can no longer take requests", why);
            onListenerFailure.run();
        }
    }

    /** Connections open now, as the guard counts them. */
    public int openConnections() {
        return count.get();
    }

    /**
     * Marks the body of the current request as received: from here the request has no deadline. Called by the
     * readers of request bodies; does nothing outside a guarded request.
     */
    static void bodyReceived() {
        if (CURRENT.isBound()) {
            CURRENT.get().deadline = NO_DEADLINE;
        }
    }

    /**
     * Whether the guard has closed the current request's connection (its deadline passed): then there is no one
     * to answer, and the request should end quietly.
     */
    static boolean currentConnectionClosed() {
        return CURRENT.isBound() && CURRENT.get().cut;
    }

    /**
     * A request body that may take longer than the body timeout in all (a model upload of gigabytes): each read
     * must instead come within the body timeout of the one before. Outside a guarded request, {@code body}.
     */
    public static InputStream streamedBody(InputStream body) {
        if (!CURRENT.isBound()) {
            return body;
        }
        Connection connection = CURRENT.get();
        long gap = connection.guard.settings.bodyTimeout().toNanos();
        connection.deadline = System.nanoTime() + gap;
        return new FilterInputStream(body) {
            @Override
            public int read() throws IOException {
                int read = super.read();
                connection.deadline = read < 0 ? NO_DEADLINE : System.nanoTime() + gap;
                return read;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws IOException {
                int read = super.read(buffer, offset, length);
                connection.deadline = read < 0 ? NO_DEADLINE : System.nanoTime() + gap;
                return read;
            }
        };
    }

    private void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        Connection connection = open.get(new Key(request.localPeer().address(), request.remotePeer().address()));
        if (connection == null) {
            chain.proceed();
            return;
        }
        connection.requests.incrementAndGet();
        connection.inFlight.incrementAndGet();
        boolean hasBody = request.content().hasEntity();
        connection.deadline = hasBody ? System.nanoTime() + settings.bodyTimeout().toNanos() : NO_DEADLINE;
        // once the answer is out, error answers included (those are sent after the exception has left this filter)
        response.whenSent(() -> {
            boolean idle = connection.inFlight.decrementAndGet() == 0;
            // an error answer that left the body unread (a 413, a 401 before the handler) says it closes the
            // connection (ErrorResponses), and it does, rather than drain the body; over HTTP/2 the stream is reset
            // instead, and the connection's other streams go on
            if (response.headers().contains(HeaderValues.CONNECTION_CLOSE)
                    && !request.prologue().protocolVersion().startsWith("2")) {
                connection.closeAfterAnswer();
            } else if (idle) {
                connection.deadline = System.nanoTime() + settings.idleTimeout().toNanos();
            }
        });
        ScopedValue.where(CURRENT, connection).run(chain::proceed);
    }

    private void accept(SocketChannel channel) {
        accepted.incrementAndGet();
        Key key;
        try {
            key = new Key(channel.getLocalAddress(), channel.getRemoteAddress());
        } catch (IOException e) {
            throw new RefusedConnection("the connection is already gone");
        }
        if (count.incrementAndGet() > settings.maxConnections()) {
            prune();
            if (count.get() > settings.maxConnections()) {
                count.decrementAndGet();
                refuse(channel);
                throw new RefusedConnection("more than " + settings.maxConnections() + " connections");
            }
        }
        Connection previous = open.put(key, new Connection(this, channel,
                System.nanoTime() + settings.headerTimeout().toNanos()));
        if (previous != null) {
            count.decrementAndGet();
            closeQuietly(previous.channel);
        }
    }

    private void refuse(SocketChannel channel) {
        observer.closed(Closure.REFUSED);
        try {
            if (!tls) {
                // a fresh socket's send buffer is empty: this write does not block the listener
                channel.write(ByteBuffer.wrap(REFUSAL));
                channel.shutdownOutput();
            }
        } catch (IOException e) {
            LOG.trace("cannot write the refusal", e);
        } finally {
            closeQuietly(channel);
        }
    }

    /** Forgets connections Helidon has closed. */
    private void prune() {
        for (Map.Entry<Key, Connection> entry : open.entrySet()) {
            if (!entry.getValue().channel.isOpen() && open.remove(entry.getKey(), entry.getValue())) {
                count.decrementAndGet();
            }
        }
    }

    private void sweepLoop() {
        long period = settings.sweepPeriod().toMillis();
        while (!closing.get()) {
            try {
                Thread.sleep(period);
                sweep(System.nanoTime());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("the connection sweep failed", e);
            }
        }
    }

    private void sweep(long now) {
        for (Map.Entry<Key, Connection> entry : open.entrySet()) {
            Connection connection = entry.getValue();
            long deadline = connection.deadline;
            boolean expired = deadline != NO_DEADLINE && now - deadline > 0;
            if (connection.channel.isOpen() && !expired) {
                continue;
            }
            if (open.remove(entry.getKey(), connection)) {
                count.decrementAndGet();
            }
            if (expired && connection.channel.isOpen()) {
                connection.cut = true;
                observer.closed(connection.closureAtDeadline());
                closeQuietly(connection.channel);
            }
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.trace("cannot close a connection", e);
        }
    }

    /** Stops the sweeper, before a shutdown stops the listener; the connections themselves are closed by the server. */
    @Override
    public void close() {
        if (closing.compareAndSet(false, true)) {
            sweeper.interrupt();
            Thread watching = watchdog;
            if (watching != null) {
                watching.interrupt();
            }
        }
    }

    private record Key(SocketAddress local, SocketAddress remote) {}

    private static final class Connection {
        final ConnectionGuard guard;
        final SocketChannel channel;
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicLong requests = new AtomicLong();
        volatile long deadline;
        volatile boolean answeredUnread;
        volatile boolean cut;

        Connection(ConnectionGuard guard, SocketChannel channel, long deadline) {
            this.guard = guard;
            this.channel = channel;
            this.deadline = deadline;
        }

        /**
         * Ends the connection after an answer that left the request body unread: the answer is followed by
         * the end of the stream at once, and the connection is closed shortly after, so that the client reads the
         * answer rather than a reset, and the rest of its body is never read.
         */
        void closeAfterAnswer() {
            try {
                channel.shutdownOutput();
            } catch (IOException e) {
                LOG.trace("cannot shut the connection's output", e);
            }
            answeredUnread = true;
            deadline = System.nanoTime() + LINGER.toNanos();
            lingerDraining();
        }

        /**
         * Until the client has stopped sending (or the linger's deadline closes the connection, or {@link
         * #MAX_LINGER_BYTES} came), reads and drops what it still sends: closing a connection with unread bytes
         * resets it, and a reset that overtakes the answer in flight discards the answer at the client (a client
         * that writes its whole body before it reads would see no answer at all). The bytes are never parsed,
         * and the connection closes after them whatever they are.
         */
        private void lingerDraining() {
            if (!channel.isBlocking()) {
                return;
            }
            ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);
            long drained = 0;
            try {
                while (drained < MAX_LINGER_BYTES) {
                    scratch.clear();
                    int read = channel.read(scratch);
                    if (read < 0) {
                        return; // the client is done: the close that follows resets nothing
                    }
                    drained += read;
                }
            } catch (IOException e) {
                // the sweeper closed it at the linger's deadline, or the client reset it
            }
        }

        Closure closureAtDeadline() {
            return answeredUnread ? Closure.BODY_UNREAD : inFlight.get() > 0 ? Closure.BODY_TIMEOUT
                    : requests.get() == 0 ? Closure.HEADER_TIMEOUT : Closure.IDLE_TIMEOUT;
        }
    }

    /** Thrown to Helidon's listener, which then closes the socket without handling it. */
    private static final class RefusedConnection extends RuntimeException {
        RefusedConnection(String message) {
            super(message, null, false, false);
        }
    }

    private final class GuardedOptions implements SocketOptions {
        private final SocketOptions base;

        GuardedOptions(SocketOptions base) {
            this.base = requireNonNull(base, "base is null");
        }

        @Override
        public void configureSocket(SocketChannel socket) {
            base.configureSocket(socket);
            accept(socket);
        }

        @Override
        public void configureSocket(Socket socket) {
            base.configureSocket(socket);
        }

        @Override
        public Map<java.net.SocketOption<?>, Object> socketOptions() {
            return base.socketOptions();
        }

        @Override
        public Duration connectTimeout() {
            return base.connectTimeout();
        }

        @Override
        public Duration readTimeout() {
            return base.readTimeout();
        }

        @Override
        public Optional<Integer> socketReceiveBufferSize() {
            return base.socketReceiveBufferSize();
        }

        @Override
        public Optional<Integer> socketSendBufferSize() {
            return base.socketSendBufferSize();
        }

        @Override
        public boolean socketReuseAddress() {
            return base.socketReuseAddress();
        }

        @Override
        public boolean socketKeepAlive() {
            return base.socketKeepAlive();
        }

        @Override
        public boolean tcpNoDelay() {
            return base.tcpNoDelay();
        }
    }
}
