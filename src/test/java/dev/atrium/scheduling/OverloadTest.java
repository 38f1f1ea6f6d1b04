package dev.atrium.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Offered load several times what the server can do, for 30 s, open loop (requests keep their schedule, whatever
 * the answers): every answer is 200, 429 or 503 with Retry-After, the queue and the heap stay bounded, and once
 * the load stops a lone request is as fast as before it.
 */
class OverloadTest {
    private static final int QUEUE_CAPACITY = 64;
    private static final String PARAGRAPH = "Overload keeps every engine thread busy with long inputs, so that requests"
            + " arrive faster than the model can embed them, and the queue fills. ";

    @Test
    void overload_isRefusedCleanly_withBoundedMemory_andLatencyRecoversAfterwards() throws Exception {
        // rate limits far above the offered load: what refuses here must be the queue, not the keys' limits
        try (TestServer server = TestServer.start(Map.of("queue-capacity", Integer.toString(QUEUE_CAPACITY),
                "default-rpm", "1000000000", "default-tpm", "2000000000"))) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            List<Http> callers = List.of(
                    admin.withKey(tenants.key(tenants.tenant("heavy-a"), "member").secret()),
                    admin.withKey(tenants.key(tenants.tenant("heavy-b"), "member").secret()));
            Map<String, Object> body = Map.of("model", "all-minilm-l6-v2", "input", PARAGRAPH.repeat(3));
            long before = medianMillis(callers.getFirst(), body, 20);

            // how many the server does alone, to offer several times that
            long probeStart = System.nanoTime();
            int probe = 0;
            while (System.nanoTime() - probeStart < TimeUnit.SECONDS.toNanos(2)) {
                assertThat(callers.getFirst().postJson("/v1/embeddings", body).status()).isEqualTo(200);
                probe++;
            }
            double capacity = probe / 2.0 * Runtime.getRuntime().availableProcessors();
            double offered = Math.max(100, capacity * 4);

            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicInteger badAnswers = new AtomicInteger();
            AtomicLong clientErrors = new AtomicLong();
            AtomicInteger deepestQueue = new AtomicInteger();
            List<Long> heap = Collections.synchronizedList(new ArrayList<>());
            Semaphore outstanding = new Semaphore(512);
            AtomicInteger skipped = new AtomicInteger();
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            long intervalNanos = (long) (1e9 / offered);
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(30);
            Thread watcher = Thread.ofPlatform().start(() -> {
                long nextHeap = System.nanoTime();
                while (System.nanoTime() < end) {
                    deepestQueue.accumulateAndGet(server.atrium().registry() == null ? 0 : queueDepth(server), Math::max);
                    if (System.nanoTime() >= nextHeap) {
                        System.gc();
                        heap.add(memory.getHeapMemoryUsage().getUsed());
                        nextHeap += TimeUnit.SECONDS.toNanos(5);
                    }
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            long sent = 0;
            for (long next = start; next < end; next += intervalNanos) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (!outstanding.tryAcquire()) {
                    skipped.incrementAndGet();
                    continue;
                }
                Http caller = callers.get((int) (sent++ % callers.size()));
                Thread.ofVirtual().start(() -> {
                    try {
                        Http.Reply reply = caller.postJson("/v1/embeddings", body);
                        statuses.computeIfAbsent(reply.status(), s -> new AtomicInteger()).incrementAndGet();
                        // refused by the model's queue: its share (429) or its capacity (503), with Retry-After
                        String code = reply.status() == 200 ? "" : reply.json().path("error").path("code").asString("");
                        boolean refused = (reply.status() == 429 && code.equals("queue_share_exceeded"))
                                || (reply.status() == 503 && (code.equals("overloaded") || code.equals("queue_timeout")));
                        if (reply.status() != 200 && !(refused && reply.header("Retry-After") != null)) {
                            badAnswers.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        clientErrors.incrementAndGet();
                    } finally {
                        outstanding.release();
                    }
                });
            }
            watcher.join();
            outstanding.acquire(512);
            outstanding.release(512);

            int ok = statuses.getOrDefault(200, new AtomicInteger()).get();
            int refused = statuses.getOrDefault(429, new AtomicInteger()).get()
                    + statuses.getOrDefault(503, new AtomicInteger()).get();
            assertThat(badAnswers.get()).as("answers other than 200, 429 or 503 with Retry-After: " + statuses).isZero();
            assertThat(clientErrors.get()).as("connections that failed").isZero();
            assertThat(ok).as("the server kept serving: " + statuses).isPositive();
            assertThat(refused).as("and refused what it could not take: " + statuses).isPositive();
            assertThat(deepestQueue.get()).as("the queue stayed within its capacity").isLessThanOrEqualTo(QUEUE_CAPACITY);
            assertThat(heap).hasSizeGreaterThanOrEqualTo(4);
            long first = heap.getFirst();
            long highest = Collections.max(heap);
            assertThat(highest).as("heap after GC over the run, bytes: " + heap).isLessThan(first + (256L << 20));
            assertThat(heap.getLast()).as("no growth from the first to the last sample: " + heap)
                    .isLessThan(first * 2 + (64L << 20));

            long recovered = System.nanoTime();
            long after = medianMillis(callers.getFirst(), body, 20);
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - recovered)).isLessThan(10);
            System.out.printf("overload: capacity ~%.0f/s, offered %.0f/s for 30 s: statuses %s, skipped %d sends,"
                    + " deepest queue %d, heap after GC (MiB) %s, median latency before %d ms, after %d ms%n",
                    capacity, offered, statuses, skipped.get(), deepestQueue.get(),
                    heap.stream().map(bytes -> bytes >> 20).toList(), before, after);
            assertThat(after).as("median latency before %d ms, after %d ms (skipped %d sends)", before, after,
                    skipped.get()).isLessThanOrEqualTo(before * 3 + 20);
        }
    }

    private static int queueDepth(TestServer server) {
        return server.atrium().onnxQueueDepth();
    }

    private static long medianMillis(Http http, Map<String, Object> body, int count) {
        List<Long> millis = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            Http.Reply reply = http.postJson("/v1/embeddings", body);
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            millis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }
        Collections.sort(millis);
        return millis.get(count / 2);
    }
}
