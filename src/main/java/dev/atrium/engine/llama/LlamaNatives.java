package dev.atrium.engine.llama;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the llama.cpp shared libraries are: a directory holding the CPU build of llama.cpp v0.5.0 as the npm
 * package {@code @node-llama-cpp/linux-x64@3.22.1} ships it ({@code scripts/llama-natives.sh} fetches and checks
 * it), or a user's own build of the same release with the same file names.
 *
 * @param directory the configured directory, or empty for the default cache
 */
public record LlamaNatives(Optional<Path> directory) {
    static final String LLAMA = "libllama.v0.5.0.so";
    static final String GGML = "libggml.v0.5.0.so";
    static final String GGML_BASE = "libggml-base.so";
    /** The npm package whose libraries the default directory holds. */
    public static final String PACKAGE = "@node-llama-cpp/linux-x64@3.22.1";

    /** The default: {@code ATRIUM_LLAMA_NATIVES}, else the user's cache, where the script puts them. */
    public static LlamaNatives defaults() {
        return new LlamaNatives(Optional.empty());
    }

    public static LlamaNatives at(Path directory) {
        return new LlamaNatives(Optional.of(directory));
    }

    /** The directory to look in. */
    public Path path() {
        return directory.orElseGet(LlamaNatives::defaultDirectory);
    }

    static Path defaultDirectory() {
        String configured = System.getenv("ATRIUM_LLAMA_NATIVES");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        String cache = System.getenv("XDG_CACHE_HOME");
        Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("atrium").resolve("llama.cpp").resolve("node-llama-cpp-linux-x64-3.22.1");
    }

    /** Whether the directory holds the libraries. */
    public boolean present() {
        Path path = path();
        return Files.isRegularFile(path.resolve(LLAMA)) && Files.isRegularFile(path.resolve(GGML));
    }

    /**
     * @throws LlamaException naming what is missing and how to get it
     */
    Path requireDirectory() {
        Path path = path();
        if (!present()) {
            throw new LlamaException("llama.cpp is not installed: " + path + " does not hold " + LLAMA + " and " + GGML
                    + " (run scripts/llama-natives.sh, which needs npm, or point --llama-natives at a build of"
                    + " llama.cpp v" + LlamaCpp.RELEASE + ")");
        }
        return path;
    }
}
