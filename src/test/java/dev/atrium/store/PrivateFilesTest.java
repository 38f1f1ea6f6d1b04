package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data directory is the server's user's alone: directories 0700, files 0600, whatever the umask. */
class PrivateFilesTest {
    @TempDir
    Path directory;

    @BeforeEach
    void posixOnly() {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
    }

    @Test
    void start_freshDataDirectory_makesEveryDirectory0700_andEveryFile0600() throws Exception {
        Path dataDir = directory.resolve("fresh").resolve("data");
        try (TestServer server = TestServer.start(dataDir, Map.of("preload", "none"), Map.of())) {
            assertThat(server.http().get("/v1/models").status()).isEqualTo(200);
            assertThat(dataDir.resolve("atrium.db-wal")).exists();
            assertThat(dataDir.resolve("atrium.db-shm")).exists();
            assertPrivate(dataDir);
            assertThat(permissions(dataDir.getParent())).isEqualTo("rwx------");
            try (Stream<Path> artifacts = Files.list(dataDir.resolve("artifacts").resolve("sha256"))) {
                assertThat(artifacts.toList()).as("the bundled model's artifact directories").isNotEmpty();
            }
        }
    }

    @Test
    void start_dataDirectoryLeftWideByAnOlderVersion_isNarrowed() throws Exception {
        Path dataDir = Files.createDirectory(directory.resolve("old"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        for (String name : List.of("atrium.db", "atrium.db-wal", "atrium.db-shm")) {
            Files.createFile(dataDir.resolve(name), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-r--r--")));
        }
        try (TestServer server = TestServer.start(dataDir, Map.of("preload", "none"), Map.of())) {
            assertThat(server.http().get("/v1/models").status()).isEqualTo(200);
            assertPrivate(dataDir);
        }
    }

    private static void assertPrivate(Path dataDir) throws IOException {
        try (Stream<Path> paths = Files.walk(dataDir)) {
            for (Path path : paths.toList()) {
                assertThat(permissions(path)).as(path.toString())
                        .isEqualTo(Files.isDirectory(path) ? "rwx------" : "rw-------");
            }
        }
    }

    private static String permissions(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
