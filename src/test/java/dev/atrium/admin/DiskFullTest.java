package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A server whose disk is full: an upload it cannot write is refused with 503 and {@code Retry-After} (the server's
 * trouble, not a request "cut off"), leaves nothing behind, and the server goes on serving; a model call whose usage
 * record cannot be written is not answered, and the calls after it are refused before they reach the model until the
 * store takes writes again. The data directory is a
 * real 8 MiB tmpfs, so the writes fail with the kernel's own ENOSPC.
 */
class DiskFullTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private Path mount;
    private TestServer server;
    private Http admin;

    /** Each test on a new small disk, and a new server over it (whose store's files have not grown yet). */
    @BeforeEach
    void start() throws Exception {
        mount = TempDirectories.create("atrium-full-");
        String refused = run("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mount.toString());
        if (refused != null) {
            String reason = "skipped: a small tmpfs for a full disk cannot be mounted here (needs root): " + refused;
            System.err.println(reason);
            Assumptions.abort(reason);
        }
        server = TestServer.start(mount, Map.of("preload", "none", "max-upload-size", "64m"), Map.of());
        admin = server.http();
        assertThat(admin.postJson("/admin/models", Map.of("name", "big", "task", "embedding")).status())
                .isEqualTo(201);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (mount != null) {
            run("umount", "-l", mount.toString());
            TempDirectories.delete(mount);
        }
    }

    @Test
    void modelUpload_thatTheDiskCannotHold_is503_leavesNoFile_andTheServerServesOn() throws Exception {
        Http.Reply reply = admin.post("/admin/models/big/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", moreThanFits())));

        assertRefusedForTheDisk(reply);
        assertThat(admin.get("/admin/models/big").json().path("versions").size()).isZero();
        assertThat(entries(mount.resolve("staging"))).as("nothing half-written is left").isZero();
        assertThat(admin.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(admin.postJson("/admin/models", Map.of("name", "after", "task", "embedding")).status())
                .as("the store still takes writes").isEqualTo(201);
    }

    @Test
    void tenantFile_thatTheDiskCannotHold_is503_andLeavesNoFile() throws Exception {
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("full-disk");
        Http member = admin.withKey(tenants.key(tenant, "member").secret());

        Http.Reply reply = member.uploadTrainingFile("rows.csv", moreThanFits());

        assertRefusedForTheDisk(reply);
        Http.Reply listed = member.get("/v1/files");
        assertThat(listed.json().path("data").size()).as(listed.toString()).isZero();
        try (Stream<Path> files = Files.walk(mount.resolve("tenant-files"))) {
            assertThat(files.filter(Files::isRegularFile).toList()).as("no partial file is left").isEmpty();
        }
        assertThat(member.uploadTrainingFile("small.csv", "text,label\nhi,greeting\n").status())
                .as("a file that fits is taken").isIn(200, 201);
    }

    @Test
    void modelCalls_whileTheLedgerCannotBeWritten_areRefusedBeforeTheyRun_andServeAgainOnceItCan() throws Exception {
        if ("postgresql".equals(System.getProperty("atrium.test.store"))) {
            String reason = "skipped on PostgreSQL: the usage records are not on this server's disk there";
            System.err.println(reason);
            Assumptions.abort(reason);
        }
        Map<String, String> body = Map.of("model", MODEL, "input", "a full disk", "encoding_format", "base64");
        assertThat(admin.postJson("/v1/embeddings", body).status()).isEqualTo(200);
        long recordsBefore = records();
        double batchesBefore = batches();
        int answered = 0;
        try {
            // the disk filled to its last page before each call: the store frees some of its own now and then (a
            // checkpoint of its write-ahead log), and a call whose record still fits is answered; the first whose
            // record does not fit is not answered: 503
            Http.Reply first;
            while (true) {
                fill(mount.resolve("filler-" + answered));
                first = admin.postJson("/v1/embeddings", body);
                if (first.status() != 200 || answered == 200) {
                    break;
                }
                answered++;
            }
            assertThat(first.status()).as(first.toString()).isEqualTo(503);
            assertThat(first.json().path("error").path("code").asString()).isEqualTo("store_unavailable");
            assertThat(first.header("Retry-After")).isNotNull();
            double batchesAfterFirst = batches();
            // from then on the server knows: calls are refused before they reach the model, and it is not ready
            for (int i = 0; i < 5; i++) {
                Http.Reply refused = admin.postJson("/v1/embeddings", body);
                assertThat(refused.status()).as(refused.toString()).isEqualTo(503);
                assertThat(refused.json().path("error").path("message").asString()).contains("cannot record usage");
                assertThat(refused.header("Retry-After")).isNotNull();
            }
            assertThat(batches()).as("no refused call ran").isEqualTo(batchesAfterFirst);
            assertThat(admin.get("/v2/health/ready").status()).isEqualTo(503);
        } finally {
            try (Stream<Path> fillers = Files.list(mount)) {
                for (Path filler : fillers.filter(file -> file.getFileName().toString().startsWith("filler-")).toList()) {
                    Files.delete(filler);
                }
            }
        }
        // the writer tries the store each second: once it takes writes, the server is ready and serves again
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (admin.get("/v2/health/ready").status() != 200 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(admin.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(admin.postJson("/v1/embeddings", body).status()).isEqualTo(200);
        assertThat(batches()).as("the refused calls never ran").isEqualTo(batchesBefore + answered + 2);
        assertThat(records()).as("every answered call has its record").isEqualTo(recordsBefore + answered + 1);
    }

    /** Fills what the disk has left, to its last page. */
    private void fill(Path filler) throws IOException {
        try (var out = java.nio.channels.FileChannel.open(filler, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            for (int size = 1 << 20; size >= 4096; size /= 16) {
                java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(size);
                try {
                    while (true) {
                        block.clear();
                        out.write(block);
                    }
                } catch (IOException full) {
                    // the next, smaller blocks take what this one could not
                }
            }
        }
        assertThat(Files.getFileStore(mount).getUsableSpace()).isZero();
    }

    private long records() {
        return admin.get("/admin/usage/records?limit=1").json().path("data").path(0).path("position").asLong();
    }

    /** Batches the embedding model ran, from the metrics. */
    private double batches() {
        String metrics = admin.get("/metrics").text();
        return metrics.lines().filter(line -> line.startsWith("atrium_model_batch_size_count{")
                && line.contains(MODEL)).mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }

    private void assertRefusedForTheDisk(Http.Reply reply) {
        assertThat(reply.status()).as(reply.toString()).isEqualTo(503);
        assertThat(reply.header("Retry-After")).isNotNull();
        assertThat(reply.json().path("error").path("code").asString()).isEqualTo("store_unavailable");
        assertThat(reply.json().path("error").path("message").asString())
                .contains("disk").doesNotContain("cut off").doesNotContain(mount.toString())
                .doesNotContain("No space left");
    }

    /** Random bytes (they do not compress) a megabyte more than the disk has left. */
    private byte[] moreThanFits() throws IOException {
        long usable = Files.getFileStore(mount).getUsableSpace();
        byte[] bytes = new byte[(int) usable + (1 << 20)];
        new Random(7).nextBytes(bytes);
        return bytes;
    }

    private long entries(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.count();
        }
    }

    /** Runs a command; answers null when it succeeded, else what it printed. */
    private static String run(String... command) throws Exception {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes()).strip();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "timed out";
            }
            return process.exitValue() == 0 ? null : out + " (exit " + process.exitValue() + ")";
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}
