package dev.atrium.training;

import static dev.atrium.training.ImageZips.noise;
import static dev.atrium.training.ImageZips.png;
import static dev.atrium.training.ImageZips.pngOfNoise;
import static dev.atrium.training.ImageZips.zip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The zip of image folders by label: what is read as an image and with which label, and every refusal. */
class ImageZipReaderTest {
    private static final ImageZipReader READER = new ImageZipReader("training_file",
            ImageClassificationTrainer.ZIP_LIMITS);

    private static List<ImageExample> read(byte[] zip) {
        return READER.read(new ByteArrayInputStream(zip));
    }

    private static Map<String, byte[]> entries(Object... namesAndBytes) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < namesAndBytes.length; i += 2) {
            entries.put((String) namesAndBytes[i], (byte[]) namesAndBytes[i + 1]);
        }
        return entries;
    }

    private static void assertRefused(byte[] zip, String... fragments) {
        assertThatThrownBy(() -> read(zip))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains("training_file");
                })
                .hasMessageContainingAll(fragments);
    }

    @Test
    void read_foldersByLabel_labelsEachImageByItsFolderAndSkipsFoldersMacMetadataAndDotFiles() {
        byte[] shirt = png(0, 1);
        byte[] coat = png(1, 2);
        List<ImageExample> examples = read(zip(entries("shirt/", new byte[0], "shirt/1.png", shirt,
                "coat/front/2.JPG", ImageZips.png(1, 3), "coat/3.png", coat, "__MACOSX/coat/._3.png", noise(200, 4),
                "coat/.DS_Store", noise(100, 5), ".ipynb_checkpoints/shirt/9.png", png(0, 6),
                "shirt/Thumbs.db", noise(50, 7))));

        assertThat(examples).extracting(ImageExample::label).containsExactly("shirt", "coat", "coat");
        assertThat(examples).extracting(ImageExample::where).containsExactly("entry 'shirt/1.png'",
                "entry 'coat/front/2.JPG'", "entry 'coat/3.png'");
        assertThat(examples.get(0).image()).isEqualTo(shirt);
        assertThat(examples.get(2).image()).isEqualTo(coat);
    }

    @Test
    void read_allInOneTopFolder_labelsByTheFolderBelowIt() {
        List<ImageExample> examples = read(zip(entries("fashion/", new byte[0], "fashion/shirt/1.png", png(0, 1),
                "fashion/coat/2.png", png(1, 2), "__MACOSX/fashion/coat/._2.png", noise(10, 3))));

        assertThat(examples).extracting(ImageExample::label).containsExactly("shirt", "coat");
    }

    @Test
    void read_oneFolderOfImagesOnly_isThatOneLabel() {
        assertThat(read(zip(entries("shirt/1.png", png(0, 1), "shirt/2.png", png(0, 2)))))
                .extracting(ImageExample::label).containsExactly("shirt", "shirt");
    }

    @Test
    void read_anImageOutsideAnyLabelFolder_isRefusedNamingIt() {
        assertRefused(zip(entries("shirt/1.png", png(0, 1), "2.png", png(1, 2))), "entry '2.png'",
                "not in a label folder");
        assertRefused(zip(entries("fashion/shirt/1.png", png(0, 1), "fashion/2.png", png(1, 2))),
                "entry 'fashion/2.png'", "not in a label folder");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x/1.png", "/abs/1.png", "a\\b.png", "shirt\\1.png", "shirt/../../x/1.png",
            "shirt/\u0000.png", "C:/shirt/1.png", "./shirt/1.png", "shirt//1.png", "../"})
    void read_anEntryNamedOutsideTheArchive_isRefusedNamingIt(String name) {
        byte[] zip = zip(entries("shirt/1.png", png(0, 1), name, png(1, 2)));

        assertRefused(zip, ImageZipReader.entry(name), "must be a relative path inside the archive");
        assertThat(ImageZipReader.entry(name)).doesNotContain("\u0000");
    }

    @Test
    void read_aFileThatIsNotAZip_isRefused() {
        assertRefused("{\"image\": \"iVBORw0KGgo=\", \"label\": \"shirt\"}\n".getBytes(StandardCharsets.UTF_8),
                "not a zip archive", "LABEL/NAME.png");
        assertRefused(png(0, 1), "not a zip archive");
        assertRefused(new byte[0], "not a zip archive");
    }

    @Test
    void read_aZipWithoutImages_isRefused() {
        assertRefused(zip(Map.of()), "the zip archive is empty");
        assertRefused(zip(entries("shirt/", new byte[0], "__MACOSX/shirt/._1.png", png(0, 1), ".DS_Store",
                noise(10, 2))), "has no images", "LABEL/NAME.png");
    }

    @Test
    void read_anEntryThatIsNotAnImage_isRefusedNamingIt() {
        assertRefused(zip(entries("shirt/1.png", png(0, 1), "shirt/notes.txt", "hello".getBytes(
                StandardCharsets.UTF_8))), "entry 'shirt/notes.txt' is not an image");
        assertRefused(zip(entries("shirt/1.png", png(0, 1), "coat/2.png", "not a png".getBytes(
                StandardCharsets.UTF_8))), "entry 'coat/2.png' is not a PNG, JPEG, GIF, BMP or WebP image");
        assertRefused(zip(entries("shirt/1.png", png(0, 1), "coat/empty.jpg", new byte[0])),
                "entry 'coat/empty.jpg' is not a PNG");
    }

    @Test
    void read_aZipCutShort_isRefusedNamingTheEntryItBrokeIn() {
        byte[] whole = zip(entries("shirt/1.png", png(0, 1), "coat/2.png", noise(40_000, 2)));

        assertRefused(Arrays.copyOf(whole, whole.length / 2), "could not be read at entry 'coat/2.png'");
    }

    @Test
    void read_anImageLargerThanTheLimit_isRefusedNamingIt() {
        ImageZipReader reader = new ImageZipReader("validation_file", new ImageZipLimits(10, 30, 1000, 1 << 20,
                100, 0));
        byte[] zip = zip(entries("shirt/1.png", png(0, 1), "coat/big.png", pngOfNoise(1001, 2)));

        assertThatThrownBy(() -> reader.read(new ByteArrayInputStream(zip)))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.param()).contains("validation_file"))
                .hasMessageContaining("entry 'coat/big.png' is larger than 1000 bytes");
    }

    @Test
    void read_pastTheTotalInflatedBytes_isRefusedNamingTheEntry_skippedEntriesCounting() {
        ImageZipReader reader = new ImageZipReader("training_file", new ImageZipLimits(10, 30, 4000, 10_000, 100,
                0));
        byte[] zip = zip(entries("shirt/1.png", png(0, 1), "__MACOSX/shirt/._1.png", noise(3000, 2),
                "coat/2.png", pngOfNoise(3000, 3), "coat/3.png", pngOfNoise(3000, 4), "coat/4.png",
                pngOfNoise(3000, 5)));

        assertThatThrownBy(() -> reader.read(new ByteArrayInputStream(zip)))
                .hasMessageContaining("inflates to more than 10000 bytes in all (at entry 'coat/4.png')");
    }

    @Test
    void read_moreImagesOrEntriesThanTheLimits_isRefused() {
        ImageZipReader reader = new ImageZipReader("training_file", new ImageZipLimits(3, 5, 1000, 10_000, 100, 0));
        byte[] images = zip(entries("a/1.png", png(0, 1), "a/2.png", png(0, 2), "b/3.png", png(1, 3), "b/4.png",
                png(1, 4)));
        byte[] entries = zip(entries("a/", new byte[0], "b/", new byte[0], "c/", new byte[0], "a/1.png", png(0, 1),
                "b/2.png", png(1, 2), "d/", new byte[0]));

        assertThatThrownBy(() -> reader.read(new ByteArrayInputStream(images)))
                .hasMessageContaining("more than 3 images");
        assertThatThrownBy(() -> reader.read(new ByteArrayInputStream(entries)))
                .hasMessageContaining("more than 5 entries");
    }
}
