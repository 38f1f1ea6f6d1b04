package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GGUF header reader against files crafted to make it recurse, allocate or loop without bound. */
class GgufHeaderTest {
    private static final Path MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");

    @TempDir
    Path dir;

    @Test
    void read_realModel_keepsItsScalarsAndSkipsItsArrays() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(MODEL),
                "needs " + MODEL.toAbsolutePath().normalize() + " (the shared models beside the project)");
        GgufHeader header = GgufHeader.read(MODEL);
        assertThat(header.string("general.architecture", null)).isEqualTo("llama");
        assertThat(header.number("llama.context_length", 0)).isEqualTo(128);
        assertThat(header.values()).doesNotContainKey("tokenizer.ggml.tokens");
    }

    @Test
    void read_arraysNestedWithinTheBound_areSkippedAndTheNextValuesRead() {
        Gguf gguf = new Gguf(2).key("nested").int32(9);
        for (int i = 1; i < GgufHeader.MAX_ARRAY_DEPTH; i++) {
            gguf.int32(9).int64(1); // an array of one array...
        }
        gguf.int32(8).int64(2).string("ab").string("c"); // ...the innermost, of two strings
        GgufHeader header = GgufHeader.read(gguf.key("general.architecture").int32(8).string("llama").write(dir));
        assertThat(header.string("general.architecture", null)).isEqualTo("llama");
    }

    @Test
    void read_200000NestedArrays_isRefusedWithoutRecursing() {
        Gguf gguf = new Gguf(1).key("deep").int32(9);
        for (int i = 0; i < 200_000; i++) {
            gguf.int32(9).int64(1);
        }
        gguf.int32(0).int64(0);
        Path file = gguf.write(dir);
        assertThatThrownBy(() -> GgufHeader.read(file)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void read_stringLengthOf2To62_isRefused() {
        Path file = new Gguf(1).int64(1L << 62).bytes("ab".getBytes(StandardCharsets.UTF_8)).write(dir);
        assertThatThrownBy(() -> GgufHeader.read(file)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void read_stringLongerThanTheFile_isRefusedBeforeReading() {
        Path file = new Gguf(1).int64(10_000_000).bytes("ab".getBytes(StandardCharsets.UTF_8)).write(dir);
        assertThatThrownBy(() -> GgufHeader.read(file)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void read_arrayCountFarBeyondTheFile_isRefused() {
        Path file = new Gguf(1).key("tokens").int32(9).int32(8).int64(99_000_000).string("a").write(dir);
        assertThatThrownBy(() -> GgufHeader.read(file)).isInstanceOf(IllegalArgumentException.class);
        Path huge = new Gguf(1).key("tokens").int32(9).int32(0).int64(Long.MAX_VALUE).write(dir);
        assertThatThrownBy(() -> GgufHeader.read(huge)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void upload_craftedHeaders_are422AndTheServerKeepsServing() {
        TestServer server = TestServer.start(Map.of("preload", "none"));
        try {
            Http admin = server.http();
            assertThat(admin.postJson("/admin/models", Map.of("name", "crafted", "task", "completion", "engine",
                    "llama")).status()).isEqualTo(201);
            Gguf deep = new Gguf(1).key("deep").int32(9);
            for (int i = 0; i < 200_000; i++) {
                deep.int32(9).int64(1);
            }
            deep.int32(0).int64(0);
            Map<String, byte[]> crafted = Map.of(
                    "200000 nested arrays", deep.bytes(),
                    "a string of 2^62 bytes", new Gguf(1).int64(1L << 62).bytes(new byte[8]).bytes(),
                    "an array beyond the file", new Gguf(1).key("tokens").int32(9).int32(8).int64(99_000_000)
                            .string("a").bytes());
            crafted.forEach((what, bytes) -> {
                Http.Reply reply = admin.post("/admin/models/crafted/versions", "multipart/form-data; boundary="
                        + Http.BOUNDARY, Http.multipart(Map.of("gguf", bytes)));
                assertThat(reply.status()).as(what + ": " + reply).isEqualTo(422);
                assertThat(reply.json().path("error").path("code").asString()).as(what).isEqualTo("invalid_artifact");
            });
            assertThat(admin.get("/admin/models/crafted").json().path("versions").size()).isZero();
            assertThat(admin.get("/health").status()).isEqualTo(200);
        } finally {
            server.close();
        }
    }

    /** Writes a GGUF v3 header, little-endian, one field at a time (the fuzz properties build theirs with it too). */
    static final class Gguf {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Gguf(long keyValues) {
            bytes("GGUF".getBytes(StandardCharsets.US_ASCII)).int32(3).int64(1).int64(keyValues);
        }

        Gguf key(String key) {
            return string(key);
        }

        Gguf string(String text) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            return int64(utf8.length).bytes(utf8);
        }

        Gguf int32(int value) {
            return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
        }

        Gguf int64(long value) {
            return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
        }

        Gguf bytes(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        Path write(Path dir) {
            try {
                return Files.write(Files.createTempFile(dir, "crafted", ".gguf"), bytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
