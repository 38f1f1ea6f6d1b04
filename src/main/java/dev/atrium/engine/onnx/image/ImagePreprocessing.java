package dev.atrium.engine.onnx.image;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * How an image becomes an image model's input tensor: the {@code preprocessing} object of a model version's config,
 * with every default filled in from the model.
 *
 * <p>Each value is {@code (pixel × scale − mean[c]) / std[c]}, pixel in 0..255 after the resize, channels in
 * {@code channelOrder} (mean and std are listed in that order too), laid out {@code nchw} or {@code nhwc}. The resize
 * follows PIL and torchvision ({@code antialias=True}): see {@link ImageResampler}. {@code shortest_side} is
 * torchvision's {@code Resize(resizeSize)} then {@code CenterCrop((height, width))}.
 *
 * @param input the model input the image goes to
 * @param layout where the channels are in the input
 * @param width the input's width
 * @param height the input's height
 * @param resize straight to width × height, or the shorter side to {@code resizeSize} and then a center crop
 * @param resizeSize the shorter side's length before the crop, for {@link Resize#SHORTEST_SIDE}; 0 otherwise
 * @param interpolation the resampling filter
 * @param antialias whether the filter widens when shrinking, as PIL's and torchvision's {@code antialias=True} do;
 *     false for plain bilinear or bicubic from the nearest pixels (OpenCV, ggml, torchvision {@code antialias=False})
 * @param channelOrder the input's channel order
 * @param scale what each 0..255 pixel value is multiplied by first
 * @param mean subtracted after the scale, one per channel
 * @param std divided by last, one per channel
 */
