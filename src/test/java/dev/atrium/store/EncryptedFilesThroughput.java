package dev.atrium.store;

import dev.atrium.testing.SettableClock;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Random;

/**
 * Write and read throughput of {@link EncryptedFiles} (not a unit test: run by hand with the test class path,
 * {@code java -cp ... dev.atrium.store.EncryptedFilesThroughput [MiB] [rounds]}).
 */
final class EncryptedFilesThroughput {
    private EncryptedFilesThroughput() {}

    public static void main(String[] args) throws Exception {
        int mebibytes = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long size = mebibytes * 1024L * 1024L;
        byte[] block = new byte[1 << 20];
        new Random(42).nextBytes(block);
        Path dataDirectory = Files.createTempDirectory("atrium-throughput");
        try (Database database = IndependentTenantCrypto.openStore(dataDirectory)) {
            TenantKeys keys = new TenantKeys(database.jdbi(), IndependentTenantCrypto.MASTER,
                    new SettableClock(Instant.EPOCH), 10, Duration.ofMinutes(5));
            EncryptedFiles files = new EncryptedFiles(dataDirectory.resolve("tenant-files"), keys);
            for (int round = 0; round < rounds; round++) {
                String id = "file-" + round;
                long start = System.nanoTime();
                files.write("ten_bench", id, new RepeatingInputStream(block, size), size);
                double writeSeconds = (System.nanoTime() - start) / 1e9;
                start = System.nanoTime();
                long read;
                try (InputStream in = files.open("ten_bench", id)) {
                    read = in.transferTo(OutputStream.nullOutputStream());
                }
                double readSeconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("round %d: %d MiB, write %.0f MB/s (%.2f s), read %.0f MB/s (%.2f s)%n", round,
                        mebibytes, size / 1e6 / writeSeconds, writeSeconds, read / 1e6 / readSeconds, readSeconds);
                files.delete("ten_bench", id);
            }
        } finally {
            try (var paths = Files.walk(dataDirectory)) {
                paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    private static final class RepeatingInputStream extends InputStream {
        private final byte[] block;
        private long remaining;

        RepeatingInputStream(byte[] block, long size) {
            this.block = block;
            this.remaining = size;
        }

        @Override
        public int read() {
            return remaining-- > 0 ? 0 : -1;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            if (remaining == 0) {
                return -1;
            }
            int count = (int) Math.min(Math.min(length, remaining), block.length);
            System.arraycopy(block, 0, buffer, offset, count);
            remaining -= count;
            return count;
        }
    }
}
