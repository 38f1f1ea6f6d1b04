package dev.atrium.engine.onnx.image;

import static java.util.Objects.requireNonNull;

import com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi;
import com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;
import dev.atrium.AtriumException;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataFormatImpl;
import javax.imageio.spi.IIORegistry;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Node;

/**
 * Decodes the bytes of a JPEG, PNG, GIF, BMP or WebP image a client sent into RGB pixels as displayed.
 *
 * <p>Design: ImageIO readers, TwelveMonkeys' for JPEG (CMYK and YCCK too) and WebP, the JDK's for the rest; other
 * formats ImageIO knows (TIFF, WBMP) are refused. The size is read from the header and checked against
 * {@code maxPixels} before any pixel is decoded, so a small file declaring a huge image costs nothing. The EXIF
 * orientation is applied (TwelveMonkeys reports it in the standard metadata). Colours follow what training
 * pipelines see through PIL's {@code convert("RGB")}: RGB and gray samples are taken as stored (embedded ICC
 * profiles ignored), palettes looked up, alpha dropped; CMYK and other colour spaces are converted to sRGB.
 * A GIF's first frame is used.
 *
 * <p>Thread-safe: each call uses its own reader.
 */
public final class ImageDecoder {
    private static final Set<String> FORMATS = Set.of("jpeg", "png", "gif", "bmp", "webp");
    private static final String FORMAT_LIST = "JPEG, PNG, GIF, BMP or WebP";
    private static final List<String> ORIENTATIONS = List.of("Normal", "FlipH", "Rotate180", "FlipV", "FlipVRotate90",
            "Rotate270", "FlipHRotate90", "Rotate90");

    static {
        // the service files register them from the class path; registering again covers class loaders that do not
        // see those files, and replaces nothing else
        IIORegistry registry = IIORegistry.getDefaultInstance();
        registry.registerServiceProvider(new JPEGImageReaderSpi());
        registry.registerServiceProvider(new WebPImageReaderSpi());
    }

    private final long maxPixels;