public record ImagePreprocessing(String input, Layout layout, int width, int height, Resize resize, int resizeSize,
        Interpolation interpolation, boolean antialias, ChannelOrder channelOrder, float scale, List<Float> mean,
        List<Float> std) {
    /** The largest width or height an image input may have, which bounds the tensor one image makes. */
    public static final int MAX_SIDE = 8192;
    private static final List<String> FIELDS = List.of("input", "layout", "width", "height", "resize", "resize_size",
            "interpolation", "antialias", "channel_order", "scale", "mean", "std");

    public ImagePreprocessing {
        requireNonNull(input, "input is null");
        requireNonNull(layout, "layout is null");
        requireNonNull(resize, "resize is null");
        requireNonNull(interpolation, "interpolation is null");
        requireNonNull(channelOrder, "channelOrder is null");
        mean = List.copyOf(mean);
        std = List.copyOf(std);
        if (width < 1 || width > MAX_SIDE || height < 1 || height > MAX_SIDE) {
            throw new IllegalArgumentException("width and height must be from 1 to " + MAX_SIDE);
        }
        if ((resize == Resize.SHORTEST_SIDE) != (resizeSize > 0)) {
            throw new IllegalArgumentException("resizeSize is set for shortest_side only, not for " + resize);
        }
        if (resize == Resize.SHORTEST_SIDE && (resizeSize < Math.max(width, height) || resizeSize > 2 * MAX_SIDE)) {
            throw new IllegalArgumentException("resizeSize must be from " + Math.max(width, height) + " to "
                    + 2 * MAX_SIDE);
        }
        if (!Float.isFinite(scale) || scale <= 0) {
            throw new IllegalArgumentException("scale must be positive, not " + scale);
        }
        if (mean.size() != 3 || std.size() != 3 || mean.stream().anyMatch(value -> !Float.isFinite(value))
                || std.stream().anyMatch(value -> !Float.isFinite(value) || value <= 0)) {
            throw new IllegalArgumentException("mean and std need 3 finite values, std positive: " + mean + ", " + std);
        }
    }

    /** Where the channel dimension of a rank-4 image input is. */
    public enum Layout {
        NCHW("nchw"), NHWC("nhwc");

        private final String wireName;

        Layout(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** How an image is brought to the input's size. */
    public enum Resize {
        /** Straight to width × height, whatever the aspect ratio. */
        DIRECT("direct"),
        /** The shorter side to {@code resizeSize}, keeping the aspect ratio, then the center width × height. */
        SHORTEST_SIDE("shortest_side");

        private final String wireName;

        Resize(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** The resampling filter, antialiased when shrinking as PIL's is. */
    public enum Interpolation {
        BILINEAR("bilinear"), BICUBIC("bicubic");

        private final String wireName;

        Interpolation(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** The order of the three colour channels in the input. */
    public enum ChannelOrder {
        RGB("rgb"), BGR("bgr");

        private final String wireName;

        ChannelOrder(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /**
     * The preprocessing of a model version: its config's {@code preprocessing} object, each absent field taken from
     * the model (its image input's name, shape and layout; its {@code mean} and {@code std} metadata properties,
     * comma-separated) or a default ({@code direct}, {@code bilinear}, antialiased, {@code rgb}, scale 1/255, no
     * normalization;
     * {@code resize_size} 8/7 of the larger side, 256 for 224). Call it at upload, and store {@link #toConfig()}.
     *
     * @param config the version's config object; null, or one without {@code preprocessing}, for every default
     * @param inputs the model's inputs
     * @param metadata the model's metadata properties (ONNX {@code metadata_props})
     * @throws AtriumException {@code INVALID_ARTIFACT}, naming the field ({@code preprocessing.width}), when the config
     *     is malformed or does not fit the model
     */
    public static ImagePreprocessing fromConfig(JsonNode config, List<TensorSpec> inputs, Map<String, String> metadata) {
        requireNonNull(inputs, "inputs is null");
        requireNonNull(metadata, "metadata is null");
        JsonNode object = config == null || config.isNull() ? null : config.get("preprocessing");
        ConfigFields fields = new ConfigFields(object, "preprocessing.", FIELDS);

        TensorSpec spec = imageInput(fields, inputs);
        List<Long> shape = spec.shape();
        Layout layout = fields.choice("layout", Layout.class, Layout::wireName).orElseGet(() -> layout(spec));
        int channelDimension = layout == Layout.NCHW ? 1 : 3;
        if (shape.get(channelDimension) != 3 && shape.get(channelDimension) != -1) {
            throw ConfigFields.invalid(fields.path("layout"), "input '" + spec.name() + "' of shape " + shape
                    + " has " + shape.get(channelDimension) + " channels in layout " + layout.wireName()
                    + "; image inputs have 3");
        }
        int height = side(fields, "height", spec, layout == Layout.NCHW ? 2 : 1);
        int width = side(fields, "width", spec, layout == Layout.NCHW ? 3 : 2);

        Resize resize = fields.choice("resize", Resize.class, Resize::wireName).orElse(Resize.DIRECT);
        int larger = Math.max(width, height);
        int resizeSize = 0;
        if (resize == Resize.SHORTEST_SIDE) {
            resizeSize = fields.integer("resize_size", larger, 2 * MAX_SIDE).orElse(Math.min(larger * 8 / 7, 2 * MAX_SIDE));
        } else if (fields.integer("resize_size", 1, Integer.MAX_VALUE).isPresent()) {
            throw ConfigFields.invalid(fields.path("resize_size"), "'" + fields.path("resize_size")
                    + "' applies to resize shortest_side only");
        }

        Interpolation interpolation = fields.choice("interpolation", Interpolation.class, Interpolation::wireName)
                .orElse(Interpolation.BILINEAR);
        boolean antialias = fields.bool("antialias").orElse(true);
        ChannelOrder channelOrder = fields.choice("channel_order", ChannelOrder.class, ChannelOrder::wireName)
                .orElse(ChannelOrder.RGB);
        float scale = fields.positiveNumber("scale").orElse(1f / 255f);
        List<Float> mean = fields.channelValues("mean")
                .or(() -> metadataValues(metadata, "mean", fields.path("mean")))
                .orElse(List.of(0f, 0f, 0f));
        List<Float> std = fields.channelValues("std")
                .or(() -> metadataValues(metadata, "std", fields.path("std")))
                .orElse(List.of(1f, 1f, 1f));
        if (std.stream().anyMatch(value -> value <= 0)) {
            throw ConfigFields.invalid(fields.path("std"), "'" + fields.path("std") + "' must be positive, not " + std);
        }
        return new ImagePreprocessing(spec.name(), layout, width, height, resize, resizeSize, interpolation,
                antialias, channelOrder, scale, mean, std);
    }

    private static TensorSpec imageInput(ConfigFields fields, List<TensorSpec> inputs) {
        Optional<String> named = fields.string("input");
        TensorSpec spec;
        if (named.isPresent()) {
            spec = inputs.stream().filter(candidate -> candidate.name().equals(named.get())).findFirst()
                    .orElseThrow(() -> ConfigFields.invalid(fields.path("input"), "'" + fields.path("input")
                            + "' is '" + named.get() + "', which is not an input of the model (its inputs: "
                            + names(inputs) + ")"));
            if (spec.shape().size() != 4) {
                throw ConfigFields.invalid(fields.path("input"), "input '" + spec.name() + "' has shape "
                        + spec.shape() + "; an image input has 4 dimensions: [batch, 3, height, width] or"
                        + " [batch, height, width, 3]");
            }
        } else {
            List<TensorSpec> images = inputs.stream().filter(candidate -> candidate.shape().size() == 4).toList();
            if (images.size() != 1) {
                throw ConfigFields.invalid(fields.path("input"), (images.isEmpty()
                        ? "the model has no image-shaped input ([batch, 3, height, width] or [batch, height, width, 3])"
                        : "the model has several image-shaped inputs (" + names(images) + "); name one in '"
                                + fields.path("input") + "'") + "; its inputs: " + names(inputs));
            }
            spec = images.getFirst();
        }
        if (inputs.size() > 1) {
            throw new AtriumException(ErrorCode.INVALID_ARTIFACT, "an image model takes the image as its only input;"
                    + " this one also has " + names(inputs.stream().filter(other -> other != spec).toList()));
        }
        if (spec.datatype() != DataType.FP32) {
            throw ConfigFields.invalid(fields.path("input"), "input '" + spec.name() + "' is " + spec.datatype()
                    + "; image inputs must be FP32");
        }
        long batch = spec.shape().getFirst();
        if (batch != -1 && batch < 1) {
            throw ConfigFields.invalid(fields.path("input"), "input '" + spec.name() + "' has a batch dimension of "
                    + batch);
        }
        return spec;
    }

    /** NCHW when dimension 1 holds the channels, NHWC when dimension 3 does; NCHW when both could. */
    private static Layout layout(TensorSpec spec) {
        long second = spec.shape().get(1);
        long last = spec.shape().get(3);
        if (second == 3 || (second == -1 && last != 3 && last != -1)) {
            return Layout.NCHW;
        }
        if (last == 3 || (last == -1 && second != -1)) {
            return Layout.NHWC;
        }
        throw ConfigFields.invalid("preprocessing.layout", "input '" + spec.name() + "' of shape " + spec.shape()
                + " does not show where its channels are; set 'preprocessing.layout' to nchw or nhwc");
    }

    private static int side(ConfigFields fields, String field, TensorSpec spec, int dimension) {
        long fixed = spec.shape().get(dimension);
        var configured = fields.integer(field, 1, MAX_SIDE);
        if (configured.isPresent()) {
            if (fixed != -1 && fixed != configured.getAsInt()) {
                throw ConfigFields.invalid(fields.path(field), "'" + fields.path(field) + "' is "
                        + configured.getAsInt() + ", but input '" + spec.name() + "' of shape " + spec.shape()
                        + " takes " + fixed);
            }
            return configured.getAsInt();
        }
        if (fixed == -1) {
            throw ConfigFields.invalid(fields.path(field), "input '" + spec.name() + "' of shape " + spec.shape()
                    + " has no fixed " + field + "; set '" + fields.path(field) + "'");
        }
        if (fixed < 1 || fixed > MAX_SIDE) {
            throw ConfigFields.invalid(fields.path(field), "input '" + spec.name() + "' has a " + field + " of "
                    + fixed + "; it must be from 1 to " + MAX_SIDE);
        }
        return (int) fixed;
    }

    /** A metadata property of 1 or 3 comma-separated numbers, as three values. */
    private static Optional<List<Float>> metadataValues(Map<String, String> metadata, String key, String field) {
        String text = metadata.get(key);
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        String[] parts = text.split(",", -1);
        try {
            if (parts.length == 1 || parts.length == 3) {
                float[] values = new float[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    values[i] = Float.parseFloat(parts[i].strip());
                    if (!Float.isFinite(values[i])) {
                        throw new NumberFormatException();
                    }
                }
                return Optional.of(parts.length == 1 ? List.of(values[0], values[0], values[0])
                        : List.of(values[0], values[1], values[2]));
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw ConfigFields.invalid(field, "the model's metadata property '" + key + "' is not 3 comma-separated"
                + " numbers; set '" + field + "' in the config instead");
    }

    private static String names(List<TensorSpec> specs) {
        return specs.stream().map(spec -> "'" + spec.name() + "'").collect(Collectors.joining(", "));
    }

    /** This preprocessing as a config's {@code preprocessing} object, every field explicit. */
    public ObjectNode toConfig() {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode node = json.objectNode();
        node.put("input", input);
        node.put("layout", layout.wireName());
        node.put("width", width);
        node.put("height", height);
        node.put("resize", resize.wireName());
        if (resize == Resize.SHORTEST_SIDE) {
            node.put("resize_size", resizeSize);
        }
        node.put("interpolation", interpolation.wireName());
        node.put("antialias", antialias);
        node.put("channel_order", channelOrder.wireName());
        node.put("scale", scale);
        ArrayNode means = node.putArray("mean");
        mean.forEach(means::add);
        ArrayNode stds = node.putArray("std");
        std.forEach(stds::add);
        return node;
    }

    /** How many floats one image fills: 3 × width × height. */
    public int valuesPerImage() {
        return 3 * width * height;
    }

    /** The input tensor's shape for a batch of {@code batch} images. */
    public long[] shape(int batch) {
        return layout == Layout.NCHW ? new long[] {batch, 3, height, width} : new long[] {batch, height, width, 3};
    }

    /**
     * Writes {@code image}, resized and normalized, into {@code into} from {@code offset} on: the
     * {@link #valuesPerImage()} values of one image of a batch tensor. Thread-safe.
     */
    public void fill(DecodedImage image, float[] into, int offset) {
        requireNonNull(image, "image is null");
        if (offset < 0 || (long) offset + valuesPerImage() > into.length) {
            throw new IndexOutOfBoundsException("an image needs " + valuesPerImage() + " values from " + offset
                    + ", but the array holds " + into.length);
        }
        int resizedWidth = width;
        int resizedHeight = height;
        int left = 0;
        int top = 0;
        if (resize == Resize.SHORTEST_SIDE) {
            // torchvision: the longer side truncated, the crop's corner rounded half to even
            if (image.width() <= image.height()) {
                resizedWidth = resizeSize;
                resizedHeight = (int) ((long) resizeSize * image.height() / image.width());
            } else {
                resizedHeight = resizeSize;
                resizedWidth = (int) ((long) resizeSize * image.width() / image.height());
            }
            left = (int) Math.rint((resizedWidth - width) / 2.0);
            top = (int) Math.rint((resizedHeight - height) / 2.0);
        }
        float[] rgb = ImageResampler.resize(image, resizedWidth, resizedHeight, left, top, width, height,
                interpolation, antialias);
        int pixels = width * height;
        for (int channel = 0; channel < 3; channel++) {
            int source = channelOrder == ChannelOrder.RGB ? channel : 2 - channel;
            float multiplier = scale / std.get(channel);
            float shift = -mean.get(channel) / std.get(channel);
            for (int pixel = 0; pixel < pixels; pixel++) {
                float value = rgb[pixel * 3 + source] * multiplier + shift;
                into[offset + (layout == Layout.NCHW ? channel * pixels + pixel : pixel * 3 + channel)] = value;
            }
        }
    }
}
