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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A server whose disk is full: an upload it cannot write is refused with 503 and {@code Retry-After} (the server's
 * trouble, not a request "cut off"), leaves nothing behind, and the server goes on serving. The data directory is a
 * real 8 MiB tmpfs, so the writes fail with the kernel's own ENOSPC.
 */
class DiskFullTest {
    private static Path mount;
    private static TestServer server;
    private static Http admin;

    @BeforeAll
    static void start() throws Exception {
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

    @AfterAll
    static void stop() throws Exception {
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

    private static void assertRefusedForTheDisk(Http.Reply reply) {
        assertThat(reply.status()).as(reply.toString()).isEqualTo(503);
        assertThat(reply.header("Retry-After")).isNotNull();
        assertThat(reply.json().path("error").path("code").asString()).isEqualTo("store_unavailable");
        assertThat(reply.json().path("error").path("message").asString())
                .contains("disk").doesNotContain("cut off").doesNotContain(mount.toString())
                .doesNotContain("No space left");
    }

    /** Random bytes (they do not compress) a megabyte more than the disk has left. */
    private static byte[] moreThanFits() throws IOException {
        long usable = Files.getFileStore(mount).getUsableSpace();
        byte[] bytes = new byte[(int) usable + (1 << 20)];
        new Random(7).nextBytes(bytes);
        return bytes;
    }

    private static long entries(Path directory) throws IOException {
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
