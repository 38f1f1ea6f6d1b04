package dev.atrium.engine;

/**
 * A runtime that loads and serves model versions. What it can do with them is said by the capability
 * interfaces it implements ({@link EmbeddingEngine}, {@link TensorEngine}, {@link LanguageEngine},
 * {@link ForwardingEngine}); engines with model files to upload are {@link ArtifactEngine}s. Implementations run
 * inference on platform threads they own; the blocking methods are called from request (virtual) threads, which
 * wait for the result. Engines know nothing of HTTP, tenants or prices: whose work it is and until when it may
 * run come in a {@link RunContext}.
 */
public interface Engine extends AutoCloseable {

    /** Loads the version if it is not loaded yet; returns once it can serve. */
    void load(Deployment deployment);

    /** Whether the version holds resources now and serves without loading first. */
    boolean isLoaded(VersionKey key);

    /**
     * Releases what the version holds once the work running on it finishes.
     *
     * @return whether it was loaded and is now unloaded (or will be, once running work ends)
     * @throws dev.atrium.AtriumException {@code UNSUPPORTED_BY_MODEL} when this engine cannot free a version
     */
    boolean unload(VersionKey key);

    /** Whether a loaded version has work waiting and has made no progress for too long (then it is not ready). */
    default boolean isStalled(VersionKey key) {
        return false;
    }

    /** Whether any loaded version is stalled. */
    default boolean isStalled() {
        return false;
    }

    /** Unloads every version and stops the engine's threads. */
    @Override
    void close();
}
