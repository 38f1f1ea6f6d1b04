package dev.atrium.config;

/**
 * One server setting: its flag and config-file key, its environment variable, its default and what it does.
 * The serve command's help and the README's configuration reference are made from this list.
 */
public enum ServerSetting {
    PORT("port", "8080", "HTTP port"),
    BIND("bind", "127.0.0.1", "address to bind; 0.0.0.0 for every interface"),
    DATA_DIR("data-dir", "./atrium-data", "directory for the database and model artifacts"),
    ENGINE_THREADS("engine-threads", "auto", "concurrent executions (platform threads) per ONNX model; auto = CPU cores"),
    INTRA_OP_THREADS("intra-op-threads", "auto", "ONNX Runtime threads per execution; auto = cores / engine-threads"),
    EXECUTION_PROVIDER("execution-provider", "cpu", "ONNX Runtime execution provider: cpu, cuda or cuda:DEVICE"),
    PRELOAD("preload", "all-minilm-l6-v2", "model references to load at start (comma-separated), or none"),
    TRUNCATE_INPUTS("truncate-inputs", "false", "cut embedding inputs longer than the model's maximum instead of answering 400"),
    MAX_REQUEST_SIZE("max-request-size", "16m", "largest JSON request body (bytes; k, m, g suffixes)"),
    MAX_UPLOAD_SIZE("max-upload-size", "4g", "largest model upload (bytes; k, m, g suffixes)"),
    MAX_OUTPUT_SIZE("max-output-size", "16m", "largest output of one request: bytes of its output tensors or embedding"
            + " vectors before JSON encoding (k, m, g suffixes); past it the request is answered 400 output_too_large"),
    QUEUE_CAPACITY("queue-capacity", "1024", "inputs that may wait in one ONNX model's queue before 503"),
    DRAIN_TIMEOUT("drain-timeout", "30s", "on SIGTERM, how long in-flight requests may take to finish"),
    DEFAULT_RPM("default-rpm", "10000", "requests per window for keys that set no rpm of their own"),
    DEFAULT_TPM("default-tpm", "10000000", "tokens per window for keys that set no tpm of their own"),
    DEFAULT_MAX_CONCURRENT("default-max-concurrent", "none",
            "requests at once for keys that set no max_concurrent of their own, or none"),
    RATE_LIMIT_WINDOW("rate-limit-window", "1m", "the window of rpm and tpm limits (a minute; shorter for tests)"),
    METRICS_OPEN("metrics-open", "false", "serve /metrics without a key; otherwise it needs a platform admin key"),
    SECRETS_KEY_FILE("secrets-key-file", "auto", "file with the key that encrypts upstream API keys at rest (base64 of"
            + " 32 bytes), made on first start; auto = DATA_DIR/secrets.key; ATRIUM_SECRETS_KEY, if set, is the key itself"),
    HEADER_TIMEOUT("header-timeout", "10s", "time a new connection has to finish its TLS handshake and first request's headers"),
    BODY_TIMEOUT("body-timeout", "60s", "time a request has to send its whole body (model uploads: between reads)"),
    IDLE_TIMEOUT("idle-timeout", "60s", "time a kept-alive connection may wait for its next request, headers included"),
    MAX_CONNECTIONS("max-connections", "auto", "open TCP connections at most; beyond, new ones get 503 and are closed;"
            + " auto = 3/4 of the file descriptor limit, at most 10000"),
    TLS_CERT("tls-cert", "none", "PEM file with the server's certificate chain; with tls-key, serves HTTPS (TLS 1.2+, HTTP/2)"),
    TLS_KEY("tls-key", "none", "PEM file with the private key of tls-cert (PKCS#8)"),
    AUDIT_RETENTION_DAYS("audit-retention-days", "365", "audit rows older than this are deleted (checked hourly)"),
    LLAMA_NATIVES("llama-natives", "auto", "directory with the llama.cpp v0.5.0 libraries GGUF models run on (a build of"
            + " your own with the same file names, or the CUDA package's); auto = the cache scripts/llama-natives.sh fills"),
    CALL_DEADLINE("call-deadline", "60s", "how long one model call may take, queueing included; compute priced per"
            + " second is reserved for as long, and a call still running then is cut"),
    MAX_AUDIO_SIZE("max-audio-size", "25m", "largest audio file one transcription takes (OpenAI's limit; k, m, g"
            + " suffixes)"),
    MAX_AUDIO_DURATION("max-audio-duration", "30m", "longest audio one transcription decodes; longer audio is"
            + " refused as soon as decoding passes it"),
    TRAINING_CONCURRENCY("training-concurrency", "1", "fine-tuning jobs run at once, each on a thread of its own"
            + " (one tenant's at most one at a time); more wait in the queue, oldest first"),
    MEMORY_BUDGET("memory-budget", "auto", "memory the loaded ONNX and GGUF models may hold together, as measured at"
            + " load (resident memory; k, m, g suffixes); loading past it evicts the least recently used idle version;"
            + " auto = 3/4 of physical memory; none = no budget"),
    KEEP_ALIVE("keep-alive", "none", "how long a loaded version may stay idle before it is unloaded, for models"
            + " that set no keep_alive of their own (ms, s, m suffixes); none = until the memory budget needs it"),
    REQUIRE_SIGNED_UPLOADS("require-signed-uploads", "false", "refuse model uploads without an Ed25519 signature by a"
            + " publisher key the platform admin trusts (POST /admin/publishers), for public and tenant models alike;"
            + " tenants can also be made to require it one by one"),
    STORE("store", "sqlite", "the metadata store: sqlite (a file in the data directory) or"
            + " postgresql://HOST[:PORT]/DATABASE?user=USER, shared by replicas (password in ATRIUM_STORE_PASSWORD)"),
    RATE_LIMITS_FAIL_OPEN("rate-limits-fail-open", "false", "on PostgreSQL, admit requests without a rate check"
            + " while the store cannot be reached (counted in atrium_admission_unchecked_total) instead of 503;"
            + " budgets never fail open"),
    ARTIFACT_STORE("artifact-store", "local", "where model artifacts and tenant files are kept: local (the data"
            + " directory) or s3://BUCKET[/PREFIX], shared by replicas, each caching in its data directory"
            + " (credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else the AWS SDK's default chain)"),
    S3_ENDPOINT("s3-endpoint", "none", "an S3-compatible endpoint (MinIO, Ceph, s3proxy), e.g. http://minio:9000,"
            + " reached with path-style requests; none = AWS"),
    S3_REGION("s3-region", "us-east-1", "the region of the artifact store's bucket");

    private final String key;
    private final String defaultValue;
    private final String description;

    ServerSetting(String key, String defaultValue, String description) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.description = description;
    }

    /** The flag without dashes and the key in a config file, e.g. {@code data-dir}. */
    public String key() {
        return key;
    }

    /** The environment variable, e.g. {@code ATRIUM_DATA_DIR}. */
    public String environmentVariable() {
        return "ATRIUM_" + key.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }
}
