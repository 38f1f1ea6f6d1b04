package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** The shared image classifier and its photos, and the tools the tests make images with. */
final class ImageFixtures {
    static final Path MODEL = Path.of("../shared/models/mobilenetv3-small-3class.onnx");
    static final Path IMAGES = Path.of("../shared/models/images");

    private ImageFixtures() {}

    /** Skips the test, saying why, when the shared model or its photos are not here. */
    static void assumeModel() {
        assumeTrue(Files.isRegularFile(MODEL) && Files.isDirectory(IMAGES),
                "needs " + MODEL + " and " + IMAGES + " (see ../shared/models/README.md)");
    }

    /** The six photos, each with the label its file name gives (meal_* is food). */
    static List<Path> photos() {
        assumeModel();
        try (Stream<Path> files = Files.list(IMAGES)) {
            List<Path> photos = files.filter(file -> file.toString().endsWith(".jpg")).sorted().toList();
            assertThat(photos).as("the README's six photos").hasSize(6);
            return photos;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String expectedLabel(Path photo) {
        String name = photo.getFileName().toString();
        return name.startsWith("meal_") ? "food" : name.substring(0, name.indexOf('_'));
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A photo as the JDK's ImageIO reads it, as plain RGB (independent of the decoder under test). */
    static BufferedImage readRgb(Path jpeg) {
        try {
            BufferedImage image = ImageIO.read(jpeg.toFile());
            BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
            rgb.getGraphics().drawImage(image, 0, 0, null);
            return rgb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code image} written by the JDK's writer for {@code format} (png, gif, bmp, jpeg, tiff). */
    static byte[] encode(BufferedImage image, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            assertThat(ImageIO.write(image, format, out)).as("a %s writer", format).isTrue();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** {@code source} (a JPEG or PNG file's bytes) as WebP, made by Debian's cwebp. */
    static byte[] webp(byte[] source, boolean lossless, Path directory) {
        Path in = directory.resolve("source-" + System.nanoTime());
        Path out = directory.resolve("out-" + System.nanoTime() + ".webp");
        try {
            Files.write(in, source);
            List<String> command = new ArrayList<>(List.of("cwebp", "-quiet"));
            command.addAll(lossless ? List.of("-lossless") : List.of("-q", "90"));
            command.addAll(List.of(in.toString(), "-o", out.toString()));
            run("cwebp (Debian package webp, which .ci/run installs)", command);
            return Files.readAllBytes(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of {@code jpeg} whose EXIF orientation tag exiftool set to {@code orientation}. */
    static byte[] withOrientation(byte[] jpeg, int orientation, Path directory) {
        Path file = directory.resolve("oriented-" + orientation + "-" + System.nanoTime() + ".jpg");
        try {
            Files.write(file, jpeg);
            run("exiftool (Debian package libimage-exiftool-perl, which .ci/run installs)", List.of("exiftool", "-q",
                    "-overwrite_original", "-Orientation=" + orientation, "-n", file.toString()));
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void run(String tool, List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                fail(tool + " failed: " + output);
            }
        } catch (IOException e) {
            fail(tool + " is needed and could not be started: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The model's session, input and output specs and metadata properties. */
    record Model(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs, Map<String, String> metadata) {
        static Model open() {
            assumeModel();
            try {
                OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                options.setIntraOpNumThreads(2);
                OrtSession session = OrtEnvironment.getEnvironment().createSession(MODEL.toString(), options);
                return new Model(session, specs(session.getInputInfo()), specs(session.getOutputInfo()),
                        session.getMetadata().getCustomMetadata());
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        }

        private static List<TensorSpec> specs(Map<String, NodeInfo> nodes) {
            return nodes.values().stream().map(node -> {
                TensorInfo info = (TensorInfo) node.getInfo();
                DataType type = switch (info.type) {
                    case FLOAT -> DataType.FP32;
                    case INT64 -> DataType.INT64;
                    default -> throw new IllegalStateException("unexpected " + info.type);
                };
                return new TensorSpec(node.getName(), type, Arrays.stream(info.getShape()).boxed().toList());
            }).toList();
        }
    }
}
