package dev.atrium.engine.onnx;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * ONNX Runtime's error messages, made fit for a client: its first line only, without the server's file paths,
 * ONNX Runtime's source locations and C++ symbols (a client has no use for
 * {@code onnxruntime::BFCArena::AllocateRawInternal}); callers log the original.
 */
final class OnnxMessages {
    private static final Pattern ERROR_CODE = Pattern.compile("Error code - ORT_[A-Z_]+ - message:\\s*");
    private static final Pattern PATH = Pattern.compile("(/[^\\s/:'\"]+)+/?(:\\d+)?");
    /** A qualified C++ name, with its return type and parameter list where it has them. */
    private static final Pattern SYMBOL = Pattern.compile("(\\w+\\*?\\s+)?\\w+(::[\\w~<>*]+)+(\\([^)]*\\))?");
    private static final Pattern SPACES = Pattern.compile("\\s{2,}");

    private OnnxMessages() {}

    static String clientSafe(String message, String modelPath) {
        if (message == null || message.isBlank()) {
            return "unknown error";
        }
        String line = message.lines().findFirst().orElse("");
        String lower = line.toLowerCase(Locale.ROOT);
        if (lower.contains("failed to allocate memory") || lower.contains("bad_alloc") || lower.contains("out of memory")) {
            return "the model ran out of memory on these inputs";
        }
        line = line.replace(modelPath, "model.onnx");
        line = ERROR_CODE.matcher(line).replaceAll("");
        line = PATH.matcher(line).replaceAll("<path>");
        line = SYMBOL.matcher(line).replaceAll("");
        line = SPACES.matcher(line).replaceAll(" ").strip();
        return line.isEmpty() ? "unknown error" : line;
    }
}
