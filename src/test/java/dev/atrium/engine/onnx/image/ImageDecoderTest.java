package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bytes a client sent become the pixels they show, in every supported format; bad bytes become 400s. */
class ImageDecoderTest {
    private static final long MAX_PIXELS = 50_000_000;
    private final ImageDecoder decoder = new ImageDecoder(MAX_PIXELS);

    @TempDir
    Path temporary;

    /** A real photo's corner, small enough to compare pixel by pixel. */
    private static BufferedImage photoCrop() {
        BufferedImage photo = ImageFixtures.readRgb(ImageFixtures.photos().getFirst());
        BufferedImage crop = new BufferedImage(120, 90, BufferedImage.TYPE_INT_RGB);
        crop.getGraphics().drawImage(photo.getSubimage(300, 500, 120, 90), 0, 0, null);
        return crop;
    }

    private static int[] pixels(BufferedImage image) {
        int[] rgb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
        return Arrays.stream(rgb).map(pixel -> pixel & 0xFFFFFF).toArray();
    }

    private static int[] pixels(DecodedImage image) {
        int[] rgb = new int[image.width() * image.height()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                rgb[y * image.width() + x] = image.rgb(x, y);
            }
        }
        return rgb;
    }

    /** The mean absolute difference per channel, in grey levels. */
    private static double meanDifference(int[] a, int[] b) {
        assertThat(a).hasSameSizeAs(b);
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            for (int shift = 0; shift <= 16; shift += 8) {
                sum += Math.abs((a[i] >> shift & 0xFF) - (b[i] >> shift & 0xFF));
            }
        }
        return sum / (3.0 * a.length);
    }

    private void assertRefused(byte[] bytes, String why) {
        assertThatThrownBy(() -> decoder.decode(bytes, "file"))
                .as(why)
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains("file");
                    assertThat(e.getMessage()).contains("'file'").doesNotContain("Exception", "/");
                });
    }

    // ---- formats ------------------------------------------------------------------------------------------------

    @Test
    void decode_losslessFormats_giveTheSourcePixelsExactly() {
        BufferedImage source = photoCrop();
        int[] expected = pixels(source);
        byte[] png = ImageFixtures.encode(source, "png");
        Map<String, byte[]> files = Map.of("png", png, "bmp", ImageFixtures.encode(source, "bmp"),
                "lossless webp", ImageFixtures.webp(png, true, temporary));
        files.forEach((format, bytes) -> {
            DecodedImage image = decoder.decode(bytes, "file");
            assertThat(image.width()).as(format).isEqualTo(120);
            assertThat(image.height()).as(format).isEqualTo(90);
            assertThat(pixels(image)).as(format).isEqualTo(expected);
        });
    }

    @Test
    void decode_lossyFormats_giveTheSourcePixelsClosely() {
        BufferedImage source = photoCrop();
        byte[] jpeg = ImageFixtures.encode(source, "jpeg");
        Map<String, byte[]> files = Map.of("jpeg", jpeg, "webp", ImageFixtures.webp(ImageFixtures.encode(source, "png"),
                false, temporary));
        files.forEach((format, bytes) -> assertThat(meanDifference(pixels(decoder.decode(bytes, "file")),
                pixels(source))).as(format).isLessThan(4.0));
    }

    @Test
    void decode_paletteImages_inGifAndPng_giveThePaletteColours() {
        int[] palette = {0x000000, 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0x808080, 0x123456, 0xFEDCBA};
        IndexColorModel model = new IndexColorModel(8, palette.length, palette, 0, false, -1, DataBuffer.TYPE_BYTE);
        BufferedImage indexed = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_INDEXED, model);
        Random random = new Random(7);
        int[] expected = new int[40 * 30];
        for (int i = 0; i < expected.length; i++) {
            int index = random.nextInt(palette.length);
            indexed.getRaster().setSample(i % 40, i / 40, 0, index);
            expected[i] = palette[index];
        }
        for (String format : List.of("gif", "png")) {
            assertThat(pixels(decoder.decode(ImageFixtures.encode(indexed, format), "file"))).as(format)
                    .isEqualTo(expected);
        }
    }

    @Test
    void decode_grayImages_giveTheStoredLevelsInEveryChannel() {
        BufferedImage gray = new BufferedImage(32, 8, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage gray16 = new BufferedImage(32, 8, BufferedImage.TYPE_USHORT_GRAY);
        int[] expected = new int[32 * 8];
        for (int i = 0; i < expected.length; i++) {
            int level = i % 256;
            gray.getRaster().setSample(i % 32, i / 32, 0, level);
            gray16.getRaster().setSample(i % 32, i / 32, 0, level * 257);
            // no gamma curve: PIL's convert("RGB") copies the level
            expected[i] = level << 16 | level << 8 | level;
        }
        assertThat(pixels(decoder.decode(ImageFixtures.encode(gray, "png"), "file"))).as("8-bit").isEqualTo(expected);
        assertThat(pixels(decoder.decode(ImageFixtures.encode(gray16, "png"), "file"))).as("16-bit").isEqualTo(expected);
        assertThat(meanDifference(pixels(decoder.decode(ImageFixtures.encode(gray, "jpeg"), "file")), expected))
                .as("gray JPEG").isLessThan(3.0);
    }

    @Test
    void decode_alpha_isDropped_leavingTheStoredColours() {
        BufferedImage argb = new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB);
        int[] expected = new int[16 * 16];
        Random random = new Random(3);
        for (int i = 0; i < expected.length; i++) {
            expected[i] = random.nextInt(0x1000000);
            // every opacity, transparent included, keeps its colour
            argb.setRGB(i % 16, i / 16, (i % 256) << 24 | expected[i]);
        }
        assertThat(pixels(decoder.decode(ImageFixtures.encode(argb, "png"), "file"))).isEqualTo(expected);
    }

    @Test
    void decode_adobeCmykJpeg_isConvertedToRgb() throws Exception {
        // half cyan, half white, in the inverted CMYK of Adobe JPEGs; the JDK's own JPEG reader refuses these
        int width = 32;
        int height = 16;
        WritableRaster cmyk = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, width, height, 4, null);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                cmyk.setPixel(x, y, x < width / 2 ? new int[] {0, 255, 255, 255} : new int[] {255, 255, 255, 255});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(stream);
            writer.write(null, new IIOImage(cmyk, null, null), null);
        } finally {
            writer.dispose();
        }
        byte[] plain = out.toByteArray();
        // an APP14 "Adobe" segment, transform 0 (CMYK stored as is), right after the start of image
        byte[] adobe = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        byte[] jpeg = ByteBuffer.allocate(plain.length + adobe.length).put(plain, 0, 2).put(adobe)
                .put(plain, 2, plain.length - 2).array();

        DecodedImage image = decoder.decode(jpeg, "file");
        int cyan = image.rgb(4, 8);
        int white = image.rgb(width - 5, 8);
        assertThat(cyan >> 16 & 0xFF).as("red of cyan").isLessThan(60);
        assertThat(cyan >> 8 & 0xFF).as("green of cyan").isGreaterThan(180);
        assertThat(cyan & 0xFF).as("blue of cyan").isGreaterThan(180);
        assertThat(List.of(white >> 16 & 0xFF, white >> 8 & 0xFF, white & 0xFF)).allMatch(level -> level > 230);
    }

    // ---- orientation --------------------------------------------------------------------------------------------

    /** Stored quadrants: red top left, green top right, blue bottom left, white bottom right; 64 wide, 32 high. */
    private static byte[] quadrantsJpeg() {
        BufferedImage image = new BufferedImage(64, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 64; x++) {
                image.setRGB(x, y, y < 16 ? (x < 32 ? 0xFF0000 : 0x00FF00) : (x < 32 ? 0x0000FF : 0xFFFFFF));
            }
        }
        return ImageFixtures.encode(image, "jpeg");
    }

    /** The stored colour nearest to a decoded pixel. */
    private static String colour(int rgb) {
        Map<String, Integer> colours = Map.of("red", 0xFF0000, "green", 0x00FF00, "blue", 0x0000FF, "white", 0xFFFFFF);
        return colours.entrySet().stream().min((a, b) -> Double.compare(distance(a.getValue(), rgb),
                distance(b.getValue(), rgb))).orElseThrow().getKey();
    }

    private static double distance(int a, int b) {
        return Math.abs((a >> 16 & 0xFF) - (b >> 16 & 0xFF)) + Math.abs((a >> 8 & 0xFF) - (b >> 8 & 0xFF))
                + Math.abs((a & 0xFF) - (b & 0xFF));
    }

    @Test
    void decode_exifOrientation_allEightValues_showTheImageAsDisplayed() {
        byte[] jpeg = quadrantsJpeg();
        // the EXIF table (TIFF 6.0 tag 274): the stored quadrant shown at top left, top right, bottom left, bottom
        // right; 5 to 8 swap width and height
        Map<Integer, List<String>> displayed = Map.of(
                1, List.of("red", "green", "blue", "white"),
                2, List.of("green", "red", "white", "blue"),
                3, List.of("white", "blue", "green", "red"),
                4, List.of("blue", "white", "red", "green"),
                5, List.of("red", "blue", "green", "white"),
                6, List.of("blue", "red", "white", "green"),
                7, List.of("white", "green", "blue", "red"),
                8, List.of("green", "white", "red", "blue"));
        for (int orientation = 1; orientation <= 8; orientation++) {
            DecodedImage image = decoder.decode(ImageFixtures.withOrientation(jpeg, orientation, temporary), "file");
            boolean swapped = orientation >= 5;
            assertThat(image.width()).as("width at orientation %d", orientation).isEqualTo(swapped ? 32 : 64);
            assertThat(image.height()).as("height at orientation %d", orientation).isEqualTo(swapped ? 64 : 32);
            int right = image.width() - 4;
            int bottom = image.height() - 4;
            assertThat(List.of(colour(image.rgb(3, 3)), colour(image.rgb(right, 3)), colour(image.rgb(3, bottom)),
                    colour(image.rgb(right, bottom)))).as("orientation %d", orientation)
                    .isEqualTo(displayed.get(orientation));
        }
    }

    // ---- refusals -----------------------------------------------------------------------------------------------

    private static byte[] chunk(String type, byte[] data) {
        ByteBuffer chunk = ByteBuffer.allocate(12 + data.length);
        chunk.putInt(data.length).put(type.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put(data);
        CRC32 crc = new CRC32();
        crc.update(chunk.array(), 4, 4 + data.length);
        return chunk.putInt((int) crc.getValue()).array();
    }

    /** A valid PNG signature and IHDR declaring 20000×20000 RGB, a few bytes of IDAT, and IEND: 80 bytes. */
    static byte[] pngBomb() {
        byte[] header = ByteBuffer.allocate(13).putInt(20_000).putInt(20_000).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0).array();
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        png.writeBytes(chunk("IHDR", header));
        png.writeBytes(chunk("IDAT", new byte[] {0x78, (byte) 0x9C, 0x63, 0, 0, 0, 1, 0, 1}));
        png.writeBytes(chunk("IEND", new byte[0]));
        return png.toByteArray();
    }

    /** An RLE8 BMP declaring 20000×20000 (its few run-length bytes could expand to all of it). */
    private static byte[] bmpBomb() {
        int offset = 54 + 256 * 4;
        ByteBuffer bmp = ByteBuffer.allocate(offset + 6).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bmp.put((byte) 'B').put((byte) 'M').putInt(offset + 6).putInt(0).putInt(offset)
                .putInt(40).putInt(20_000).putInt(20_000).putShort((short) 1).putShort((short) 8)
                .putInt(1).putInt(6).putInt(2835).putInt(2835).putInt(256).putInt(0);
        bmp.position(offset);
        // a run of 255 pixels of colour 0, the end of a line, the end of the bitmap
        return bmp.put((byte) 255).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 1).array();
    }

    /** A GIF logical screen and image descriptor of 65535×65535. */
    private static byte[] gifBomb() {
        return ByteBuffer.allocate(29).order(java.nio.ByteOrder.LITTLE_ENDIAN).put("GIF89a".getBytes())
                .putShort((short) -1).putShort((short) -1).put((byte) 0).put((byte) 0).put((byte) 0)
                .put((byte) 0x2C).putShort((short) 0).putShort((short) 0).putShort((short) -1).putShort((short) -1)
                .put((byte) 0).put((byte) 2).put((byte) 2).put((byte) 0x4C).put((byte) 0x01).put((byte) 0)
                .put((byte) 0x3B).array();
    }

    /** A JPEG start of frame (baseline, 3 components) declaring 65500×65500, and nothing else. */
    private static byte[] jpegBomb() {
        return new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xC0, 0, 17, 8, (byte) 0xFF, (byte) 0xDC,
                (byte) 0xFF, (byte) 0xDC, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, (byte) 0xFF, (byte) 0xD9};
    }

    /** A WebP VP8X header declaring a 16384×16384 canvas. */
    private static byte[] webpBomb() {
        return ByteBuffer.allocate(30).order(java.nio.ByteOrder.LITTLE_ENDIAN).put("RIFF".getBytes()).putInt(22)
                .put("WEBPVP8X".getBytes()).putInt(10).putInt(0)
                .put((byte) 0xFF).put((byte) 0x3F).put((byte) 0).put((byte) 0xFF).put((byte) 0x3F).put((byte) 0)
                .array();
    }

    @Test
    void decode_decompressionBombs_areRefusedFromTheirHeader_fastAndWithoutAllocating() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Map<String, byte[]> bombs = Map.of("png 20000x20000", pngBomb(), "bmp 20000x20000", bmpBomb(),
                "gif 65535x65535", gifBomb(), "jpeg 65500x65500", jpegBomb(), "webp 16384x16384", webpBomb());
        bombs.forEach((name, bomb) -> {
            decoder.decode(ImageFixtures.encode(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png"), "warm");
            long allocated = threads.getCurrentThreadAllocatedBytes();
            long start = System.nanoTime();
            assertThatThrownBy(() -> decoder.decode(bomb, "file")).as(name)
                    .isInstanceOfSatisfying(AtriumException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.param()).contains("file");
                        assertThat(e.getMessage()).as(name).contains("pixels", String.valueOf(MAX_PIXELS));
                    });
            assertThat(System.nanoTime() - start).as("%s refused in under a second", name).isLessThan(1_000_000_000L);
            // the pixels would take over a gigabyte
            assertThat(threads.getCurrentThreadAllocatedBytes() - allocated).as(name).isLessThan(8_000_000L);
        });
    }

    @Test
    void decode_underTheLimit_decodes_andOverIt_isRefused() {
        byte[] png = ImageFixtures.encode(new BufferedImage(100, 50, BufferedImage.TYPE_INT_RGB), "png");
        assertThat(new ImageDecoder(5_000).decode(png, "file").width()).isEqualTo(100);
        assertThatThrownBy(() -> new ImageDecoder(4_999).decode(png, "file"))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jpeg", "png", "gif", "bmp", "webp"})
    void decode_truncatedFiles_areRefused(String format) {
        BufferedImage source = photoCrop();
        byte[] whole = format.equals("webp") ? ImageFixtures.webp(ImageFixtures.encode(source, "png"), false, temporary)
                : ImageFixtures.encode(source, format);
        assertThat(decoder.decode(whole, "file").width()).as("whole").isEqualTo(120);
        for (double kept : List.of(0.5, 0.9)) {
            assertRefused(Arrays.copyOf(whole, (int) (whole.length * kept)), format + " cut to " + kept);
        }
        assertRefused(Arrays.copyOf(whole, 12), format + " cut inside the header");
    }

    @Test
    void decode_randomBytes_empty_andTextAreRefused() {
        Random random = new Random(11);
        for (int length : List.of(1, 16, 1000, 100_000)) {
            byte[] noise = new byte[length];
            random.nextBytes(noise);
            assertRefused(noise, length + " random bytes");
        }
        assertRefused(new byte[0], "empty");
        assertRefused("{\"not\": \"an image\"}".getBytes(), "JSON");
        assertThatThrownBy(() -> decoder.decode(new byte[0], "file")).hasMessageContaining("empty");
        assertThatThrownBy(() -> decoder.decode(new byte[1000], "file")).hasMessageContaining("not an image");
    }

    @Test
    void decode_formatsImageIoReadsButTheServerDoesNot_areRefused() {
        // TIFF: the JDK reads it, but it is not one of the five formats
        assertRefused(ImageFixtures.encode(photoCrop(), "tiff"), "TIFF");
        assertThatThrownBy(() -> decoder.decode(ImageFixtures.encode(photoCrop(), "tiff"), "file"))
                .hasMessageContaining("not an image in a supported format");
    }

    @Test
    void decode_thePhotos_asTheyAre() {
        for (Path photo : ImageFixtures.photos()) {
            DecodedImage image = decoder.decode(ImageFixtures.read(photo), "file");
            BufferedImage reference = ImageFixtures.readRgb(photo);
            assertThat(image.width()).isEqualTo(reference.getWidth());
            assertThat(image.height()).isEqualTo(reference.getHeight());
        }
    }
}
