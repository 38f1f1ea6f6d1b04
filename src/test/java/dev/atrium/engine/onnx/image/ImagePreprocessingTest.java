package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ImagePreprocessing.ChannelOrder;
import dev.atrium.engine.onnx.image.ImagePreprocessing.Interpolation;
import dev.atrium.engine.onnx.image.ImagePreprocessing.Layout;
import dev.atrium.engine.onnx.image.ImagePreprocessing.Resize;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The preprocessing config maps every field, takes its defaults from the model, refuses what does not fit it, and
 * fills tensors as an independent, plainly written PIL-convention reference does.
 */
class ImagePreprocessingTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TensorSpec NCHW_224 = new TensorSpec("input", DataType.FP32, List.of(-1L, 3L, 224L, 224L));
    private static final Map<String, String> MOBILENET_METADATA = Map.of("labels", "food,report,other",
            "mean", "0.485,0.456,0.406", "std", "0.229,0.224,0.225");

    private static JsonNode json(String text) {
        return JSON.readTree(text);
    }

    private static ImagePreprocessing parse(String preprocessing, TensorSpec input, Map<String, String> metadata) {
        return ImagePreprocessing.fromConfig(json("{\"preprocessing\": " + preprocessing + "}"), List.of(input), metadata);
    }

    // ---- config -------------------------------------------------------------------------------------------------

    @Test
    void fromConfig_theSharedModel_noConfig_takesEverythingFromTheModel() {
        ImageFixtures.Model model = ImageFixtures.Model.open();
        ImagePreprocessing preprocessing = ImagePreprocessing.fromConfig(null, model.inputs(), model.metadata());
        assertThat(preprocessing).isEqualTo(new ImagePreprocessing("input", Layout.NCHW, 224, 224, Resize.DIRECT, 0,
                Interpolation.BILINEAR, true, ChannelOrder.RGB, 1f / 255, List.of(0.485f, 0.456f, 0.406f),
                List.of(0.229f, 0.224f, 0.225f)));
        assertThat(ImagePreprocessing.fromConfig(json("{\"pooling\": \"mean\"}"), model.inputs(), model.metadata()))
                .as("other fields of the version's config are the caller's").isEqualTo(preprocessing);
    }

    @Test
    void fromConfig_everyField_isMapped() {
        ImagePreprocessing preprocessing = parse("""
                {"input": "input", "layout": "nchw", "width": 224, "height": 224, "resize": "shortest_side",
                 "resize_size": 240, "interpolation": "bicubic", "antialias": false, "channel_order": "bgr",
                 "scale": 1.0,
                 "mean": [103.5, 116.25, 123.75], "std": [57.5, 57.25, 58.5]}""", NCHW_224, MOBILENET_METADATA);
        assertThat(preprocessing).isEqualTo(new ImagePreprocessing("input", Layout.NCHW, 224, 224, Resize.SHORTEST_SIDE,
                240, Interpolation.BICUBIC, false, ChannelOrder.BGR, 1f, List.of(103.5f, 116.25f, 123.75f),
                List.of(57.5f, 57.25f, 58.5f)));
    }

    @Test
    void fromConfig_defaults_withoutMetadata_andOneValueForAllChannels() {
        ImagePreprocessing plain = parse("{\"resize\": \"shortest_side\"}", NCHW_224, Map.of());
        assertThat(plain.resizeSize()).as("torchvision's 256 for 224").isEqualTo(256);
        assertThat(plain.mean()).containsExactly(0f, 0f, 0f);
        assertThat(plain.std()).containsExactly(1f, 1f, 1f);
        assertThat(plain.scale()).isEqualTo(1f / 255);
        ImagePreprocessing single = parse("{\"mean\": [0.5], \"std\": [0.25]}", NCHW_224, MOBILENET_METADATA);
        assertThat(single.mean()).containsExactly(0.5f, 0.5f, 0.5f);
        assertThat(single.std()).containsExactly(0.25f, 0.25f, 0.25f);
        assertThat(parse("{}", NCHW_224, Map.of("mean", "0.5", "std", " 0.2 , 0.3 ,0.4 ")).std())
                .containsExactly(0.2f, 0.3f, 0.4f);
    }

    @Test
    void fromConfig_nhwcAndDynamicInputs_inferTheLayout_andTakeTheSizeFromTheConfig() {
        TensorSpec nhwc = new TensorSpec("pixels", DataType.FP32, List.of(1L, 160L, 128L, 3L));
        ImagePreprocessing fixed = parse("{}", nhwc, Map.of());
        assertThat(fixed.layout()).isEqualTo(Layout.NHWC);
        assertThat(fixed.width()).isEqualTo(128);
        assertThat(fixed.height()).isEqualTo(160);
        assertThat(fixed.shape(4)).containsExactly(4, 160, 128, 3);
        TensorSpec dynamic = new TensorSpec("pixels", DataType.FP32, List.of(-1L, 3L, -1L, -1L));
        ImagePreprocessing sized = parse("{\"width\": 300, \"height\": 200}", dynamic, Map.of());
        assertThat(sized.layout()).isEqualTo(Layout.NCHW);
        assertThat(sized.shape(2)).containsExactly(2, 3, 200, 300);
        assertThat(sized.valuesPerImage()).isEqualTo(3 * 300 * 200);
    }

    @Test
    void toConfig_parsesBackToTheSamePreprocessing() {
        List<ImagePreprocessing> cases = List.of(parse("{}", NCHW_224, MOBILENET_METADATA),
                parse("{\"resize\": \"shortest_side\", \"interpolation\": \"bicubic\", \"antialias\": false,"
                        + " \"channel_order\": \"bgr\","
                        + " \"scale\": 0.0078125, \"mean\": [1, 2, 3]}", NCHW_224, Map.of()));
        for (ImagePreprocessing preprocessing : cases) {
            JsonNode stored = json("{\"preprocessing\": " + preprocessing.toConfig() + "}");
            // without the model's metadata: the stored config says everything
            assertThat(ImagePreprocessing.fromConfig(stored, List.of(NCHW_224), Map.of())).isEqualTo(preprocessing);
        }
    }

    static Stream<Arguments> badConfigs() {
        TensorSpec dynamic = new TensorSpec("input", DataType.FP32, List.of(-1L, 3L, -1L, -1L));
        TensorSpec ambiguous = new TensorSpec("input", DataType.FP32, List.of(-1L, -1L, -1L, -1L));
        return Stream.of(
                Arguments.of("\"nchw\"", NCHW_224, Map.of(), "preprocessing"),
                Arguments.of("{\"colour\": \"rgb\"}", NCHW_224, Map.of(), "preprocessing.colour"),
                Arguments.of("{\"input\": \"image\"}", NCHW_224, Map.of(), "preprocessing.input"),
                Arguments.of("{\"input\": 3}", NCHW_224, Map.of(), "preprocessing.input"),
                Arguments.of("{\"width\": 256}", NCHW_224, Map.of(), "preprocessing.width"),
                Arguments.of("{\"height\": 0}", NCHW_224, Map.of(), "preprocessing.height"),
                Arguments.of("{\"width\": 100000, \"height\": 10}", dynamic, Map.of(), "preprocessing.width"),
                Arguments.of("{\"height\": 224}", dynamic, Map.of(), "preprocessing.width"),
                Arguments.of("{\"width\": 2.5, \"height\": 2}", dynamic, Map.of(), "preprocessing.width"),
                Arguments.of("{\"layout\": \"nhwc\"}", NCHW_224, Map.of(), "preprocessing.layout"),
                Arguments.of("{\"layout\": \"chw\"}", NCHW_224, Map.of(), "preprocessing.layout"),
                Arguments.of("{\"width\": 64, \"height\": 64}", ambiguous, Map.of(), "preprocessing.layout"),
                Arguments.of("{\"resize\": \"stretch\"}", NCHW_224, Map.of(), "preprocessing.resize"),
                Arguments.of("{\"resize_size\": 256}", NCHW_224, Map.of(), "preprocessing.resize_size"),
                Arguments.of("{\"resize\": \"shortest_side\", \"resize_size\": 200}", NCHW_224, Map.of(),
                        "preprocessing.resize_size"),
                Arguments.of("{\"interpolation\": \"nearest\"}", NCHW_224, Map.of(), "preprocessing.interpolation"),
                Arguments.of("{\"antialias\": \"yes\"}", NCHW_224, Map.of(), "preprocessing.antialias"),
                Arguments.of("{\"channel_order\": \"rgba\"}", NCHW_224, Map.of(), "preprocessing.channel_order"),
                Arguments.of("{\"scale\": 0}", NCHW_224, Map.of(), "preprocessing.scale"),
                Arguments.of("{\"scale\": \"1/255\"}", NCHW_224, Map.of(), "preprocessing.scale"),
                Arguments.of("{\"mean\": [0.5, 0.5]}", NCHW_224, Map.of(), "preprocessing.mean"),
                Arguments.of("{\"mean\": \"0.5\"}", NCHW_224, Map.of(), "preprocessing.mean"),
                Arguments.of("{\"std\": [1, 0, 1]}", NCHW_224, Map.of(), "preprocessing.std"),
                Arguments.of("{}", NCHW_224, Map.of("mean", "a,b,c"), "preprocessing.mean"),
                Arguments.of("{}", NCHW_224, Map.of("std", "0.2,0.2"), "preprocessing.std"),
                Arguments.of("{}", NCHW_224, Map.of("std", "0,1,1"), "preprocessing.std"),
                Arguments.of("{}", new TensorSpec("input", DataType.FP16, List.of(1L, 3L, 224L, 224L)), Map.of(),
                        "preprocessing.input"),
                Arguments.of("{}", new TensorSpec("tokens", DataType.INT64, List.of(1L, 128L)), Map.of(),
                        "preprocessing.input"),
                Arguments.of("{}", new TensorSpec("input", DataType.FP32, List.of(1L, 4L, 224L, 224L)), Map.of(),
                        "preprocessing.layout"));
    }

    @ParameterizedTest
    @MethodSource("badConfigs")
    void fromConfig_whatDoesNotFit_isAnInvalidArtifact_namingTheField(String preprocessing, TensorSpec input,
            Map<String, String> metadata, String field) {
        assertThatThrownBy(() -> parse(preprocessing, input, metadata))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
                    assertThat(e.param()).contains(field);
                    assertThat(e.getMessage()).contains(field.equals("preprocessing") ? "preprocessing"
                            : field.substring(field.indexOf('.') + 1));
                });
    }

    @Test
    void fromConfig_aModelWithAnotherInputBesidesTheImage_isAnInvalidArtifact() {
        TensorSpec scale = new TensorSpec("scale", DataType.FP32, List.of(1L));
        assertThatThrownBy(() -> ImagePreprocessing.fromConfig(null, List.of(NCHW_224, scale), Map.of()))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
                    assertThat(e.getMessage()).contains("'scale'");
                });
        TensorSpec other = new TensorSpec("other", DataType.FP32, List.of(1L, 3L, 224L, 224L));
        assertThatThrownBy(() -> ImagePreprocessing.fromConfig(null, List.of(NCHW_224, other), Map.of()))
                .as("two image-shaped inputs").isInstanceOfSatisfying(AtriumException.class,
                        e -> assertThat(e.param()).contains("preprocessing.input"));
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    /** Values worked out by hand from PIL's filter formula, and what PIL 12 gives rounded: [71, 209], [0, 53, 202, 255]. */
    @Test
    void fill_tinyImages_giveTheValuesPilsFormulaGivesByHand() {
        DecodedImage ramp = new DecodedImage(4, 1, gray(0, 100, 200, 255));
        float[] halved = new float[6];
        raw(2, 1, Interpolation.BILINEAR).fill(ramp, halved, 0);
        // red plane of NCHW: 71.43 = (0·0.75 + 100·0.75 + 200·0.25) / 1.75, 209.29 = (100·0.25 + 200·0.75 + 255·0.75) / 1.75
        assertThat(halved[0]).isCloseTo(125f / 1.75f, within(1e-4f));
        assertThat(halved[1]).isCloseTo(366.25f / 1.75f, within(1e-4f));
        assertThat(reference(ramp, raw(2, 1, Interpolation.BILINEAR))[1]).isCloseTo(366.25 / 1.75, within(1e-9));

        DecodedImage edge = new DecodedImage(2, 1, gray(0, 255));
        float[] quadrupled = new float[12];
        raw(4, 1, Interpolation.BICUBIC).fill(edge, quadrupled, 0);
        // the cubic at 0.25 and 0.75: 0.8671875 and 0.2265625; 255 · 0.2265625 / 1.09375 = 52.82
        assertThat(new float[] {quadrupled[0], quadrupled[1], quadrupled[2], quadrupled[3]})
                .containsExactly(new float[] {0f, 52.821430f, 202.17857f, 255f}, within(1e-4f));
    }

    private static int[] gray(int... levels) {
        int[] pixels = new int[levels.length];
        for (int i = 0; i < levels.length; i++) {
            pixels[i] = levels[i] << 16 | levels[i] << 8 | levels[i];
        }
        return pixels;
    }

    /** Pixel values as they come out of the resize: scale 1, no normalization. */
    private static ImagePreprocessing raw(int width, int height, Interpolation interpolation) {
        return new ImagePreprocessing("input", Layout.NCHW, width, height, Resize.DIRECT, 0, interpolation, true,
                ChannelOrder.RGB, 1f, List.of(0f, 0f, 0f), List.of(1f, 1f, 1f));
    }

    /** Crops of a real photo: portrait and landscape to shrink, and a small one to enlarge. */
    private static Map<String, DecodedImage> photoCrops() {
        BufferedImage photo = ImageFixtures.readRgb(ImageFixtures.photos().get(2));
        return Map.of("portrait 250x333", crop(photo, 40, 200, 250, 333), "landscape 333x250", crop(photo, 100, 600,
                333, 250), "small 90x70", crop(photo, 300, 300, 90, 70));
    }

    private static DecodedImage crop(BufferedImage photo, int x, int y, int width, int height) {
        int[] pixels = photo.getRGB(x, y, width, height, null, 0, width);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] &= 0xFFFFFF;
        }
        return new DecodedImage(width, height, pixels);
    }

    static Stream<Arguments> resizes() {
        List<Arguments> cases = new ArrayList<>();
        for (Interpolation interpolation : Interpolation.values()) {
            for (Resize resize : Resize.values()) {
                for (boolean antialias : List.of(true, false)) {
                    cases.add(Arguments.of(interpolation, resize, antialias));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest
    @MethodSource("resizes")
    void fill_matchesTheReference_toWithin1e5(Interpolation interpolation, Resize resize, boolean antialias) {
        ImagePreprocessing preprocessing = new ImagePreprocessing("input", Layout.NCHW, 224, 224, resize,
                resize == Resize.SHORTEST_SIDE ? 256 : 0, interpolation, antialias, ChannelOrder.RGB, 1f / 255,
                List.of(0.485f, 0.456f, 0.406f), List.of(0.229f, 0.224f, 0.225f));
        photoCrops().forEach((name, image) -> assertMatchesReference(preprocessing, image, name));
    }

    @Test
    void fill_nhwc_bgr_otherSizes_matchTheReference() {
        ImagePreprocessing caffe = new ImagePreprocessing("data", Layout.NHWC, 96, 64, Resize.SHORTEST_SIDE, 101,
                Interpolation.BICUBIC, true, ChannelOrder.BGR, 1f, List.of(103.94f, 116.78f, 123.68f),
                List.of(58.4f, 57.1f, 57.4f));
        ImagePreprocessing wide = new ImagePreprocessing("data", Layout.NCHW, 150, 50, Resize.DIRECT, 0,
                Interpolation.BILINEAR, false, ChannelOrder.BGR, 2f / 255, List.of(1f, 1f, 1f), List.of(1f, 1f, 1f));
        photoCrops().forEach((name, image) -> {
            assertMatchesReference(caffe, image, name + " nhwc bgr");
            assertMatchesReference(wide, image, name + " wide bgr");
        });
    }

    @Test
    void fill_writesOnlyItsOwnSlotOfABatch() {
        ImagePreprocessing preprocessing = parse("{}", NCHW_224, MOBILENET_METADATA);
        DecodedImage image = photoCrops().get("small 90x70");
        int values = preprocessing.valuesPerImage();
        float[] batch = new float[3 * values];
        java.util.Arrays.fill(batch, Float.NaN);
        preprocessing.fill(image, batch, values);
        float[] alone = new float[values];
        preprocessing.fill(image, alone, 0);
        assertThat(java.util.Arrays.copyOfRange(batch, values, 2 * values)).containsExactly(alone);
        assertThat(java.util.Arrays.copyOfRange(batch, 0, values)).containsOnly(Float.NaN);
        assertThat(java.util.Arrays.copyOfRange(batch, 2 * values, 3 * values)).containsOnly(Float.NaN);
        assertThatThrownBy(() -> preprocessing.fill(image, batch, 2 * values + 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    private static void assertMatchesReference(ImagePreprocessing preprocessing, DecodedImage image, String name) {
        float[] actual = new float[preprocessing.valuesPerImage()];
        preprocessing.fill(image, actual, 0);
        double[] expected = reference(image, preprocessing);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("%s, %s: the largest difference", name, preprocessing).isLessThanOrEqualTo(1e-5);
    }

    // ---- the reference ------------------------------------------------------------------------------------------

    /**
     * PIL's resampling written plainly, in doubles, apart from the production code: every output value sums all
     * source pixels of its row (then column) times the filter at their distance, stretched by the scale when
     * shrinking (when antialiased) and renormalized; each pass clamped to 0..255 as PIL's 8-bit passes are. The resize
     * and crop sizes
     * are torchvision's (long side truncated, the crop's corner rounded half to even).
     */
    static double[] reference(DecodedImage image, ImagePreprocessing p) {
        int sourceWidth = image.width();
        int sourceHeight = image.height();
        int resizedWidth = p.width();
        int resizedHeight = p.height();
        if (p.resize() == Resize.SHORTEST_SIDE) {
            if (sourceWidth <= sourceHeight) {
                resizedWidth = p.resizeSize();
                resizedHeight = (int) Math.floor((double) p.resizeSize() * sourceHeight / sourceWidth);
            } else {
                resizedHeight = p.resizeSize();
                resizedWidth = (int) Math.floor((double) p.resizeSize() * sourceWidth / sourceHeight);
            }
        }
        int left = roundHalfEven((resizedWidth - p.width()) / 2.0);
        int top = roundHalfEven((resizedHeight - p.height()) / 2.0);
        boolean cubic = p.interpolation() == Interpolation.BICUBIC;
        double[][] across = weights(sourceWidth, resizedWidth, cubic, p.antialias());
        double[][] down = weights(sourceHeight, resizedHeight, cubic, p.antialias());

        double[][][] rows = new double[3][sourceHeight][p.width()];
        for (int c = 0; c < 3; c++) {
            int shift = 16 - 8 * c;
            for (int y = 0; y < sourceHeight; y++) {
                for (int x = 0; x < p.width(); x++) {
                    double sum = 0;
                    for (int j = 0; j < sourceWidth; j++) {
                        double weight = across[left + x][j];
                        if (weight != 0) {
                            sum += weight * (image.rgb(j, y) >> shift & 0xFF);
                        }
                    }
                    rows[c][y][x] = Math.min(255, Math.max(0, sum));
                }
            }
        }
        double[] tensor = new double[3 * p.width() * p.height()];
        for (int channel = 0; channel < 3; channel++) {
            int source = p.channelOrder() == ChannelOrder.RGB ? channel : 2 - channel;
            for (int y = 0; y < p.height(); y++) {
                for (int x = 0; x < p.width(); x++) {
                    double sum = 0;
                    for (int i = 0; i < sourceHeight; i++) {
                        sum += down[top + y][i] * rows[source][i][x];
                    }
                    double pixel = Math.min(255, Math.max(0, sum));
                    double value = (pixel * p.scale() - p.mean().get(channel)) / p.std().get(channel);
                    int index = p.layout() == Layout.NCHW ? (channel * p.height() + y) * p.width() + x
                            : (y * p.width() + x) * 3 + channel;
                    tensor[index] = value;
                }
            }
        }
        return tensor;
    }

    /** weights[o][i]: how much source position i counts for output position o. */
    private static double[][] weights(int in, int out, boolean cubic, boolean antialias) {
        double scale = (double) in / out;
        double stretch = antialias ? Math.max(1, scale) : 1;
        double[][] weights = new double[out][in];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            double total = 0;
            for (int i = 0; i < in; i++) {
                double t = Math.abs((i + 0.5 - center) / stretch);
                double weight;
                if (cubic) {
                    // Keys' cubic convolution, a = -0.5
                    weight = t < 1 ? 1.5 * t * t * t - 2.5 * t * t + 1
                            : t < 2 ? -0.5 * t * t * t + 2.5 * t * t - 4 * t + 2 : 0;
                } else {
                    weight = Math.max(0, 1 - t);
                }
                weights[o][i] = weight;
                total += weight;
            }
            for (int i = 0; i < in; i++) {
                weights[o][i] /= total;
            }
        }
        return weights;
    }

    private static int roundHalfEven(double value) {
        double floor = Math.floor(value);
        double fraction = value - floor;
        if (fraction == 0.5) {
            return (int) (floor % 2 == 0 ? floor : floor + 1);
        }
        return (int) Math.round(value);
    }
}
