package dev.atrium.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The server's configuration, resolved from flags, environment and config file by {@link ServerConfigLoader}.
 *
 * @param engineThreads concurrent inference executions across the engine
 * @param intraOpThreads ONNX Runtime threads inside one execution
 * @param cudaDevice the CUDA device to run ONNX models on, or -1 for CPU
 * @param preload model references loaded at start
 */
public record ServerConfig(
        String bindAddress,
        int port,
        Path dataDir,
        int engineThreads,
        int intraOpThreads,
        int cudaDevice,
        List<String> preload,
        boolean truncateInputs,
        long maxRequestBytes,
        long maxUploadBytes,
        int queueCapacity,
        Duration drainTimeout) {

    public ServerConfig {
        requireNonNull(bindAddress, "bindAddress is null");
        requireNonNull(dataDir, "dataDir is null");
        preload = List.copyOf(preload);
        requireNonNull(drainTimeout, "drainTimeout is null");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0-65535: " + port);
        }
        if (engineThreads < 1 || intraOpThreads < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("engine-threads, intra-op-threads and queue-capacity must be at least 1");
        }
        if (maxRequestBytes < 1024 || maxUploadBytes < 1024) {
            throw new IllegalArgumentException("max-request-size and max-upload-size must be at least 1k");
        }
    }

    /** The defaults, with another data directory and port: what tests and embedding applications start from. */
    public static ServerConfig defaults(Path dataDir, int port) {
        return ServerConfigLoader.load(java.util.Map.of(
                ServerSetting.DATA_DIR.key(), dataDir.toString(),
                ServerSetting.PORT.key(), Integer.toString(port)), java.util.Map.of());
    }

    public ServerConfig withPreload(List<String> references) {
        return new ServerConfig(bindAddress, port, dataDir, engineThreads, intraOpThreads, cudaDevice, references,
                truncateInputs, maxRequestBytes, maxUploadBytes, queueCapacity, drainTimeout);
    }

    public boolean usesCuda() {
        return cudaDevice >= 0;
    }
}
