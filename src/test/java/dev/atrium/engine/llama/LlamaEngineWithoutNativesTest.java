package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.ModelTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Without the llama.cpp libraries, GGUF models answer 503 naming what is missing; nothing else depends on them. */
class LlamaEngineWithoutNativesTest {
    @Test
    void upload_withoutTheLibraries_is503EngineUnavailableNamingThem(@TempDir Path empty) throws Exception {
        Path model = Path.of("../shared/models/random-15M-q8_0.gguf");
        Path file = Files.isRegularFile(model) ? model : Files.write(empty.resolve("x.gguf"), new byte[] {1, 2, 3});
        try (LlamaEngine engine = new LlamaEngine(new LlamaEngine.Settings(1, 1, Duration.ofSeconds(20),
                LlamaNatives.at(empty.resolve("no-llama"))))) {
            // a real GGUF passes the header checks and reaches the natives; anything else is refused before
            if (file == model) {
                assertThatThrownBy(() -> engine.inspect(ModelTask.COMPLETION, new ArtifactFiles(file, Optional.empty()),
                        ModelOptions.none()))
                        .isInstanceOfSatisfying(AtriumException.class, e -> {
                            assertThat(e.code()).isEqualTo(ErrorCode.ENGINE_UNAVAILABLE);
                            assertThat(e.code().httpStatus()).isEqualTo(503);
                        })
                        .hasMessageContaining("libllama.v0.5.0.so").hasMessageContaining("scripts/llama-natives.sh");
            } else {
                System.out.println("LlamaEngineWithoutNativesTest: " + model + " is missing; only the refusal of a"
                        + " non-GGUF file is checked");
                assertThatThrownBy(() -> engine.inspect(ModelTask.COMPLETION, new ArtifactFiles(file, Optional.empty()),
                        ModelOptions.none())).isInstanceOf(AtriumException.class);
            }
        }
    }
}
