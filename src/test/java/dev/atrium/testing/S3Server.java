package dev.atrium.testing;

import dev.atrium.config.ArtifactStoreConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * A real S3-compatible server in this JVM: s3proxy over its filesystem backend in a temporary directory, on a
 * free loopback port, checking AWS signatures (v2 or v4) against credentials of its own. Each {@link #newBucket}
 * is a bucket of its own; {@link #stop} and {@link #restart} make it unreachable and back on the same port.
 */
public final class S3Server implements AutoCloseable {
    private final Path directory;
    private final FilesystemNio2BlobStore blobs;
    private final String accessKey = "atrium-test-" + UUID.randomUUID().toString().substring(0, 8);
    private final String secretKey = UUID.randomUUID().toString();
    private final int port;
    private S3Proxy proxy;

    private S3Server(Path directory) throws Exception {
        this.directory = directory;
        this.blobs = new FilesystemNio2BlobStore(directory.toString());
        this.proxy = proxy(0);
        this.port = proxy.getPort();
    }

    public static S3Server start() {
        try {
            return new S3Server(Files.createTempDirectory("atrium-s3-"));
        } catch (Exception e) {
            throw new IllegalStateException("cannot start s3proxy", e);
        }
    }

    private S3Proxy proxy(int onPort) throws Exception {
        S3Proxy started = S3Proxy.builder().blobStore(blobs)
                .endpoint(URI.create("http://127.0.0.1:" + onPort))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .build();
        started.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!"STARTED".equals(started.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("s3proxy did not start: " + started.getState());
            }
            Thread.sleep(10);
        }
        return started;
    }

    /** Makes an empty bucket; returns its name. */
    public String newBucket() {
        String bucket = "atrium-" + UUID.randomUUID().toString().substring(0, 13);
        blobs.createContainer(bucket);
        return bucket;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** A client configuration of {@code bucket} under {@code prefix}. */
    public ArtifactStoreConfig config(String bucket, String prefix) {
        return new ArtifactStoreConfig(bucket, prefix, endpoint(), "us-east-1", accessKey, secretKey, null);
    }

    /** The server settings ({@code artifact-store}, {@code s3-endpoint}) for {@code bucket}. */
    public Map<String, String> settings(String bucket) {
        return Map.of("artifact-store", "s3://" + bucket + "/atrium", "s3-endpoint", endpoint().toString());
    }

    /** The environment a server reaches the store with. */
    public Map<String, String> environment() {
        return Map.of("AWS_ACCESS_KEY_ID", accessKey, "AWS_SECRET_ACCESS_KEY", secretKey);
    }

    /** The file in s3proxy's backend holding an object, to alter or remove behind the store's back. */
    public Path file(String bucket, String key) {
        return directory.resolve(bucket).resolve(key);
    }

    /** Every object's key in {@code bucket}, from the backend's files. */
    public Stream<String> keys(String bucket) {
        Path root = directory.resolve(bucket);
        try {
            return Files.walk(root).filter(Files::isRegularFile).map(root::relativize).map(Path::toString)
                    .toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops answering (connections refused) until {@link #restart}. */
    public synchronized void stop() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop s3proxy", e);
        }
    }

    /** Answers again, on the same port, with the same objects. */
    public synchronized void restart() {
        try {
            proxy = proxy(port);
        } catch (Exception e) {
            throw new IllegalStateException("cannot restart s3proxy", e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            // already stopped
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // a temporary directory
        }
    }
}
