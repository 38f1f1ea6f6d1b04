package dev.atrium.testing;

import dev.atrium.server.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A hand-written OpenAI-compatible upstream on a raw socket, so that a test can script exactly what it does to
 * each request: answer JSON or SSE (chunked), fail with a status and {@code Retry-After}, stall, send a malformed
 * chunk or reset the connection. It counts the connections open, so a test can see that none leaks.
 */
public final class FakeUpstream implements AutoCloseable {
    /** One request as received. */
    public record Request(String method, String path, Map<String, String> headers, byte[] body, long receivedAtNanos) {
        public JsonNode json() {
            return Json.MAPPER.readTree(body);
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** What the upstream does with one request. */
    @FunctionalInterface
    public interface Behaviour {
        void respond(Exchange exchange) throws IOException, InterruptedException;
    }

    private final ServerSocket listener;
    private final Thread acceptor;
    private final ConcurrentLinkedQueue<Behaviour> script = new ConcurrentLinkedQueue<>();
    private volatile Behaviour otherwise = exchange -> exchange.json(500, "{\"error\":{\"message\":\"unscripted\"}}");
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger open = new AtomicInteger();

    public FakeUpstream() {
        try {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        acceptor = Thread.ofPlatform().daemon().name("fake-upstream-accept").start(this::accept);
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** The API root, as a remote model's base URL. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    /** Behaviours for the next requests, in order. */
    public void then(Behaviour... behaviours) {
        script.addAll(List.of(behaviours));
    }

    /** What every request does once the script is used up. */
    public void otherwise(Behaviour behaviour) {
        otherwise = behaviour;
    }

    public void reset() {
        script.clear();
        requests.clear();
    }

    public List<Request> requests() {
        return Collections.unmodifiableList(requests);
    }

    /** Connections accepted and not yet closed by either side. */
    public int openConnections() {
        return open.get();
    }

    /** Waits until at most {@code most} connections are open; returns how many are. */
    public int awaitOpenConnectionsAtMost(int most, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (open.get() > most && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return open.get();
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                return;
            }
            open.incrementAndGet();
            sockets.add(socket);
            Thread.ofVirtual().name("fake-upstream-connection").start(() -> serve(socket));
        }
    }

    /** Serves requests on one connection until either side closes it. */
    private void serve(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            while (true) {
                Request request = readRequest(in);
                if (request == null) {
                    return;
                }
                requests.add(request);
                Behaviour behaviour = script.poll();
                Exchange exchange = new Exchange(request, socket, in, out);
                (behaviour == null ? otherwise : behaviour).respond(exchange);
                if (exchange.closed) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client went away or the test closed the upstream
        } finally {
            sockets.remove(socket);
            open.decrementAndGet();
        }
    }

    private static Request readRequest(InputStream in) throws IOException {
        String requestLine = line(in);
        if (requestLine == null || requestLine.isEmpty()) {
            return null;
        }
        String[] parts = requestLine.split(" ");
        Map<String, String> headers = new LinkedHashMap<>();
        for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
            int colon = header.indexOf(':');
            headers.put(header.substring(0, colon).strip().toLowerCase(Locale.ROOT), header.substring(colon + 1).strip());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        return new Request(parts[0], parts[1], headers, body, System.nanoTime());
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            bytes.write(b);
        }
        if (b == -1 && bytes.size() == 0) {
            return null;
        }
        String text = bytes.toString(StandardCharsets.ISO_8859_1);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        for (Socket socket : new ArrayList<>(sockets)) {
            try {
                socket.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    /** One request being answered. */
    public static final class Exchange {
        private final Request request;
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private boolean closed;

        Exchange(Request request, Socket socket, InputStream in, OutputStream out) {
            this.request = request;
            this.socket = socket;
            this.in = in;
            this.out = out;
        }

        public Request request() {
            return request;
        }

        /** A whole JSON answer, on a connection kept alive. */
        public void json(int status, String body, String... headerPairs) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            StringBuilder head = new StringBuilder("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + bytes.length + "\r\n");
            for (int i = 0; i < headerPairs.length; i += 2) {
                head.append(headerPairs[i]).append(": ").append(headerPairs[i + 1]).append("\r\n");
            }
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(bytes);
            out.flush();
        }

        /** Starts a chunked SSE answer. */
        public void startStream() throws IOException {
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        /** Sends raw text as one HTTP chunk of the stream. */
        public void send(String text) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(bytes);
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        /** Sends one SSE event with this data. */
        public void event(String data) throws IOException {
            send("data: " + data + "\n\n");
        }

        /** Ends the chunked body. */
        public void endStream() throws IOException {
            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        /** Resets the connection (TCP RST), as a crashed upstream or a middlebox would. */
        public void resetConnection() throws IOException {
            socket.setSoLinger(true, 0);
            socket.close();
            closed = true;
        }

        /** Sends nothing more; returns once the client closes the connection (or after a minute). */
        public void stallUntilClientCloses() throws IOException {
            socket.setSoTimeout(60_000);
            try {
                while (in.read() != -1) {
                    // drain whatever the client sends until it closes
                }
            } catch (SocketException e) {
                // reset by the client: closed as well
            }
            closed = true;
        }
    }
}
