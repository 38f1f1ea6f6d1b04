package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import dev.atrium.config.ArtifactStoreConfig;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An {@link ObjectStore} in an S3 bucket under a key prefix, through the AWS SDK v2 over the JDK's
 * {@code HttpURLConnection} (no Netty, no Apache client: the server needs a few requests at a time, not a pool).
 * With an endpoint of its own (MinIO, s3proxy, Ceph) requests are path-style ({@code http://host/bucket/key}),
 * which those stores expect; without one, it is AWS's regional endpoint.
 *
 * <p>Checksums are computed only where S3 requires them: the content itself is addressed by its sha256 and checked
 * by the caller on every download, and S3-compatible stores do not all take the SDK's newer trailing checksums.
 */
public final class S3ObjectStore implements ObjectStore {
    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final String location;

    private S3ObjectStore(S3Client s3, String bucket, String prefix, String location) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        this.location = location;
    }

    /** A client of the configured bucket; nothing is sent until the first call ({@link #checkReachable}). */
    public static S3ObjectStore open(ArtifactStoreConfig config) {
        requireNonNull(config, "config is null");
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(credentials(config))
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60)))
                .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation
                        .WHEN_REQUIRED)
                .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation
                        .WHEN_REQUIRED);
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint()).forcePathStyle(true);
        }
        return new S3ObjectStore(builder.build(), config.bucket(),
                config.prefix().isEmpty() ? "" : config.prefix() + "/", config.location());
    }

    private static AwsCredentialsProvider credentials(ArtifactStoreConfig config) {
        if (config.accessKeyId() == null) {
            return DefaultCredentialsProvider.builder().build();
        }
        return StaticCredentialsProvider.create(config.sessionToken() == null
                ? AwsBasicCredentials.create(config.accessKeyId(), config.secretAccessKey())
                : AwsSessionCredentials.create(config.accessKeyId(), config.secretAccessKey(),
                        config.sessionToken()));
    }

    @Override
    public String location() {
        return location;
    }

    @Override
    public void checkReachable() {
        try {
            s3.headBucket(request -> request.bucket(bucket));
        } catch (SdkException e) {
            throw failure("reach the bucket", "", e);
        }
    }

    @Override
    public Optional<StoredObject> find(String key) {
        try {
            HeadObjectResponse head = s3.headObject(request -> request.bucket(bucket).key(prefix + key));
            return Optional.of(new StoredObject(key, head.contentLength(), head.lastModified()));
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw failure("look up", key, e);
        } catch (SdkException e) {
            throw failure("look up", key, e);
        }
    }

    @Override
    public void put(String key, Path file) {
        try {
            s3.putObject(request -> request.bucket(bucket).key(prefix + key), RequestBody.fromFile(file));
        } catch (SdkException e) {
            throw failure("upload", key, e);
        }
    }

    @Override
    public Optional<InputStream> open(String key) {
        try {
            return Optional.of(s3.getObject(request -> request.bucket(bucket).key(prefix + key)));
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw failure("download", key, e);
        } catch (SdkException e) {
            throw failure("download", key, e);
        }
    }

    @Override
    public boolean delete(String key) {
        if (find(key).isEmpty()) {
            return false;
        }
        try {
            s3.deleteObject(request -> request.bucket(bucket).key(prefix + key));
            return true;
        } catch (SdkException e) {
            throw failure("delete", key, e);
        }
    }

    @Override
    public List<StoredObject> list(String keyPrefix) {
        List<StoredObject> objects = new ArrayList<>();
        try {
            for (S3Object object : s3.listObjectsV2Paginator(request -> request.bucket(bucket)
                    .prefix(prefix + keyPrefix)).contents()) {
                objects.add(new StoredObject(object.key().substring(prefix.length()), object.size(),
                        object.lastModified()));
            }
        } catch (SdkException e) {
            throw failure("list", keyPrefix, e);
        }
        return List.copyOf(objects);
    }

    @Override
    public void close() {
        s3.close();
    }

    private ObjectStoreException failure(String operation, String key, SdkException e) {
        // the SDK's message says what the store answered (status, error code, request id); never a credential
        return new ObjectStoreException("cannot " + operation + " " + location + "/" + key + ": " + e.getMessage(),
                e);
    }
}
