package dev.atrium.engine.onnx.image;

/**
 * An image as it is displayed (EXIF orientation applied), as 8-bit RGB pixels: what {@link ImageDecoder} makes and
 * {@link ImagePreprocessing} turns into a model's input.
 *
 * <p>Immutable: the pixels are only read once made.
 */
public final class DecodedImage {
    private final int width;
    private final int height;
    /** Row-major, one {@code 0xRRGGBB} int per pixel. */
    private final int[] rgb;

    DecodedImage(int width, int height, int[] rgb) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("an image is at least 1x1, not " + width + "x" + height);
        }
        if (rgb.length != (long) width * height) {
            throw new IllegalArgumentException(width + "x" + height + " pixels, but " + rgb.length + " values");
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The pixel at column {@code x}, row {@code y}, as {@code 0xRRGGBB}. */
    public int rgb(int x, int y) {
        if (x < 0 || x >= width || y < 0 || y >= height) {
            throw new IndexOutOfBoundsException("(" + x + ", " + y + ") is outside " + width + "x" + height);
        }
        return rgb[y * width + x];
    }

    /** The pixels themselves, for this package's readers, which must not change them. */
    int[] pixels() {
        return rgb;
    }
}
