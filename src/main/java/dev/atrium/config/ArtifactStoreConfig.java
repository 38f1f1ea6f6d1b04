package dev.atrium.config;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where model artifacts and tenant files are shared between replicas: an S3 bucket and a key prefix in it, from
 * the {@code artifact-store} setting ({@code s3://BUCKET/PREFIX}); {@code local} (no shared store) is a null
 * config in {@link ServerConfig}.
 *
 * <p>Credentials are never settings (they would show in flags, files and logs): they come from the environment
 * ({@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_SESSION_TOKEN}) as the loader was given
 * it, or else from the AWS SDK's default chain (system properties, profile files, container and instance roles).
 *
 * @param bucket the bucket's name
 * @param prefix the key prefix, without slashes at either end; empty for the bucket's root
 * @param endpoint an S3-compatible endpoint (MinIO, s3proxy, ...), reached with path-style requests; null for AWS
 * @param region the bucket's region, e.g. {@code us-east-1}
 * @param accessKeyId from the environment, or null for the SDK's default chain
 * @param secretAccessKey from the environment, with {@code accessKeyId}
 * @param sessionToken from the environment, or null
 */
public record ArtifactStoreConfig(String bucket, String prefix, URI endpoint, String region, String accessKeyId,
        String secretAccessKey, String sessionToken) {
    /** S3's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at each end. */
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*");
    private static final Pattern REGION = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");

    public ArtifactStoreConfig {
        requireNonNull(bucket, "bucket is null");
        requireNonNull(prefix, "prefix is null");
        requireNonNull(region, "region is null");
        if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
            throw new IllegalArgumentException("'" + bucket + "' is not a valid S3 bucket name (3 to 63 lowercase"
                    + " letters, digits, dots and hyphens)");
        }
        if (!prefix.isEmpty() && (!PREFIX.matcher(prefix).matches() || ("/" + prefix + "/").contains("/../")
                || ("/" + prefix + "/").contains("/./"))) {
            throw new IllegalArgumentException("'" + prefix + "' is not a valid key prefix (letters, digits and"
                    + " !_.*'()- in segments separated by single slashes)");
        }
        if (!REGION.matcher(region).matches()) {
            throw new IllegalArgumentException("'" + region + "' is not a region name, e.g. us-east-1");
        }
        if (endpoint != null && (endpoint.getHost() == null || !(endpoint.getScheme().equals("http")
                || endpoint.getScheme().equals("https")) || endpoint.getRawUserInfo() != null
                || endpoint.getRawQuery() != null)) {
            throw new IllegalArgumentException("the S3 endpoint must be an http or https URL with a host and no"
                    + " user or query, e.g. http://minio:9000");
        }
        if ((accessKeyId == null) != (secretAccessKey == null)) {
            throw new IllegalArgumentException("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together");
        }
    }

    /**
     * Parses the {@code artifact-store} setting.
     *
     * @return null for {@code local}
     * @throws IllegalArgumentException for anything but {@code local} or {@code s3://BUCKET[/PREFIX]}
     */
    static ArtifactStoreConfig parse(String store, String endpoint, String region, java.util.Map<String, String> env) {
        if (store.equalsIgnoreCase("local")) {
            return null;
        }
        if (!store.toLowerCase(Locale.ROOT).startsWith("s3://")) {
            throw new IllegalArgumentException("expected local or s3://BUCKET/PREFIX");
        }
        String rest = store.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        URI uri = null;
        if (endpoint != null && !endpoint.isBlank() && !endpoint.equalsIgnoreCase("none")) {
            try {
                uri = new URI(endpoint);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("the S3 endpoint '" + endpoint + "' is not a URL");
            }
        }
        return new ArtifactStoreConfig(bucket, prefix, uri, region, blankToNull(env.get("AWS_ACCESS_KEY_ID")),
                blankToNull(env.get("AWS_SECRET_ACCESS_KEY")), blankToNull(env.get("AWS_SESSION_TOKEN")));
    }

    /** {@code s3://bucket/prefix}: where the objects are, for messages and logs. */
    public String location() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    /** Never shows the credentials. */
    @Override
    public String toString() {
        return "ArtifactStoreConfig[" + location() + ", endpoint=" + (endpoint == null ? "aws" : endpoint)
                + ", region=" + region + ", credentials=" + (accessKeyId == null ? "default chain" : "environment")
                + "]";
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