    /** @param maxPixels the most pixels (width × height) an image may declare */
    public ImageDecoder(long maxPixels) {
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be positive, not " + maxPixels);
        }
        this.maxPixels = maxPixels;
    }

    public long maxPixels() {
        return maxPixels;
    }

    /**
     * The image in {@code bytes}, oriented as displayed.
     *
     * @param param the request field the bytes came from, named in errors ({@code "file"}, {@code "input"})
     * @throws AtriumException {@code INVALID_REQUEST} when the bytes are empty, not an image in a supported format,
     *     larger than {@code maxPixels}, truncated or corrupt
     */
    public DecodedImage decode(byte[] bytes, String param) {
        requireNonNull(bytes, "bytes is null");
        requireNonNull(param, "param is null");
        if (bytes.length == 0) {
            throw AtriumException.invalidParam(param, "'" + param + "' is empty; send a " + FORMAT_LIST + " image");
        }
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            ImageReader reader = reader(in, param);
            try {
                reader.setInput(in, true, false);
                return read(reader, param);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof AtriumException atrium) {
                throw atrium;
            }
            // the readers fail on damaged data with IOExceptions and, now and then, with runtime exceptions
            throw AtriumException.invalidParam(param, "'" + param + "' could not be decoded: the image data is"
                    + " truncated or corrupt");
        }
    }

    private static ImageReader reader(ImageInputStream in, String param) {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        while (readers.hasNext()) {
            ImageReader reader = readers.next();
            boolean supported = reader.getOriginatingProvider() != null && Arrays.stream(
                    reader.getOriginatingProvider().getFormatNames()).map(name -> name.toLowerCase(Locale.ROOT))
                    .anyMatch(FORMATS::contains);
            if (supported) {
                return reader;
            }
            reader.dispose();
        }
        throw AtriumException.invalidParam(param, "'" + param + "' is not an image in a supported format ("
                + FORMAT_LIST + ")");
    }

    private DecodedImage read(ImageReader reader, String param) throws IOException {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        if (width < 1 || height < 1) {
            throw AtriumException.invalidParam(param, "'" + param + "' declares an empty image (" + width + "x"
                    + height + ")");
        }
        if ((long) width * height > maxPixels) {
            throw AtriumException.invalidParam(param, "'" + param + "' is " + width + "x" + height + " pixels, more"
                    + " than the " + maxPixels + " pixels allowed");
        }
        int orientation = orientation(reader.getImageMetadata(0));
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image = reader.read(0);
        // libjpeg decodes what a truncated JPEG holds and only warns, filling the rest with grey
        for (String warning : warnings) {
            String text = warning == null ? "" : warning.toLowerCase(Locale.ROOT);
            if (text.contains("truncated") || text.contains("premature end")) {
                throw AtriumException.invalidParam(param, "'" + param + "' is truncated: the image data ends early");
            }
        }
        if (image.getWidth() != width || image.getHeight() != height) {
            throw new IOException("decoded " + image.getWidth() + "x" + image.getHeight() + ", declared " + width
                    + "x" + height);
        }
        return orient(new DecodedImage(width, height, rgb(image)), orientation);
    }

    /** The EXIF orientation (1 to 8) that the reader reports in the standard metadata; 1 when none. */
    private static int orientation(IIOMetadata metadata) {
        if (metadata == null || !metadata.isStandardMetadataFormatSupported()) {
            return 1;
        }
        Node root = metadata.getAsTree(IIOMetadataFormatImpl.standardMetadataFormatName);
        for (Node dimension = root.getFirstChild(); dimension != null; dimension = dimension.getNextSibling()) {
            if (!dimension.getNodeName().equals("Dimension")) {
                continue;
            }
            for (Node child = dimension.getFirstChild(); child != null; child = child.getNextSibling()) {
                if (child.getNodeName().equals("ImageOrientation") && child.getAttributes() != null) {
                    Node value = child.getAttributes().getNamedItem("value");
                    int index = value == null ? -1 : ORIENTATIONS.indexOf(value.getNodeValue());
                    return index < 0 ? 1 : index + 1;
                }
            }
        }
        return 1;
    }

    // ---- colours ------------------------------------------------------------------------------------------------

    private static int[] rgb(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        ColorModel model = image.getColorModel();
        int space = model.getColorSpace().getType();
        int transfer = image.getRaster().getTransferType();
        boolean integral = transfer == DataBuffer.TYPE_BYTE || transfer == DataBuffer.TYPE_USHORT
                || transfer == DataBuffer.TYPE_INT;
        if (model instanceof IndexColorModel || model instanceof DirectColorModel) {
            int[] pixels = image.getRGB(0, 0, width, height, null, 0, width);
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] &= 0xFFFFFF;
            }
            return pixels;
        }
        if (model instanceof ComponentColorModel && integral
                && (space == ColorSpace.TYPE_RGB || space == ColorSpace.TYPE_GRAY)) {
            return storedSamples(image, model, space == ColorSpace.TYPE_GRAY);
        }
        BufferedImage converted = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        new ColorConvertOp(null).filter(image, converted);
        return ((DataBufferInt) converted.getRaster().getDataBuffer()).getData();
    }

    /** RGB or gray samples as stored, scaled to 8 bits, without colour management (as PIL reads them). */
    private static int[] storedSamples(BufferedImage image, ColorModel model, boolean gray) {
        int width = image.getWidth();
        int height = image.getHeight();
        Raster raster = image.getRaster();
        int bands = raster.getNumBands();
        int colours = gray ? 1 : 3;
        int[] maxima = new int[colours];
        for (int c = 0; c < colours; c++) {
            maxima[c] = (1 << model.getComponentSize(c)) - 1;
        }
        int[] pixels = new int[width * height];
        if (!gray && bands >= 3 && java.util.Arrays.stream(maxima).allMatch(maximum -> maximum == 255)
                && raster.getDataBuffer() instanceof java.awt.image.DataBufferByte bytes && bytes.getNumBanks() == 1
                && raster.getSampleModel() instanceof java.awt.image.PixelInterleavedSampleModel layout
                && raster.getSampleModelTranslateX() == 0 && raster.getSampleModelTranslateY() == 0) {
            // 8-bit interleaved samples (JPEG's and PNG's RGB): read in place, as getPixels would give them
            byte[] data = bytes.getData();
            int[] offsets = layout.getBandOffsets();
            int stride = layout.getPixelStride();
            int scanline = layout.getScanlineStride();
            int start = bytes.getOffset();
            for (int y = 0; y < height; y++) {
                int at = start + y * scanline;
                for (int x = 0; x < width; x++, at += stride) {
                    pixels[y * width + x] = (data[at + offsets[0]] & 0xFF) << 16 | (data[at + offsets[1]] & 0xFF) << 8
                            | (data[at + offsets[2]] & 0xFF);
                }
            }
            return pixels;
        }
        int[] row = new int[width * bands];
        for (int y = 0; y < height; y++) {
            raster.getPixels(0, y, width, 1, row);
            for (int x = 0; x < width; x++) {
                int r = eightBits(row[x * bands], maxima[0]);
                int g = gray ? r : eightBits(row[x * bands + 1], maxima[1]);
                int b = gray ? r : eightBits(row[x * bands + 2], maxima[2]);
                pixels[y * width + x] = r << 16 | g << 8 | b;
            }
        }
        return pixels;
    }

    private static int eightBits(int sample, int maximum) {
        return maximum == 255 ? sample : (int) ((sample * 255L + maximum / 2) / maximum);
    }

    // ---- orientation --------------------------------------------------------------------------------------------

    /** The image as displayed under EXIF orientation 1 to 8 (TIFF 6.0, tag 274). */
    static DecodedImage orient(DecodedImage image, int orientation) {
        if (orientation == 1) {
            return image;
        }
        int width = image.width();
        int height = image.height();
        int[] in = image.pixels();
        boolean transposed = orientation >= 5;
        int outWidth = transposed ? height : width;
        int outHeight = transposed ? width : height;
        int[] out = new int[in.length];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                int source = switch (orientation) {
                    case 2 -> y * width + (width - 1 - x);
                    case 3 -> (height - 1 - y) * width + (width - 1 - x);
                    case 4 -> (height - 1 - y) * width + x;
                    case 5 -> x * width + y;
                    case 6 -> (height - 1 - x) * width + y;
                    case 7 -> (height - 1 - x) * width + (width - 1 - y);
                    case 8 -> x * width + (width - 1 - y);
                    default -> throw new IllegalArgumentException("EXIF orientation " + orientation);
                };
                out[y * outWidth + x] = in[source];
            }
        }
        return new DecodedImage(outWidth, outHeight, out);
    }
}
