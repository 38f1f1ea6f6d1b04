package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.Pooling;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * A composed text classifier as one self-contained ONNX model: its embedding model's encoder, the pooling and
 * normalization that model is served with, as ONNX nodes, and its head, so that the file answers for token ids
 * ({@code input_ids}, {@code attention_mask} and {@code token_type_ids}, as the encoder declares them) the
 * probabilities that {@code /v1/classifications} answers for their text.
 *
 * <p>Design: the merge works on protobuf's wire format, with no protobuf library, and never decodes the encoder's
 * weights. The encoder's graph fields are kept as they are, as spans of its memory-mapped file, except its name and
 * its outputs (dropped: the merged model's one output is the classifier's). The pooling nodes and the head's nodes,
 * initializers and value infos are appended after them; repeated protobuf fields append, so the encoder's nodes stay
 * first, in topological order. Every tensor and node the merge adds, the head's included, is named under a prefix
 * that no name of the encoder starts with; the head's input becomes the pooled embedding and its score output keeps
 * its name. The model imports the encoder's opsets unchanged (raising them would change what the encoder's nodes
 * mean: from opset 13 Unsqueeze takes its axes as an input), the pooling nodes are written for that opset, and a
 * head written for another opset is taken only when each of its operators means the same at both. The file is
 * planned in full before a byte is written, so that a refusal never comes half-way through an answer and its size
 * is known in advance; planning holds the head and the new fields in memory, the encoder only mapped.
 *
 * <p>Instances are immutable; {@link #writeTo} may be called from several threads.
 */
public final class MergedOnnx {
    /** The oldest default opset the pooling nodes are written for: Range, and negative axes, are from opset 11. */
    private static final int OLDEST_OPSET = 11;
    /** From this opset on ReduceSum and Unsqueeze take their axes as an input, not as an attribute. */
    private static final int AXES_AS_INPUT = 13;
    /** A protobuf message, an ONNX file included, is at most 2 GiB. */
    private static final long MAX_BYTES = Integer.MAX_VALUE;
    /** The output of a head whose scores are logits, made probabilities by a softmax. */
    static final String PROBABILITIES = "probabilities";
    /** Divisors are at least this (the smallest normal float), so that a zero norm or count gives 0, not NaN. */
    private static final float TINY = Float.MIN_NORMAL;
    private static final int FLOAT = 1; // TensorProto.DataType
    private static final int INT64 = 7;
    private static final int ATTRIBUTE_INT = 2; // AttributeProto.AttributeType
    private static final int ATTRIBUTE_INTS = 7;
    private static final int EXTERNAL_DATA = 1; // TensorProto.DataLocation

    /**
     * The versions of the default opset at which an operator a head may use changed what it computes (versions that
     * only add element types are left out): a head written for another opset than the encoder's is merged only when
     * none of its operators changed between the two. Softmax and LogSoftmax changed at 13 from a softmax over the
     * input flattened to 2-D to one over a single axis, which is the same over the last axis of a 2-D input; Gemm's
     * change at 11 made its bias optional.
     */
    private static final Map<String, List<Integer>> OPERATOR_CHANGES = Map.ofEntries(
            Map.entry("Gemm", List.of(7, 11)),
            Map.entry("MatMul", List.of()),
            Map.entry("Add", List.of(7)),
            Map.entry("Sub", List.of(7)),
            Map.entry("Mul", List.of(7)),
            Map.entry("Div", List.of(7)),
            Map.entry("Relu", List.of(6)),
            Map.entry("Sigmoid", List.of(6)),
            Map.entry("Tanh", List.of(6)),
            Map.entry("Identity", List.of()),
            Map.entry("Flatten", List.of()),
            Map.entry("Softmax", List.of(13)),
            Map.entry("LogSoftmax", List.of(13)));

    /**
     * Where the classifier's scores are in its head.
     *
     * @param output the head output that holds them, FP32 [batch, classes]
     * @param logits whether they are logits, which the merged model turns into probabilities with a softmax (its
     *     output then named {@code probabilities}); false when they already are probabilities
     * @param labels the class names in output order, the merged model's {@code labels} metadata property
     */
    public record Scores(String output, boolean logits, List<String> labels) {
        public Scores {
            requireNonNull(output, "output is null");
            labels = List.copyOf(labels);
        }
    }

    private final List<ByteBuffer> pieces;
    private final long sizeBytes;

    private MergedOnnx(List<ByteBuffer> pieces) {
        this.pieces = List.copyOf(pieces);
        this.sizeBytes = pieces.stream().mapToLong(ByteBuffer::remaining).sum();
    }

    /**
     * Plans the merged model of an encoder and a head.
     *
     * @param encoder the embedding model's ONNX file
     * @param embedding how the embedding model makes its vectors: the output pooled, the pooling, the normalization
     * @param head the head's ONNX file: one input of the embedding's width, the scores among its outputs
     * @param properties metadata properties for the merged model, after {@code labels}, in order
     * @throws AtriumException {@code UNSUPPORTED_BY_MODEL} when the two cannot be one model (an opset the pooling
     *     is not written for, a head operator that means otherwise at the encoder's opset, a head with subgraphs or
     *     functions), naming why; {@code INTERNAL} when a file is not the ONNX model it was validated as
     */
    public static MergedOnnx of(Path encoder, EmbeddingMetadata embedding, Path head, Scores scores,
            SequencedMap<String, String> properties) {
        requireNonNull(embedding, "embedding is null");
        requireNonNull(scores, "scores is null");
        requireNonNull(properties, "properties is null");
        EncoderModel encoderModel;
        HeadModel headModel;
        try {
            encoderModel = EncoderModel.read(map(encoder, "embedding model"));
        } catch (IllegalArgumentException e) {
            throw AtriumException.internal("the embedding model's ONNX file cannot be read", e);
        }
        try {
            headModel = HeadModel.read(map(head, "head"));
        } catch (IllegalArgumentException e) {
            throw AtriumException.internal("the head's ONNX file cannot be read", e);
        }
        return new Merge(encoderModel, embedding, headModel, scores, properties).plan();
    }

    /** The merged model's size in bytes. */
    public long sizeBytes() {
        return sizeBytes;
    }

    /** Writes the merged model; the stream is left open. */
    public void writeTo(OutputStream out) throws IOException {
        WritableByteChannel channel = Channels.newChannel(out);
        for (ByteBuffer piece : pieces) {
            ByteBuffer bytes = piece.duplicate();
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        }
        out.flush();
    }

    private static ByteBuffer map(Path file, String what) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > MAX_BYTES) {
                throw unsupported("the " + what + "'s ONNX file is larger than 2 GiB, the most one ONNX model holds");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static AtriumException unsupported(String message) {
        return new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, message);
    }

    /** The default domain is named "" or "ai.onnx". */
    private static String domainName(String name) {
        return name.equals("ai.onnx") ? "" : name;
    }

    // ---- the encoder --------------------------------------------------------------------------------------------

    /**
     * What the merge reads of the encoder: the spans of its graph's fields that it keeps, its opsets and functions,
     * and every name its graph uses (so that none is taken again).
     */
    private record EncoderModel(long irVersion, SequencedMap<String, Long> opsets,
            List<ByteBuffer> graphFields, List<ByteBuffer> functions, List<String> inputs, Set<String> names) {

        static EncoderModel read(ByteBuffer bytes) {
            long irVersion = 0;
            SequencedMap<String, Long> opsets = new LinkedHashMap<>();
            List<ByteBuffer> graphFields = new ArrayList<>();
            List<ByteBuffer> functions = new ArrayList<>();
            List<String> inputs = new ArrayList<>();
            Set<String> names = new HashSet<>();
            ProtoReader model = new ProtoReader(bytes);
            while (model.next()) {
                switch (model.field()) {
                    case 1 -> irVersion = model.varint();
                    case 7 -> readGraph(bytes, model.message(), graphFields, inputs, names);
                    case 8 -> readOpset(model.message(), opsets);
                    case 25 -> functions.add(bytes.slice(model.fieldStart(), model.fieldEnd() - model.fieldStart()));
                    default -> { } // producer, doc string, metadata, training info: not the merged model's
                }
            }
            return new EncoderModel(irVersion, opsets, graphFields, functions, inputs, names);
        }

        /** Keeps every field but the name and the outputs, merging adjacent spans; notes the names used. */
        private static void readGraph(ByteBuffer bytes, ProtoReader graph, List<ByteBuffer> kept, List<String> inputs,
                Set<String> names) {
            int spanStart = -1;
            int spanEnd = -1;
            while (graph.next()) {
                int field = graph.field();
                boolean keep = field != 2 && field != 12;
                switch (field) {
                    case 1 -> readNames(graph.message(), Set.of(1, 2, 3), names);
                    case 5 -> {
                        ProtoReader tensor = graph.message();
                        while (tensor.next()) {
                            if (tensor.field() == 8) {
                                names.add(tensor.string());
                            } else if (tensor.field() == 14 && tensor.varint() == EXTERNAL_DATA) {
                                throw unsupported("the embedding model keeps weights in external data files;"
                                        + " it cannot be one ONNX file");
                            }
                        }
                    }
                    case 11 -> {
                        String name = firstString(graph.message(), 1);
                        inputs.add(name);
                        names.add(name);
                    }
                    case 12, 13 -> readNames(graph.message(), Set.of(1), names);
                    default -> { }
                }
                if (!keep) {
                    continue;
                }
                if (graph.fieldStart() == spanEnd) {
                    spanEnd = graph.fieldEnd();
                } else {
                    if (spanStart >= 0) {
                        kept.add(bytes.slice(spanStart, spanEnd - spanStart));
                    }
                    spanStart = graph.fieldStart();
                    spanEnd = graph.fieldEnd();
                }
            }
            if (spanStart >= 0) {
                kept.add(bytes.slice(spanStart, spanEnd - spanStart));
            }
        }

        Long defaultOpset() {
            return opsets.get("");
        }
    }

    private static void readOpset(ProtoReader opset, Map<String, Long> opsets) {
        String domain = "";
        long version = 0;
        while (opset.next()) {
            if (opset.field() == 1) {
                domain = domainName(opset.string());
            } else if (opset.field() == 2) {
                version = opset.varint();
            }
        }
        opsets.put(domain, version);
    }

    private static void readNames(ProtoReader message, Set<Integer> fields, Set<String> names) {
        while (message.next()) {
            if (fields.contains(message.field())) {
                names.add(message.string());
            }
        }
    }

    private static String firstString(ProtoReader message, int field) {
        while (message.next()) {
            if (message.field() == field) {
                return message.string();
            }
        }
        return "";
    }

    // ---- the head -----------------------------------------------------------------------------------------------

    /** A message with a name (a tensor, a value info): the name, and its other fields as they are. */
    private record Named(String name, byte[] rest) {
        static Named read(ProtoReader message, int nameField) {
            String name = "";
            ProtoMessage rest = new ProtoMessage();
            while (message.next()) {
                if (message.field() == nameField) {
                    name = message.string();
                } else {
                    rest.raw(message.fieldBytes());
                }
            }
            return new Named(name, rest.toBytes());
        }

        ProtoMessage renamed(int nameField, String newName) {
            return new ProtoMessage().string(nameField, newName).raw(rest);
        }
    }

    /**
     * A node of the head: its tensors' and its own names, which the merge renames, its other fields as they are, and
     * what the opset check needs to know of it.
     */
    private record HeadNode(String opType, String domain, List<String> inputs, List<String> outputs, String name,
            byte[] rest, OptionalLong axis, boolean hasSubgraph) {

        static HeadNode read(ProtoReader node) {
            String opType = "";
            String domain = "";
            List<String> inputs = new ArrayList<>();
            List<String> outputs = new ArrayList<>();
            String name = "";
            ProtoMessage rest = new ProtoMessage();
            OptionalLong axis = OptionalLong.empty();
            boolean hasSubgraph = false;
            while (node.next()) {
                switch (node.field()) {
                    case 1 -> inputs.add(node.string());
                    case 2 -> outputs.add(node.string());
                    case 3 -> name = node.string();
                    default -> {
                        rest.raw(node.fieldBytes());
                        if (node.field() == 4) {
                            opType = node.string();
                        } else if (node.field() == 7) {
                            domain = domainName(node.string());
                        } else if (node.field() == 5) {
                            ProtoReader attribute = node.message();
                            String attributeName = "";
                            OptionalLong value = OptionalLong.empty();
                            while (attribute.next()) {
                                switch (attribute.field()) {
                                    case 1 -> attributeName = attribute.string();
                                    case 3 -> value = OptionalLong.of(attribute.varint());
                                    case 6, 11 -> hasSubgraph = true; // g, graphs
                                    default -> { }
                                }
                            }
                            if (attributeName.equals("axis")) {
                                axis = value;
                            }
                        }
                    }
                }
            }
            return new HeadNode(opType, domain, inputs, outputs, name, rest.toBytes(), axis, hasSubgraph);
        }
    }

    private record HeadModel(long irVersion, Map<String, Long> opsets, List<HeadNode> nodes, List<Named> initializers,
            List<Named> inputs, List<Named> outputs, List<Named> valueInfos) {

        static HeadModel read(ByteBuffer bytes) {
            long irVersion = 0;
            Map<String, Long> opsets = new LinkedHashMap<>();
            List<HeadNode> nodes = new ArrayList<>();
            List<Named> initializers = new ArrayList<>();
            List<Named> inputs = new ArrayList<>();
            List<Named> outputs = new ArrayList<>();
            List<Named> valueInfos = new ArrayList<>();
            ProtoReader model = new ProtoReader(bytes);
            while (model.next()) {
                switch (model.field()) {
                    case 1 -> irVersion = model.varint();
                    case 8 -> readOpset(model.message(), opsets);
                    case 25 -> throw unsupported("the head has model-local functions; only a head of plain"
                            + " operators can be merged");
                    case 7 -> {
                        ProtoReader graph = model.message();
                        while (graph.next()) {
                            switch (graph.field()) {
                                case 1 -> nodes.add(HeadNode.read(graph.message()));
                                case 5 -> initializers.add(Named.read(graph.message(), 8));
                                case 11 -> inputs.add(Named.read(graph.message(), 1));
                                case 12 -> outputs.add(Named.read(graph.message(), 1));
                                case 13 -> valueInfos.add(Named.read(graph.message(), 1));
                                case 15 -> throw unsupported("the head has sparse initializers; only a head of"
                                        + " dense weights can be merged");
                                default -> { }
                            }
                        }
                    }
                    default -> { }
                }
            }
            for (Named initializer : initializers) {
                ProtoReader tensor = new ProtoReader(ByteBuffer.wrap(initializer.rest()));
                while (tensor.next()) {
                    if (tensor.field() == 14 && tensor.varint() == EXTERNAL_DATA) {
                        throw unsupported("the head keeps weights in external data files; it cannot be one ONNX file");
                    }
                }
            }
            return new HeadModel(irVersion, opsets, nodes, initializers, inputs, outputs, valueInfos);
        }

        /** The rank of a tensor of the graph, from its declared type; -1 when not declared. */
        int rank(String tensor) {
            for (List<Named> infos : List.of(outputs, valueInfos)) {
                for (Named info : infos) {
                    if (info.name().equals(tensor)) {
                        return rankOf(info.rest());
                    }
                }
            }
            return -1;
        }

        /** ValueInfoProto.type (2) → TypeProto.tensor_type (1) → shape (2) → its dims (1). */
        private static int rankOf(byte[] valueInfo) {
            ProtoReader info = new ProtoReader(ByteBuffer.wrap(valueInfo));
            ProtoReader shape = descend(descend(descend(info, 2), 1), 2);
            if (shape == null) {
                return -1;
            }
            int rank = 0;
            while (shape.next()) {
                rank += shape.field() == 1 ? 1 : 0;
            }
            return rank;
        }

        private static ProtoReader descend(ProtoReader message, int field) {
            if (message == null) {
                return null;
            }
            while (message.next()) {
                if (message.field() == field && message.wireType() == ProtoReader.LENGTH_DELIMITED) {
                    return message.message();
                }
            }
            return null;
        }
    }

    // ---- the merge ----------------------------------------------------------------------------------------------

    /** One merge being planned. */
    private static final class Merge {
        private final EncoderModel encoder;
        private final EmbeddingMetadata embedding;
        private final HeadModel head;
        private final Scores scores;
        private final SequencedMap<String, String> properties;
        private final long opset;
        private final String prefix;
        private final ProtoMessage graph = new ProtoMessage();
        private final Map<String, String> constants = new HashMap<>();
        private int nodeCount;

        Merge(EncoderModel encoder, EmbeddingMetadata embedding, HeadModel head, Scores scores,
                SequencedMap<String, String> properties) {
            this.encoder = encoder;
            this.embedding = embedding;
            this.head = head;
            this.scores = scores;
            this.properties = properties;
            Long defaultOpset = encoder.defaultOpset();
            if (defaultOpset == null) {
                throw unsupported("the embedding model imports no default ONNX opset");
            }
            if (defaultOpset < OLDEST_OPSET) {
                throw unsupported("the embedding model is written for opset " + defaultOpset + "; the merge writes"
                        + " its pooling for opset " + OLDEST_OPSET + " or later");
            }
            this.opset = defaultOpset;
            this.prefix = freePrefix(encoder.names());
        }

        /** "atrium/", or "atrium1/", ...: the first prefix that no name of the encoder starts with. */
        private static String freePrefix(Set<String> names) {
            for (int n = 0; ; n++) {
                String candidate = "atrium" + (n == 0 ? "" : Integer.toString(n)) + "/";
                if (names.stream().noneMatch(name -> name.startsWith(candidate))) {
                    return candidate;
                }
            }
        }

        MergedOnnx plan() {
            if (!encoder.names().contains(embedding.output())) {
                throw unsupported("the embedding model has no tensor '" + embedding.output() + "', the output its"
                        + " embeddings are pooled from");
            }
            Set<String> initializerNames = new HashSet<>();
            head.initializers().forEach(initializer -> initializerNames.add(initializer.name()));
            List<Named> headInputs = head.inputs().stream()
                    .filter(input -> !initializerNames.contains(input.name())).toList();
            if (headInputs.size() != 1) {
                throw unsupported("the head has " + headInputs.size() + " inputs; a head has one, the embedding");
            }
            String headInput = headInputs.getFirst().name();
            Named scoresOutput = head.outputs().stream().filter(output -> output.name().equals(scores.output()))
                    .findFirst().orElseThrow(() -> unsupported("the head has no output '" + scores.output() + "'"));
            if (scoresOutput.name().equals(headInput)) {
                throw unsupported("the head's output '" + headInput + "' is its input");
            }
            String outputName = scores.logits() ? PROBABILITIES : scoresOutput.name();
            if (encoder.names().contains(outputName)) {
                throw unsupported("the head's output '" + outputName + "' has the name of a tensor of the embedding"
                        + " model");
            }
            SequencedMap<String, Long> opsets = opsets();
            return assemble(graphTail(headInput, scoresOutput, outputName), opsets);
        }

        /** The graph's new fields: its name, pooling and normalization, the head, the one output. */
        private byte[] graphTail(String headInput, Named scoresOutput, String outputName) {
            graph.string(2, "text_classifier");
            String pooled = normalize(pool(embedding.output()));
            addHead(headInput, pooled);
            if (scores.logits()) {
                node("Softmax", List.of(prefix + "head/" + scoresOutput.name()), PROBABILITIES,
                        intAttribute("axis", 1));
            }
            graph.message(12, scoresOutput.renamed(1, outputName));
            return graph.toBytes();
        }

        /** The model: its header, the encoder's graph fields and the new ones, its opsets, metadata and functions. */
        private MergedOnnx assemble(byte[] tail, SequencedMap<String, Long> opsets) {
            long graphLength = tail.length;
            for (ByteBuffer field : encoder.graphFields()) {
                graphLength += field.remaining();
            }
            ProtoMessage header = new ProtoMessage()
                    .varint(1, Math.max(encoder.irVersion(), head.irVersion()))
                    .string(2, "atrium")
                    .string(6, "a text classifier: its embedding model's encoder, " + embedding.pooling().wireName()
                            + " pooling" + (embedding.normalize() ? ", L2 normalization" : "") + " and its head")
                    .lengthDelimitedHeader(7, graphLength);
            ProtoMessage trailer = new ProtoMessage();
            opsets.forEach((domain, version) -> trailer.message(8,
                    new ProtoMessage().string(1, domain).varint(2, version)));
            SequencedMap<String, String> metadata = new LinkedHashMap<>();
            metadata.put(OnnxHeadWriter.LABELS_PROPERTY, String.join(",", scores.labels()));
            metadata.putAll(properties);
            metadata.forEach((key, value) -> trailer.message(14, new ProtoMessage().string(1, key).string(2, value)));

            List<ByteBuffer> pieces = new ArrayList<>();
            pieces.add(ByteBuffer.wrap(header.toBytes()));
            pieces.addAll(encoder.graphFields());
            pieces.add(ByteBuffer.wrap(tail));
            pieces.add(ByteBuffer.wrap(trailer.toBytes()));
            pieces.addAll(encoder.functions());
            MergedOnnx merged = new MergedOnnx(pieces);
            if (merged.sizeBytes() > MAX_BYTES) {
                throw unsupported("the merged model would be larger than 2 GiB, the most one ONNX model holds");
            }
            return merged;
        }

        /**
         * The encoder's opsets, and those of the head's other domains the encoder does not import; a head whose
         * default opset differs from the encoder's only when each of its operators means the same at both.
         */
        private SequencedMap<String, Long> opsets() {
            SequencedMap<String, Long> opsets = new LinkedHashMap<>(encoder.opsets());
            Long headOpset = head.opsets().get("");
            for (HeadNode node : head.nodes()) {
                if (node.hasSubgraph()) {
                    throw unsupported("the head's " + node.opType() + " node has a subgraph; only a head of plain"
                            + " operators can be merged");
                }
                if (!node.domain().isEmpty()) {
                    Long headVersion = head.opsets().get(node.domain());
                    Long encoderVersion = opsets.get(node.domain());
                    if (encoderVersion == null && headVersion != null) {
                        opsets.put(node.domain(), headVersion);
                    } else if (headVersion != null && !headVersion.equals(encoderVersion)) {
                        throw unsupported("the head imports opset " + headVersion + " of domain '" + node.domain()
                                + "' and the embedding model opset " + encoderVersion);
                    }
                } else if (headOpset != null && headOpset != opset && !meansTheSame(node, headOpset)) {
                    throw unsupported("the head's " + node.opType() + " node is written for opset " + headOpset
                            + " and may mean otherwise at opset " + opset + ", the embedding model's; a head of"
                            + " another opset may use " + String.join(", ", new TreeSet<>(OPERATOR_CHANGES.keySet())));
                }
            }
            return opsets;
        }

        private boolean meansTheSame(HeadNode node, long headOpset) {
            List<Integer> changes = OPERATOR_CHANGES.get(node.opType());
            if (changes == null) {
                return false;
            }
            long low = Math.min(headOpset, opset);
            long high = Math.max(headOpset, opset);
            for (int change : changes) {
                if (change <= low || change > high) {
                    continue;
                }
                boolean same = switch (node.opType()) {
                    // the bias became optional: a Gemm that has one means the same
                    case "Gemm" -> change == 11 && node.inputs().size() == 3 && !node.inputs().get(2).isEmpty();
                    // over the last axis of a 2-D input, both softmaxes are one softmax per row
                    case "Softmax", "LogSoftmax" -> change == 13 && !node.outputs().isEmpty()
                            && head.rank(node.outputs().getFirst()) == 2
                            && (node.axis().isEmpty() || node.axis().getAsLong() == 1
                                    || node.axis().getAsLong() == -1);
                    default -> false;
                };
                if (!same) {
                    return false;
                }
            }
            return true;
        }

        // ---- pooling and normalization, as the engine does them (EmbeddingPipeline.pool) ------------------------

        private String pool(String hidden) {
            Pooling pooling = embedding.pooling();
            if (pooling != Pooling.NONE && !encoder.inputs().contains("attention_mask")) {
                throw unsupported("the embedding model has no attention_mask input to pool its tokens by");
            }
            String mask = "attention_mask";
            return switch (pooling) {
                case MEAN -> {
                    // sum(hidden × mask) / sum(mask) over the sequence: the mean of the tokens under the mask
                    String weights = unsqueeze(node("Cast", List.of(mask), "mean/mask", intAttribute("to", FLOAT)),
                            "mean/mask_3d");
                    String sum = reduceSum(node("Mul", List.of(hidden, weights), "mean/masked"), false, "mean/sum");
                    String count = reduceSum(weights, false, "mean/count");
                    String positive = node("Max", List.of(count, floatScalar("tiny", TINY)), "mean/count_positive");
                    yield node("Div", List.of(sum, positive), "mean/pooled");
                }
                case CLS -> node("Gather", List.of(hidden, int64Scalar("zero", 0)), "cls/pooled",
                        intAttribute("axis", 1));
                case LAST -> {
                    // the token at sum(mask) - 1, picked by a one-hot weight over the sequence
                    String length = reduceSum(mask, true, "last/length");
                    String last = node("Sub", List.of(length, int64Scalar("one", 1)), "last/index");
                    String shape = node("Shape", List.of(mask), "last/mask_shape");
                    String sequence = node("Gather", List.of(shape, int64Scalar("one", 1)), "last/sequence_length",
                            intAttribute("axis", 0));
                    String positions = node("Range", List.of(int64Scalar("zero", 0), sequence, int64Scalar("one", 1)),
                            "last/positions");
                    String isLast = node("Equal", List.of(positions, last), "last/is_last");
                    String weights = unsqueeze(node("Cast", List.of(isLast), "last/weight", intAttribute("to", FLOAT)),
                            "last/weight_3d");
                    yield reduceSum(node("Mul", List.of(hidden, weights), "last/masked"), false, "last/pooled");
                }
                case NONE -> hidden;
            };
        }

        /** v / max(‖v‖, tiny) per row: the engine's L2 normalization, a zero vector left zero. */
        private String normalize(String pooled) {
            if (!embedding.normalize()) {
                return pooled;
            }
            String squares = node("Mul", List.of(pooled, pooled), "normalize/squares");
            String norm = node("Sqrt", List.of(reduceSum(squares, true, "normalize/sum_of_squares")),
                    "normalize/norm");
            String positive = node("Max", List.of(norm, floatScalar("tiny", TINY)), "normalize/norm_positive");
            return node("Div", List.of(pooled, positive), "normalize/normalized");
        }

        // ---- the head -----------------------------------------------------------------------------------------

        /** The head's nodes, weights and value infos, renamed under the prefix; its input is the pooled vector. */
        private void addHead(String headInput, String pooled) {
            UnaryOperator<String> rename = name -> name.isEmpty() ? ""
                    : name.equals(headInput) ? pooled
                    : name.equals(scores.output()) && !scores.logits() ? name
                    : prefix + "head/" + name;
            int index = 0;
            for (HeadNode node : head.nodes()) {
                ProtoMessage renamed = new ProtoMessage();
                node.inputs().forEach(input -> renamed.string(1, rename.apply(input)));
                node.outputs().forEach(output -> renamed.string(2, rename.apply(output)));
                renamed.string(3, prefix + "head/" + (node.name().isEmpty() ? "node" + index : node.name()));
                graph.message(1, renamed.raw(node.rest()));
                index++;
            }
            for (Named initializer : head.initializers()) {
                graph.message(5, initializer.renamed(8, rename.apply(initializer.name())));
            }
            for (Named info : head.valueInfos()) {
                graph.message(13, info.renamed(1, rename.apply(info.name())));
            }
        }

        // ---- writing nodes --------------------------------------------------------------------------------------

        /** Adds a node with one output, named under the prefix; returns that name. */
        private String node(String opType, List<String> inputs, String output, ProtoMessage... attributes) {
            String name = output.equals(PROBABILITIES) ? output : prefix + output;
            ProtoMessage node = new ProtoMessage();
            inputs.forEach(input -> node.string(1, input));
            node.string(2, name).string(3, prefix + "node" + nodeCount++).string(4, opType);
            for (ProtoMessage attribute : attributes) {
                node.message(5, attribute);
            }
            graph.message(1, node);
            return name;
        }

        /** Unsqueeze at axis 2: [batch, sequence] to [batch, sequence, 1]. */
        private String unsqueeze(String input, String output) {
            return opset >= AXES_AS_INPUT
                    ? node("Unsqueeze", List.of(input, int64s("axis_2", 2)), output)
                    : node("Unsqueeze", List.of(input), output, intsAttribute("axes", 2));
        }

        /** ReduceSum over axis 1, the sequence (or the embedding's width, for a 2-D input). */
        private String reduceSum(String input, boolean keepDims, String output) {
            ProtoMessage keep = intAttribute("keepdims", keepDims ? 1 : 0);
            return opset >= AXES_AS_INPUT
                    ? node("ReduceSum", List.of(input, int64s("axis_1", 1)), output, keep)
                    : node("ReduceSum", List.of(input), output, intsAttribute("axes", 1), keep);
        }

        private String int64Scalar(String name, long value) {
            return constant(name, INT64, littleEndian(value), new long[0]);
        }

        /** A 1-D INT64 tensor of one value (axes given as an input). */
        private String int64s(String name, long value) {
            return constant(name, INT64, littleEndian(value), new long[] {1});
        }

        private String floatScalar(String name, float value) {
            return constant(name, FLOAT, ProtoMessage.littleEndian(new float[] {value}), new long[0]);
        }

        private static byte[] littleEndian(long value) {
            return ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
        }

        /** An initializer, added once however often it is used. */
        private String constant(String name, int type, byte[] raw, long[] dims) {
            return constants.computeIfAbsent(name, key -> {
                ProtoMessage tensor = new ProtoMessage();
                for (long dim : dims) {
                    tensor.varint(1, dim);
                }
                String full = prefix + "constant/" + key;
                graph.message(5, tensor.varint(2, type).string(8, full).bytes(9, raw));
                return full;
            });
        }

        private static ProtoMessage intAttribute(String name, long value) {
            return new ProtoMessage().string(1, name).varint(3, value).varint(20, ATTRIBUTE_INT);
        }

        private static ProtoMessage intsAttribute(String name, long... values) {
            ProtoMessage attribute = new ProtoMessage().string(1, name);
            for (long value : values) {
                attribute.varint(8, value);
            }
            return attribute.varint(20, ATTRIBUTE_INTS);
        }
    }
}
