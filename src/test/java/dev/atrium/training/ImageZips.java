package dev.atrium.training;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** Zip archives, images and a trainer's run built in memory, for the tests of image datasets in zips. */
final class ImageZips {
    private ImageZips() {}

    /** A zip of these entries, in order, deflated; a name ending in {@code /} is a folder. */
    static byte[] zip(Map<String, byte[]> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * A zip whose one entry, {@code name}, is {@code zeros} bytes of zeros, deflated as they are written: a zip
     * bomb, built without holding what it inflates to.
     */
    static byte[] bomb(String name, long zeros) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] chunk = new byte[1 << 20];
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry(name));
            for (long written = 0; written < zeros; written += chunk.length) {
                zip.write(chunk, 0, (int) Math.min(chunk.length, zeros - written));
            }
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** An 8 x 8 grey PNG: bright on the left for class 0, on the right for class 1, with seeded noise. */
    static byte[] png(int kind, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                boolean bright = kind == 0 ? x < 4 : x >= 4;
                image.getRaster().setSample(x, y, 0, (bright ? 200 : 40) + random.nextInt(40));
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return png.toByteArray();
    }

    /** {@code count} random bytes, which deflate does not shrink. */
    static byte[] noise(int count, long seed) {
        byte[] bytes = new byte[count];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    /** {@code count} bytes that start as a PNG does and go on as noise: an image to the zip, not to a decoder. */
    static byte[] pngOfNoise(int count, long seed) {
        byte[] bytes = noise(count, seed);
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        System.arraycopy(signature, 0, bytes, 0, signature.length);
        return bytes;
    }

    static ObjectNode hyperparameters() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * A job's view for its trainer over files held in memory, an image-classification job of {@code linear}
     * counting the bytes its trainer reads of them.
     */
    static final class InMemoryRun implements Trainer.Run {
        private final FineTuningJob job;
        private final String trainingName;
        private final byte[] training;
        private final String validationName;
        private final byte[] validation;
        private final List<String> events = new ArrayList<>();
        private long bytesRead;

        InMemoryRun(String trainingName, byte[] training, JsonNode hyperparameters) {
            this(trainingName, training, null, null, hyperparameters);
        }

        InMemoryRun(String trainingName, byte[] training, String validationName, byte[] validation,
                JsonNode hyperparameters) {
            this.job = new FineTuningJob("ftjob-test", "tenant", "key", TrainingMethod.IMAGE_CLASSIFICATION,
                    ImageClassificationTrainer.LINEAR, "images", "file-training", validation == null ? null
                    : "file-validation", hyperparameters, 7, JobStatus.VALIDATING_FILES, null, null, null,
                    Instant.EPOCH, null, null, null, null);
            this.trainingName = trainingName;
            this.training = training;
            this.validationName = validationName;
            this.validation = validation;
        }

        /** The bytes the trainer has read of its files, all reads together. */
        long bytesRead() {
            return bytesRead;
        }

        @Override
        public FineTuningJob job() {
            return job;
        }

        @Override
        public Supplier<InputStream> trainingFile() {
            return () -> counted(training);
        }

        @Override
        public String trainingFileName() {
            return trainingName;
        }

        @Override
        public Optional<String> validationFileName() {
            return Optional.ofNullable(validationName);
        }

        @Override
        public Optional<Supplier<InputStream>> validationFile() {
            return Optional.ofNullable(validation).map(bytes -> () -> counted(bytes));
        }

        @Override
        public void event(String message, JsonNode data) {
            events.add(message);
        }

        @Override
        public void checkpoint(long step, Map<String, Double> metrics) {}

        @Override
        public boolean cancelled() {
            return false;
        }

        @Override
        public Optional<byte[]> savedState() {
            return Optional.empty();
        }

        @Override
        public void saveState(byte[] state) {}

        private InputStream counted(byte[] bytes) {
            return new FilterInputStream(new java.io.ByteArrayInputStream(bytes)) {
                @Override
                public int read() throws IOException {
                    int b = super.read();
                    bytesRead += b < 0 ? 0 : 1;
                    return b;
                }

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    int n = super.read(buffer, offset, length);
                    bytesRead += Math.max(n, 0);
                    return n;
                }
            };
        }
    }
}
