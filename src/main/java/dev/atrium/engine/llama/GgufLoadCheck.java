package dev.atrium.engine.llama;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Checks that an uploaded GGUF file loads in llama.cpp, in a child process: a file crafted to crash the native
 * parser takes down the child, never the server. Its {@link #main} is the child.
 */
final class GgufLoadCheck {
    private static final long TIMEOUT_SECONDS = 300;
    private static final int MAX_MESSAGE = 300;

    private GgufLoadCheck() {}

    /**
     * @throws AtriumException {@code INVALID_ARTIFACT} when the file does not load, naming why
     */
    static void check(Path file, LlamaNatives natives) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), GgufLoadCheck.class.getName(),
                natives.path().toAbsolutePath().toString(), file.toAbsolutePath().toString()))
                .redirectErrorStream(true);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw AtriumException.internal("cannot start the GGUF load check", e);
        }
        try (InputStream out = process.getInputStream()) {
            byte[] output = out.readNBytes(64 * 1024);
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "the GGUF file did not load within "
                        + TIMEOUT_SECONDS + " s");
            }
            int exit = process.exitValue();
            if (exit == 0) {
                return;
            }
            String reason = lastLine(new String(output, StandardCharsets.UTF_8));
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, exit == 2
                    ? "the GGUF file does not load in llama.cpp: " + reason
                    : "llama.cpp failed reading the GGUF file (exit " + exit + ")");
        } catch (IOException e) {
            throw AtriumException.internal("the GGUF load check failed", e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw AtriumException.retryable(ErrorCode.SHUTTING_DOWN, "the upload was interrupted", 1);
        } finally {
            process.destroyForcibly();
        }
    }

    /** The child's verdict line, without file paths. */
    private static String lastLine(String output) {
        String verdict = output.lines().filter(line -> line.startsWith("FAILED ")).reduce((a, b) -> b)
                .map(line -> line.substring("FAILED ".length())).orElse("unknown error");
        verdict = verdict.replaceAll("(/[^\\s:]+)+", "<file>");
        return verdict.length() > MAX_MESSAGE ? verdict.substring(0, MAX_MESSAGE) + "..." : verdict;
    }

    /**
     * The child: loads the file's weights in llama.cpp and makes the smallest context of it, then exits 0, or
     * prints why and exits 2 (a native crash ends it otherwise, which the parent reads as a refusal).
     *
     * <p>Arguments: the llama.cpp libraries' directory, the file.
     */
    public static void main(String[] args) {
        try {
            LlamaCpp cpp = LlamaCpp.open(LlamaNatives.at(Path.of(args[0])));
            try (LlamaModel model = LlamaModel.load(cpp, Path.of(args[1]), LlamaModel.Options.inference(false));
                    LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(256, 64, 1, 1))) {
                if (model.vocabularySize() < 1 || context.settings().contextLength() != 256) {
                    throw new LlamaException("the model has no vocabulary");
                }
            }
            System.out.println("OK");
            System.out.flush();
            Runtime.getRuntime().halt(0);
        } catch (Throwable e) {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            System.out.println("FAILED " + message.replace('\n', ' '));
            System.out.flush();
            Runtime.getRuntime().halt(2);
        }
    }
}
