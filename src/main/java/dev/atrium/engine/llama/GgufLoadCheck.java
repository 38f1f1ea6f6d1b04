package dev.atrium.engine.llama;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
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
 * parser takes down the child, never the server, and the check leaves no instance behind (the binding cannot
 * free one). Its {@link #main} is the child.
 */
final class GgufLoadCheck {
    private static final long TIMEOUT_SECONDS = 300;
    private static final int MAX_MESSAGE = 300;

    private GgufLoadCheck() {}

    /**
     * @throws AtriumException {@code INVALID_ARTIFACT} when the file does not load, naming why
     */
    static void check(Path file) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), GgufLoadCheck.class.getName(),
                file.toAbsolutePath().toString()))
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

    /** The child: loads the file with the smallest context and exits 0, or prints why and exits 2. */
    public static void main(String[] args) {
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
        try {
            new LlamaModel(new ModelParameters().setModel(args[0]).setCtxSize(64).setParallel(1).setThreads(1)
                    .skipWarmup());
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
