package dev.atrium.config;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.atrium.store.Database;
import dev.atrium.store.StoreLocation;
import java.io.IOException;
import java.io.Reader;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Resolves {@link ServerConfig} from three sources, strongest first: command-line flags, environment variables
 * ({@code ATRIUM_PORT}, ...), and a properties file named by {@code --config} or {@code ATRIUM_CONFIG}.
 */
public final class ServerConfigLoader {
    public static final String CONFIG_FLAG = "config";
    public static final String CONFIG_ENVIRONMENT_VARIABLE = "ATRIUM_CONFIG";
    /** The platform admin key's secret, from the environment only: never a flag (it would show in ps) or a file. */
    public static final String ADMIN_KEY_ENVIRONMENT_VARIABLE = "ATRIUM_ADMIN_KEY";
    public static final String SECRETS_KEY_ENVIRONMENT_VARIABLE = "ATRIUM_SECRETS_KEY";
    public static final String STORE_PASSWORD_ENVIRONMENT_VARIABLE = Database.PASSWORD_ENVIRONMENT_VARIABLE;

    private ServerConfigLoader() {}

    /**
     * @param flags values given on the command line, keyed by {@link ServerSetting#key()} (and {@code config})
     * @param environment the process environment
     * @throws IllegalArgumentException naming the setting and its source when a value is invalid
     */
    public static ServerConfig load(Map<String, String> flags, Map<String, String> environment) {
        Map<String, String> file = readConfigFile(flags.getOrDefault(CONFIG_FLAG, environment.get(CONFIG_ENVIRONMENT_VARIABLE)));
        Map<ServerSetting, String> values = new HashMap<>();
        for (ServerSetting setting : ServerSetting.values()) {
            String value = flags.get(setting.key());
            if (value == null) {
                value = environment.get(setting.environmentVariable());
            }
            if (value == null) {
                value = file.get(setting.key());
            }
            values.put(setting, value == null ? setting.defaultValue() : value.strip());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        int engineThreads = parse(values, ServerSetting.ENGINE_THREADS, v -> v.equals("auto") ? cores : Integer.parseInt(v));
        int intraOpThreads = parse(values, ServerSetting.INTRA_OP_THREADS,
                v -> v.equals("auto") ? Math.max(1, cores / engineThreads) : Integer.parseInt(v));
        try {
            return new ServerConfig(
                    values.get(ServerSetting.BIND),
                    parse(values, ServerSetting.PORT, Integer::parseInt),
                    Path.of(values.get(ServerSetting.DATA_DIR)),
                    engineThreads,
                    intraOpThreads,
                    parse(values, ServerSetting.EXECUTION_PROVIDER, ServerConfigLoader::parseCudaDevice),
                    parse(values, ServerSetting.PRELOAD, ServerConfigLoader::parseList),
                    parse(values, ServerSetting.TRUNCATE_INPUTS, ServerConfigLoader::parseBoolean),
                    parse(values, ServerSetting.MAX_REQUEST_SIZE, ServerConfigLoader::parseSize),
                    parse(values, ServerSetting.MAX_UPLOAD_SIZE, ServerConfigLoader::parseSize),
                    parse(values, ServerSetting.MAX_OUTPUT_SIZE, ServerConfigLoader::parseSize),
                    parse(values, ServerSetting.QUEUE_CAPACITY, Integer::parseInt),
                    parse(values, ServerSetting.DRAIN_TIMEOUT, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.DEFAULT_RPM, Integer::parseInt),
                    parse(values, ServerSetting.DEFAULT_TPM, Integer::parseInt),
                    parse(values, ServerSetting.DEFAULT_MAX_CONCURRENT,
                            v -> v.equalsIgnoreCase("none") ? null : Integer.valueOf(v)),
                    parse(values, ServerSetting.RATE_LIMIT_WINDOW, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.METRICS_OPEN, ServerConfigLoader::parseBoolean),
                    parse(values, ServerSetting.SECRETS_KEY_FILE, v -> v.equals("auto")
                            ? Path.of(values.get(ServerSetting.DATA_DIR)).resolve("secrets.key") : Path.of(v)),
                    environment.get(ADMIN_KEY_ENVIRONMENT_VARIABLE),
                    environment.get(SECRETS_KEY_ENVIRONMENT_VARIABLE),
                    parse(values, ServerSetting.HEADER_TIMEOUT, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.BODY_TIMEOUT, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.IDLE_TIMEOUT, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.MAX_CONNECTIONS,
                            v -> v.equals("auto") ? defaultMaxConnections() : Integer.parseInt(v)),
                    parse(values, ServerSetting.TLS_CERT, ServerConfigLoader::parseOptionalPath),
                    parse(values, ServerSetting.TLS_KEY, ServerConfigLoader::parseOptionalPath),
                    parse(values, ServerSetting.AUDIT_RETENTION_DAYS, v -> Duration.ofDays(Long.parseLong(v))),
                    parse(values, ServerSetting.CALL_DEADLINE, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.LLAMA_NATIVES, v -> v.equals("auto") ? null : Path.of(v)),
                    parse(values, ServerSetting.MAX_AUDIO_SIZE, ServerConfigLoader::parseSize),
                    parse(values, ServerSetting.MAX_AUDIO_DURATION, ServerConfigLoader::parseDuration),
                    parse(values, ServerSetting.TRAINING_CONCURRENCY, Integer::parseInt),
                    parse(values, ServerSetting.MEMORY_BUDGET, ServerConfigLoader::parseMemoryBudget),
                    parse(values, ServerSetting.KEEP_ALIVE,
                            v -> v.equalsIgnoreCase("none") ? null : parseDuration(v)),
                    parse(values, ServerSetting.REQUIRE_SIGNED_UPLOADS, ServerConfigLoader::parseBoolean),
                    parse(values, ServerSetting.STORE, StoreLocation::parse),
                    environment.get(STORE_PASSWORD_ENVIRONMENT_VARIABLE),
                    parse(values, ServerSetting.RATE_LIMITS_FAIL_OPEN, ServerConfigLoader::parseBoolean),
                    parse(values, ServerSetting.ARTIFACT_STORE, v -> ArtifactStoreConfig.parse(v,
                            values.get(ServerSetting.S3_ENDPOINT), values.get(ServerSetting.S3_REGION), environment)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid configuration: " + e.getMessage(), e);
        }
    }

    private interface Parser<T> {
        T parse(String value);
    }

    private static <T> T parse(Map<ServerSetting, String> values, ServerSetting setting, Parser<T> parser) {
        String value = values.get(setting);
        try {
            return parser.parse(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("invalid value for " + setting.key() + " (" + setting.environmentVariable()
                    + "): '" + value + "' — " + setting.description(), e);
        }
    }

    private static Map<String, String> readConfigFile(String location) {
        if (location == null || location.isBlank()) {
            return Map.of();
        }
        Path path = Path.of(location);
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(path)) {
            properties.load(reader);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config file " + path + ": " + e.getMessage(), e);
        }
        Map<String, String> values = new HashMap<>();
        for (String name : properties.stringPropertyNames()) {
            boolean known = Arrays.stream(ServerSetting.values()).anyMatch(s -> s.key().equals(name));
            if (!known) {
                throw new IllegalArgumentException("unknown setting '" + name + "' in config file " + path);
            }
            values.put(name, properties.getProperty(name));
        }
        return values;
    }

    static int parseCudaDevice(String value) {
        String provider = value.toLowerCase(Locale.ROOT);
        if (provider.equals("cpu")) {
            return -1;
        }
        if (provider.equals("cuda")) {
            return 0;
        }
        if (provider.startsWith("cuda:")) {
            int device = Integer.parseInt(provider.substring("cuda:".length()));
            if (device < 0) {
                throw new IllegalArgumentException("negative CUDA device");
            }
            return device;
        }
        throw new IllegalArgumentException("expected cpu, cuda or cuda:N");
    }

    static Path parseOptionalPath(String value) {
        return value.isBlank() || value.equalsIgnoreCase("none") ? null : Path.of(value);
    }

    /**
     * Three quarters of the process's file descriptor limit (the rest is for the store, models and logs), at most
     * 10,000; 10,000 where the limit is unknown.
     */
    static int defaultMaxConnections() {
        long limit = ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : -1;
        return limit <= 0 ? 10_000 : (int) Math.max(16, Math.min(10_000, limit * 3 / 4));
    }

    /** A size, {@code none} (no budget: {@link Long#MAX_VALUE}) or {@code auto} (3/4 of physical memory). */
    static long parseMemoryBudget(String value) {
        if (value.equalsIgnoreCase("none")) {
            return Long.MAX_VALUE;
        }
        if (value.equalsIgnoreCase("auto")) {
            return defaultMemoryBudget();
        }
        return parseSize(value);
    }

    /**
     * Three quarters of the physical memory (the container's limit where there is one): the rest is for the Java
     * heap, requests and the page cache. 8 GiB where it is unknown.
     */
    static long defaultMemoryBudget() {
        long total = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize() : 0;
        return total <= 0 ? 8L << 30 : total / 4 * 3;
    }

    static List<String> parseList(String value) {
        if (value.isBlank() || value.equalsIgnoreCase("none")) {
            return List.of();
        }
        return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    static boolean parseBoolean(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        };
    }

    static long parseSize(String value) {
        String size = value.toLowerCase(Locale.ROOT);
        long unit = switch (size.isEmpty() ? ' ' : size.charAt(size.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        String digits = unit == 1 ? size : size.substring(0, size.length() - 1);
        return Math.multiplyExact(Long.parseLong(digits), unit);
    }

    static Duration parseDuration(String value) {
        String duration = value.toLowerCase(Locale.ROOT);
        if (duration.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(duration.substring(0, duration.length() - 2)));
        }
        if (duration.endsWith("s")) {
            return Duration.ofSeconds(Long.parseLong(duration.substring(0, duration.length() - 1)));
        }
        if (duration.endsWith("m")) {
            return Duration.ofMinutes(Long.parseLong(duration.substring(0, duration.length() - 1)));
        }
        return Duration.ofSeconds(Long.parseLong(duration));
    }
}
