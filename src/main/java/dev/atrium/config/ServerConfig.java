package dev.atrium.config;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.StoreLocation;
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
 * @param maxOutputBytes the most output one request may produce (see {@code OutputLimit})
 * @param defaultMaxConcurrent null for no limit
 * @param secretsKeyFile where the key that encrypts upstream API keys is kept (made on first start)
 * @param adminKey the platform admin key's secret from ATRIUM_ADMIN_KEY, or null to generate one on first start
 * @param secretsKey the key that encrypts upstream API keys, from ATRIUM_SECRETS_KEY, or null to use the file
 * @param headerTimeout the whole time from accepting a connection to its first request's headers, TLS included
 * @param bodyTimeout the whole time a request may take to send its body
 * @param idleTimeout the whole time a kept-alive connection may wait for its next request, its headers included
 * @param maxConnections open TCP connections at most; new ones beyond are refused
 * @param tlsCertificate PEM certificate chain, or null to serve plain HTTP
 * @param tlsKey PEM private key of the certificate, or null to serve plain HTTP
 * @param auditRetention how long audit rows are kept
 * @param callDeadline how long one model call may take (the serving layer's deadline)
 * @param llamaNatives the directory of the llama.cpp libraries, or null for the default cache
 * @param maxAudioBytes the largest audio file one transcription takes
 * @param maxAudioDuration the longest audio one transcription decodes
 * @param trainingConcurrency fine-tuning jobs run at once
 * @param memoryBudgetBytes what the loaded models may hold together, or {@link Long#MAX_VALUE} for no budget
 * @param keepAlive how long an idle version stays loaded (models may set their own), or null for no limit
 * @param requireSignedUploads whether every model upload must be signed by a trusted publisher key
 * @param store where the metadata store is
 * @param storePassword the PostgreSQL store's password, from ATRIUM_STORE_PASSWORD, or null
 * @param rateLimitsFailOpen whether requests are admitted without a rate check while the store is unreachable
 * @param artifactStore the S3 bucket artifacts and tenant files are shared in, or null to keep them in the data
 *     directory only
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
        long maxOutputBytes,
        int queueCapacity,
        Duration drainTimeout,
        int defaultRpm,
        int defaultTpm,
        Integer defaultMaxConcurrent,
        Duration rateLimitWindow,
        boolean metricsOpen,
        Path secretsKeyFile,
        String adminKey,
        String secretsKey,
        Duration headerTimeout,
        Duration bodyTimeout,
        Duration idleTimeout,
        int maxConnections,
        Path tlsCertificate,
        Path tlsKey,
        Duration auditRetention,
        Duration callDeadline,
        Path llamaNatives,
        long maxAudioBytes,
        Duration maxAudioDuration,
        int trainingConcurrency,
        long memoryBudgetBytes,
        Duration keepAlive,
        boolean requireSignedUploads,
        StoreLocation store,
        String storePassword,
        boolean rateLimitsFailOpen,
        ArtifactStoreConfig artifactStore) {

    public ServerConfig {
        requireNonNull(bindAddress, "bindAddress is null");
        requireNonNull(dataDir, "dataDir is null");
        preload = List.copyOf(preload);
        requireNonNull(drainTimeout, "drainTimeout is null");
        requireNonNull(store, "store is null");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0-65535: " + port);
        }
        if (engineThreads < 1 || intraOpThreads < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("engine-threads, intra-op-threads and queue-capacity must be at least 1");
        }
        if (maxRequestBytes < 1024 || maxUploadBytes < 1024 || maxOutputBytes < 1024) {
            throw new IllegalArgumentException("max-request-size, max-upload-size and max-output-size must be at least 1k");
        }
        if (defaultRpm < 1 || defaultTpm < 1 || (defaultMaxConcurrent != null && defaultMaxConcurrent < 1)) {
            throw new IllegalArgumentException("default limits must be at least 1");
        }
        requireNonNull(rateLimitWindow, "rateLimitWindow is null");
        requireNonNull(secretsKeyFile, "secretsKeyFile is null");
        if (rateLimitWindow.isNegative() || rateLimitWindow.isZero()) {
            throw new IllegalArgumentException("rate-limit-window must be positive");
        }
        for (Duration timeout : List.of(requireNonNull(headerTimeout, "headerTimeout is null"),
                requireNonNull(bodyTimeout, "bodyTimeout is null"), requireNonNull(idleTimeout, "idleTimeout is null"),
                requireNonNull(auditRetention, "auditRetention is null"),
                requireNonNull(callDeadline, "callDeadline is null"))) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("header-timeout, body-timeout, idle-timeout, audit-retention-days"
                        + " and call-deadline must be positive");
            }
        }
        if (maxAudioBytes < 1024) {
            throw new IllegalArgumentException("max-audio-size must be at least 1k");
        }
        if (requireNonNull(maxAudioDuration, "maxAudioDuration is null").isNegative() || maxAudioDuration.isZero()) {
            throw new IllegalArgumentException("max-audio-duration must be positive");
        }
        if (trainingConcurrency < 1 || trainingConcurrency > 64) {
            throw new IllegalArgumentException("training-concurrency must be 1 to 64");
        }
        if (memoryBudgetBytes < 1 << 20) {
            throw new IllegalArgumentException("memory-budget must be at least 1m");
        }
        if (keepAlive != null && keepAlive.isNegative()) {
            throw new IllegalArgumentException("keep-alive must not be negative");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max-connections must be at least 1");
        }
        if ((tlsCertificate == null) != (tlsKey == null)) {
            throw new IllegalArgumentException("tls-cert and tls-key go together: give both or neither");
        }
    }

    /** Never shows the admin key or the secrets key. */
    @Override
    public String toString() {
        return "ServerConfig[bind=" + bindAddress + ", port=" + port + ", dataDir=" + dataDir + ", engineThreads="
                + engineThreads + ", intraOpThreads=" + intraOpThreads + ", cudaDevice=" + cudaDevice + ", preload="
                + preload + ", adminKey=" + (adminKey == null ? "none" : "set") + ", secretsKey="
                + (secretsKey == null ? "file " + secretsKeyFile : "set") + ", tls=" + (usesTls() ? tlsCertificate : "off") + "]";
    }

    public boolean usesTls() {
        return tlsCertificate != null;
    }

    public boolean usesCuda() {
        return cudaDevice >= 0;
    }
}
