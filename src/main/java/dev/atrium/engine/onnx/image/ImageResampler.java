package dev.atrium.engine.onnx.image;

/**
 * Resizes 8-bit RGB images with PIL's convolution resampling ({@code Image.resize} with {@code BILINEAR} or
 * {@code BICUBIC}), which torchvision's {@code antialias=True} reproduces: when shrinking, the filter is
 * stretched by the scale factor, so every source pixel counts (antialiasing); when enlarging, it is the plain
 * triangle or Keys cubic (a = -0.5). Weights that fall outside the image are dropped and the rest renormalized.
 *
 * <p>The one difference from PIL, below one grey level: values stay in floating point, where PIL rounds each pass
 * (horizontal, then vertical) to 8 bits; like PIL, each pass is clamped to 0..255.
 *
 * <p>Without antialiasing the filter keeps its width when shrinking too: plain bilinear or bicubic interpolation
 * between the nearest source pixels (pixel centres aligned, as OpenCV's and torchvision's {@code antialias=False}).
 *
 * <p>Only the window asked for is computed, so that a center crop after a resize costs only the crop.
 */
final class ImageResampler {
    private ImageResampler() {}

    /**
     * The pixels {@code [left, left + width) × [top, top + height)} of {@code image} resized to
     * {@code resizedWidth × resizedHeight}, as floats in 0..255, row-major, three (R, G, B) per pixel.
     */
    static float[] resize(DecodedImage image, int resizedWidth, int resizedHeight, int left, int top, int width,
            int height, ImagePreprocessing.Interpolation interpolation, boolean antialias) {
        if (left < 0 || top < 0 || width < 1 || height < 1 || left + width > resizedWidth
                || top + height > resizedHeight) {
            throw new IllegalArgumentException("window " + width + "x" + height + " at (" + left + ", " + top
                    + ") is outside " + resizedWidth + "x" + resizedHeight);
        }
        Coefficients columns = Coefficients.of(image.width(), resizedWidth, left, width, interpolation, antialias);
        Coefficients rows = Coefficients.of(image.height(), resizedHeight, top, height, interpolation, antialias);
        int firstRow = rows.first[0];
        int endRow = 0;
        for (int j = 0; j < height; j++) {
            endRow = Math.max(endRow, rows.first[j] + rows.count[j]);
        }

        // horizontal pass over the source rows the vertical pass reads (only those: without antialiasing a shrink
        // reads two of every few rows), reading each output's few source pixels straight from the packed RGB
        boolean[] needed = new boolean[endRow - firstRow];
        for (int j = 0; j < height; j++) {
            java.util.Arrays.fill(needed, rows.first[j] - firstRow, rows.first[j] - firstRow + rows.count[j], true);
        }
        int[] pixels = image.pixels();
        int sourceWidth = image.width();
        float[] horizontal = new float[(endRow - firstRow) * width * 3];
        for (int y = firstRow; y < endRow; y++) {
            if (!needed[y - firstRow]) {
                continue;
            }
            int rowStart = y * sourceWidth;
            int out = (y - firstRow) * width * 3;
            for (int i = 0; i < width; i++) {
                double r = 0;
                double g = 0;
                double b = 0;
                int base = rowStart + columns.first[i];
                int weights = i * columns.taps;
                for (int k = 0; k < columns.count[i]; k++) {
                    double weight = columns.weights[weights + k];
                    int pixel = pixels[base + k];
                    r += weight * (pixel >> 16 & 0xFF);
                    g += weight * (pixel >> 8 & 0xFF);
                    b += weight * (pixel & 0xFF);
                }
                // PIL clamps each pass: a cubic's overshoot does not carry into the next
                horizontal[out + i * 3] = (float) Math.clamp(r, 0.0, 255.0);
                horizontal[out + i * 3 + 1] = (float) Math.clamp(g, 0.0, 255.0);
                horizontal[out + i * 3 + 2] = (float) Math.clamp(b, 0.0, 255.0);
            }
        }

        // vertical pass
        int stride = width * 3;
        float[] result = new float[height * stride];
        for (int j = 0; j < height; j++) {
            int base = (rows.first[j] - firstRow) * stride;
            int weights = j * rows.taps;
            for (int v = 0; v < stride; v++) {
                double sum = 0;
                for (int k = 0; k < rows.count[j]; k++) {
                    sum += rows.weights[weights + k] * horizontal[base + k * stride + v];
                }
                result[j * stride + v] = (float) Math.clamp(sum, 0.0, 255.0);
            }
        }
        return result;
    }

    /** For each output position, the first source position, how many follow, and their weights. */
    private record Coefficients(int[] first, int[] count, double[] weights, int taps) {
        /** Following PIL's {@code precompute_coeffs} (libImaging/Resample.c). */
        static Coefficients of(int inSize, int outSize, int outFirst, int outCount,
                ImagePreprocessing.Interpolation interpolation, boolean antialias) {
            double scale = (double) inSize / outSize;
            double filterScale = antialias ? Math.max(scale, 1.0) : 1.0;
            double support = support(interpolation) * filterScale;
            int taps = (int) Math.ceil(support) * 2 + 1;
            int[] first = new int[outCount];
            int[] count = new int[outCount];
            double[] weights = new double[outCount * taps];
            for (int i = 0; i < outCount; i++) {
                double center = (outFirst + i + 0.5) * scale;
                // (int) truncates toward zero, as the C cast does
                int min = Math.max((int) (center - support + 0.5), 0);
                int max = Math.min((int) (center + support + 0.5), inSize);
                double total = 0;
                for (int x = min; x < max; x++) {
                    double weight = filter(interpolation, (x - center + 0.5) / filterScale);
                    weights[i * taps + x - min] = weight;
                    total += weight;
                }
                for (int x = min; x < max; x++) {
                    weights[i * taps + x - min] = total == 0 ? 0 : weights[i * taps + x - min] / total;
                }
                first[i] = min;
                count[i] = max - min;
            }
            return new Coefficients(first, count, weights, taps);
        }

        private static double support(ImagePreprocessing.Interpolation interpolation) {
            return switch (interpolation) {
                case BILINEAR -> 1.0;
                case BICUBIC -> 2.0;
            };
        }

        private static double filter(ImagePreprocessing.Interpolation interpolation, double x) {
            double distance = Math.abs(x);
            return switch (interpolation) {
                case BILINEAR -> distance < 1.0 ? 1.0 - distance : 0.0;
                case BICUBIC -> {
                    double a = -0.5;
                    if (distance < 1.0) {
                        yield ((a + 2.0) * distance - (a + 3.0)) * distance * distance + 1;
                    }
                    yield distance < 2.0 ? (((distance - 5) * distance + 8) * distance - 4) * a : 0.0;
                }
            };
        }
    }
}
