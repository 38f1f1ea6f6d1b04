package dev.atrium.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import dev.atrium.store.Dialect;
import dev.atrium.store.StoreLocation;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigLoaderTest {
    @TempDir
    Path directory;

    @Test
    void load_nothingGiven_usesTheDefaults() {
        ServerConfig config = ServerConfigLoader.load(Map.of(), Map.of());
        int cores = Runtime.getRuntime().availableProcessors();
        assertThat(config.port()).isEqualTo(8080);
        assertThat(config.bindAddress()).isEqualTo("127.0.0.1");
        assertThat(config.dataDir()).isEqualTo(Path.of("./atrium-data"));
        assertThat(config.engineThreads()).isEqualTo(cores);
        assertThat(config.intraOpThreads()).isEqualTo(Math.max(1, cores / cores));
        assertThat(config.cudaDevice()).isEqualTo(-1);
        assertThat(config.usesCuda()).isFalse();
        assertThat(config.preload()).containsExactly("all-minilm-l6-v2");
        assertThat(config.truncateInputs()).isFalse();
        assertThat(config.maxRequestBytes()).isEqualTo(16L << 20);
        assertThat(config.maxUploadBytes()).isEqualTo(4L << 30);
        assertThat(config.maxOutputBytes()).isEqualTo(16L << 20);
        assertThat(config.queueCapacity()).isEqualTo(1024);
        assertThat(config.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.defaultRpm()).isEqualTo(10_000);
        assertThat(config.defaultTpm()).isEqualTo(10_000_000);
        assertThat(config.defaultMaxConcurrent()).isNull();
        assertThat(config.rateLimitWindow()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.metricsOpen()).isFalse();
        assertThat(config.adminKey()).isNull();
        assertThat(config.headerTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.bodyTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.maxConnections()).isEqualTo(ServerConfigLoader.defaultMaxConnections())
                .isBetween(16, 10_000);
        assertThat(config.tlsCertificate()).isNull();
        assertThat(config.tlsKey()).isNull();
        assertThat(config.usesTls()).isFalse();
        assertThat(config.auditRetention()).isEqualTo(Duration.ofDays(365));
        assertThat(config.callDeadline()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.maxAudioBytes()).isEqualTo(25L << 20);
        assertThat(config.maxAudioDuration()).isEqualTo(Duration.ofMinutes(30));
        assertThat(config.memoryBudgetBytes()).isEqualTo(ServerConfigLoader.defaultMemoryBudget())
                .isGreaterThan(1L << 20).isLessThan(Long.MAX_VALUE);
        assertThat(config.keepAlive()).isNull();
    }

    @Test
    void load_memoryBudget_takesSizesNoneAndAuto() {
        assertThat(ServerConfigLoader.load(Map.of("memory-budget", "none"), Map.of()).memoryBudgetBytes())
                .isEqualTo(Long.MAX_VALUE);
        assertThat(ServerConfigLoader.load(Map.of(), Map.of("ATRIUM_MEMORY_BUDGET", "512m")).memoryBudgetBytes())
                .isEqualTo(512L << 20);
        assertThat(ServerConfigLoader.load(Map.of(), Map.of("ATRIUM_KEEP_ALIVE", "5m")).keepAlive())
                .isEqualTo(Duration.ofMinutes(5));
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("memory-budget", "lots"), Map.of()))
                .hasMessageContaining("memory-budget");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("memory-budget", "10k"), Map.of()))
                .hasMessageContaining("memory-budget");
    }

    @Test
    void load_everySettingFromFlags_mapsToTheConfig() {
        Map<String, String> flags = Map.ofEntries(
                Map.entry("port", "9001"),
                Map.entry("bind", "0.0.0.0"),
                Map.entry("data-dir", "/srv/atrium"),
                Map.entry("engine-threads", "3"),
                Map.entry("intra-op-threads", "2"),
                Map.entry("execution-provider", "cuda:1"),
                Map.entry("preload", "a, b:2 ,c:production"),
                Map.entry("truncate-inputs", "true"),
                Map.entry("max-request-size", "2m"),
                Map.entry("max-upload-size", "512k"),
                Map.entry("max-output-size", "3m"),
                Map.entry("queue-capacity", "7"),
                Map.entry("drain-timeout", "1500ms"),
                Map.entry("default-rpm", "60"),
                Map.entry("default-tpm", "6000"),
                Map.entry("default-max-concurrent", "4"),
                Map.entry("rate-limit-window", "2s"),
                Map.entry("metrics-open", "true"),
                Map.entry("secrets-key-file", "/etc/atrium/secrets.key"),
                Map.entry("header-timeout", "3s"),
                Map.entry("body-timeout", "20s"),
                Map.entry("idle-timeout", "250ms"),
                Map.entry("max-connections", "321"),
                Map.entry("tls-cert", "/etc/atrium/chain.pem"),
                Map.entry("tls-key", "/etc/atrium/key.pem"),
                Map.entry("audit-retention-days", "30"),
                Map.entry("call-deadline", "45s"),
                Map.entry("llama-natives", "/opt/llama.cpp/lib"),
                Map.entry("max-audio-size", "10m"),
                Map.entry("max-audio-duration", "5m"),
                Map.entry("training-concurrency", "3"),
                Map.entry("memory-budget", "3g"),
                Map.entry("keep-alive", "90s"),
                Map.entry("require-signed-uploads", "true"),
                Map.entry("store", "postgresql://db.internal:6543/atrium?user=svc&sslmode=require"),
                Map.entry("rate-limits-fail-open", "true"),
                Map.entry("artifact-store", "s3://models.example/atrium/prod/"),
                Map.entry("s3-endpoint", "http://minio.internal:9000"),
                Map.entry("s3-region", "eu-west-1"));
        assertThat(flags).hasSameSizeAs(ServerSetting.values());
        ServerConfig config = ServerConfigLoader.load(flags, Map.of("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY", "not-a-real-secret"));
        assertThat(config).isEqualTo(new ServerConfig("0.0.0.0", 9001, Path.of("/srv/atrium"), 3, 2, 1,
                List.of("a", "b:2", "c:production"), true, 2L << 20, 512L << 10, 3L << 20, 7, Duration.ofMillis(1500),
                60, 6000, 4, Duration.ofSeconds(2), true, Path.of("/etc/atrium/secrets.key"), null, null,
                Duration.ofSeconds(3), Duration.ofSeconds(20), Duration.ofMillis(250), 321,
                Path.of("/etc/atrium/chain.pem"), Path.of("/etc/atrium/key.pem"), Duration.ofDays(30),
                Duration.ofSeconds(45), Path.of("/opt/llama.cpp/lib"), 10L << 20, Duration.ofMinutes(5), 3,
                3L << 30, Duration.ofSeconds(90), true, new StoreLocation(Dialect.POSTGRESQL,
                        "jdbc:postgresql://db.internal:6543/atrium?user=svc&sslmode=require",
                        "postgresql://db.internal:6543/atrium"), null, true,
                new ArtifactStoreConfig("models.example", "atrium/prod", URI.create("http://minio.internal:9000"),
                        "eu-west-1", "AKIAEXAMPLE", "not-a-real-secret", null)));
        assertThat(config.artifactStore().toString()).doesNotContain("not-a-real-secret").doesNotContain("AKIA");
        assertThat(config.usesTls()).isTrue();
    }

    @Test
    void load_environmentVariables_areNamedAfterTheFlags() {
        ServerConfig config = ServerConfigLoader.load(Map.of(), Map.of(
                "ATRIUM_PORT", "9002",
                "ATRIUM_DATA_DIR", "/var/lib/atrium",
                "ATRIUM_ENGINE_THREADS", "4",
                "ATRIUM_EXECUTION_PROVIDER", "cuda",
                "ATRIUM_PRELOAD", "none",
                "ATRIUM_DRAIN_TIMEOUT", "2m"));
        assertThat(config.port()).isEqualTo(9002);
        assertThat(config.dataDir()).isEqualTo(Path.of("/var/lib/atrium"));
        assertThat(config.engineThreads()).isEqualTo(4);
        assertThat(config.cudaDevice()).isZero();
        assertThat(config.preload()).isEmpty();
        assertThat(config.drainTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(ServerSetting.MAX_UPLOAD_SIZE.environmentVariable()).isEqualTo("ATRIUM_MAX_UPLOAD_SIZE");
    }

    @Test
    void load_adminKey_comesFromTheEnvironmentOnly_andNeverShows() {
        ServerConfig config = ServerConfigLoader.load(Map.of(), Map.of("ATRIUM_ADMIN_KEY", "atr-" + "k".repeat(43)));
        assertThat(config.adminKey()).isEqualTo("atr-" + "k".repeat(43));
        assertThat(config.toString()).doesNotContain("kkkk").contains("adminKey=set");
    }

    @Test
    void load_precedence_flagOverEnvironmentOverFileOverDefault() throws Exception {
        Path file = Files.writeString(directory.resolve("atrium.properties"), """
                port=7000
                bind=0.0.0.0
                queue-capacity=5
                truncate-inputs=yes
                """);
        ServerConfig config = ServerConfigLoader.load(
                Map.of("port", "7002", "config", file.toString()),
                Map.of("ATRIUM_PORT", "7001", "ATRIUM_BIND", "10.0.0.1"));
        assertThat(config.port()).isEqualTo(7002);
        assertThat(config.bindAddress()).isEqualTo("10.0.0.1");
        assertThat(config.queueCapacity()).isEqualTo(5);
        assertThat(config.truncateInputs()).isTrue();
        assertThat(config.engineThreads()).isEqualTo(Runtime.getRuntime().availableProcessors());

        ServerConfig fromEnvironmentFile = ServerConfigLoader.load(Map.of(), Map.of("ATRIUM_CONFIG", file.toString()));
        assertThat(fromEnvironmentFile.port()).isEqualTo(7000);
    }

    @Test
    void load_invalidValues_nameTheSettingAndItsVariable() {
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("port", "eighty"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("port").hasMessageContaining("ATRIUM_PORT").hasMessageContaining("eighty");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of(), Map.of("ATRIUM_EXECUTION_PROVIDER", "tpu")))
                .hasMessageContaining("execution-provider");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("port", "70000"), Map.of()))
                .hasMessageContaining("port");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("engine-threads", "0"), Map.of()))
                .hasMessageContaining("engine-threads");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("truncate-inputs", "maybe"), Map.of()))
                .hasMessageContaining("truncate-inputs");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("max-output-size", "lots"), Map.of()))
                .hasMessageContaining("max-output-size").hasMessageContaining("ATRIUM_MAX_OUTPUT_SIZE");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("max-output-size", "10"), Map.of()))
                .hasMessageContaining("max-output-size");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("header-timeout", "0s"), Map.of()))
                .hasMessageContaining("header-timeout");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("artifact-store", "ftp://files/x"), Map.of()))
                .hasMessageContaining("artifact-store").hasMessageContaining("ATRIUM_ARTIFACT_STORE");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("artifact-store", "s3://Not_A_Bucket"), Map.of()))
                .hasMessageContaining("artifact-store");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("artifact-store", "s3://models/a/../b"), Map.of()))
                .hasMessageContaining("artifact-store");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("artifact-store", "s3://models",
                "s3-endpoint", "http://user:pw@minio:9000"), Map.of()))
                .hasMessageContaining("artifact-store").hasMessageNotContaining("pw@");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("artifact-store", "s3://models"),
                Map.of("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"))).hasMessageContaining("AWS_SECRET_ACCESS_KEY");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("max-connections", "0"), Map.of()))
                .hasMessageContaining("max-connections");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("tls-cert", "/etc/chain.pem"), Map.of()))
                .hasMessageContaining("tls-key");
    }

    @Test
    void load_configFileProblems_areReported() throws Exception {
        Path unknown = Files.writeString(directory.resolve("bad.properties"), "prot=8080\n");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("config", unknown.toString()), Map.of()))
                .hasMessageContaining("unknown setting 'prot'");
        assertThatThrownBy(() -> ServerConfigLoader.load(Map.of("config", directory.resolve("missing").toString()), Map.of()))
                .hasMessageContaining("cannot read config file");
    }
}
