package dev.atrium.registry;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TrainingInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The supply-chain checks every model file passes before an engine opens it: only safe formats are loaded. A model
 * file is ONNX (a protobuf graph, run by ONNX Runtime) or GGUF (tensors and metadata, run by llama.cpp); tokenizers
 * and configs are JSON. Nothing here or in the engines loads pickle or any other format that runs code, and a file
 * whose first bytes say it is one (a PyTorch checkpoint, a zip, NumPy, HDF5, safetensors) is refused by name, so
 * that the uploader learns to export the model rather than seeing a parser's complaint.
 *
 * <p>ONNX files may keep tensors in external files, which ONNX Runtime opens relative to the model's directory.
 * Stored artifacts share one content-addressed directory, so such a reference could only ever reach a file that is
 * not the uploader's (or, with {@code ..} or an absolute path, any file the server can read). Every tensor of an ONNX
 * file is therefore scanned, in the graph, its subgraphs, sparse initializers, node attributes, functions and
 * training graphs, and a file with any external data is refused, naming the tensor. The scan streams the protobuf
 * and skips tensor payloads, so it holds no more than a few names in memory whatever the file's size.
 */
final class ArtifactFormats {
    /** ONNX files are single protobuf messages, which protobuf limits to 2 GiB. */
    static final long MAX_ONNX_BYTES = Integer.MAX_VALUE;
    private static final int MAX_DEPTH = 64;
    private static final int MAX_NAME_BYTES = 1024;
    private static final int EXTERNAL = TensorProto.DataLocation.EXTERNAL_VALUE;

    private ArtifactFormats() {}

    /**
     * Checks one staged model file of a role ({@code onnx}, {@code vad}, {@code gguf}); tokenizers and configs are
     * JSON, parsed as such, and need no check here.
     *
     * @throws AtriumException 400 naming the part: a format that is not the role's (pickle, zip, ...), or an ONNX
     *     file with external data
     */
    static void check(String role, Path file) {
        switch (role) {
            case ArtifactFile.ONNX, ArtifactFile.VAD -> {
                refuseForeignFormat(role, file, false);
                refuseExternalData(role, file);
            }
            case ArtifactFile.GGUF -> refuseForeignFormat(role, file, true);
            default -> { }
        }
    }

    /** Names the format of a file whose first bytes are not the role's and are a format Atrium never loads. */
    private static void refuseForeignFormat(String role, Path file, boolean gguf) {
        byte[] head = new byte[16];
        int read;
        try (InputStream in = Files.newInputStream(file)) {
            read = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] start = Arrays.copyOf(head, read);
        if (gguf && startsWith(start, "GGUF".getBytes(StandardCharsets.US_ASCII))) {
            return;
        }
        String format = foreignFormat(start);
        if (format != null) {
            throw AtriumException.invalidParam(role, "the '" + role + "' part is " + format + ", not "
                    + (gguf ? "a GGUF" : "an ONNX") + " file; Atrium loads only ONNX and GGUF model files, never"
                    + " pickle or other formats that can run code: export the model to " + (gguf ? "GGUF" : "ONNX")
                    + " first");
        }
    }

    /** What a file's first bytes say it is, among formats that are not ONNX or GGUF models; null if none. */
    static String foreignFormat(byte[] head) {
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            return "a Python pickle (a PyTorch or scikit-learn file?)";
        }
        if (startsWith(head, new byte[] {'P', 'K', 3, 4}) || startsWith(head, new byte[] {'P', 'K', 5, 6})) {
            return "a zip archive (a PyTorch checkpoint?)";
        }
        if (startsWith(head, new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'})) {
            return "a NumPy array file";
        }
        if (startsWith(head, new byte[] {(byte) 0x89, 'H', 'D', 'F'})) {
            return "an HDF5 file (a Keras model?)";
        }
        if (startsWith(head, new byte[] {0x1f, (byte) 0x8b})) {
            return "a gzip file";
        }
        if (head.length >= 10 && head[8] == '{' && head[9] == '"' && head[6] == 0 && head[7] == 0) {
            return "a safetensors file (weights without a graph)";
        }
        if (startsWith(head, "GGUF".getBytes(StandardCharsets.US_ASCII))) {
            return "a GGUF file (upload it as the 'gguf' part of a llama model)";
        }
        return null;
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static void refuseExternalData(String role, Path file) {
        try {
            if (Files.size(file) > MAX_ONNX_BYTES) {
                throw AtriumException.invalidParam(role, "the '" + role + "' part is larger than 2 GiB, the most a"
                        + " self-contained ONNX file can be (protobuf's limit); Atrium takes no external data");
            }
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                CodedInputStream coded = CodedInputStream.newInstance(in);
                coded.setSizeLimit(Integer.MAX_VALUE);
                new Scan(role, coded).model();
            }
        } catch (ScanFailed e) {
            throw notOnnx(role, e.getMessage());
        } catch (InvalidProtocolBufferException e) {
            // what cannot be scanned is not opened either: ONNX Runtime reads the same protobuf
            throw notOnnx(role, "it is not a well-formed protobuf message");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static AtriumException notOnnx(String role, String why) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, "the '" + role + "' part is not a readable ONNX file: "
                + why);
    }

    private static final class ScanFailed extends RuntimeException {
        ScanFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** One pass over a protobuf stream, descending only into the messages that can hold tensors. */
    private static final class Scan {
        private final String role;
        private final CodedInputStream in;
        private int depth;

        Scan(String role, CodedInputStream in) {
            this.role = role;
            this.in = in;
        }

        void model() throws IOException {
            fields(field -> switch (field) {
                case ModelProto.GRAPH_FIELD_NUMBER -> this::graph;
                case ModelProto.TRAINING_INFO_FIELD_NUMBER -> this::trainingInfo;
                case ModelProto.FUNCTIONS_FIELD_NUMBER -> this::function;
                default -> null;
            });
        }

        private void graph() throws IOException {
            fields(field -> switch (field) {
                case GraphProto.NODE_FIELD_NUMBER -> this::node;
                case GraphProto.INITIALIZER_FIELD_NUMBER -> this::tensor;
                case GraphProto.SPARSE_INITIALIZER_FIELD_NUMBER -> this::sparseTensor;
                default -> null;
            });
        }

        private void trainingInfo() throws IOException {
            fields(field -> switch (field) {
                case TrainingInfoProto.INITIALIZATION_FIELD_NUMBER, TrainingInfoProto.ALGORITHM_FIELD_NUMBER ->
                        this::graph;
                default -> null;
            });
        }

        private void function() throws IOException {
            fields(field -> field == FunctionProto.NODE_FIELD_NUMBER ? this::node : null);
        }

        private void node() throws IOException {
            fields(field -> field == NodeProto.ATTRIBUTE_FIELD_NUMBER ? this::attribute : null);
        }

        private void attribute() throws IOException {
            fields(field -> switch (field) {
                case AttributeProto.T_FIELD_NUMBER, AttributeProto.TENSORS_FIELD_NUMBER -> this::tensor;
                case AttributeProto.G_FIELD_NUMBER, AttributeProto.GRAPHS_FIELD_NUMBER -> this::graph;
                case AttributeProto.SPARSE_TENSOR_FIELD_NUMBER, AttributeProto.SPARSE_TENSORS_FIELD_NUMBER ->
                        this::sparseTensor;
                default -> null;
            });
        }

        private void sparseTensor() throws IOException {
            fields(field -> field == SparseTensorProto.VALUES_FIELD_NUMBER
                    || field == SparseTensorProto.INDICES_FIELD_NUMBER ? this::tensor : null);
        }

        /** A tensor: refused if it keeps its data outside the file. */
        private void tensor() throws IOException {
            String name = "";
            String location = null;
            boolean external = false;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                int field = WireFormat.getTagFieldNumber(tag);
                boolean delimited = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
                if (field == TensorProto.NAME_FIELD_NUMBER && delimited) {
                    name = shortString();
                } else if (field == TensorProto.DATA_LOCATION_FIELD_NUMBER
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                    external |= in.readEnum() == EXTERNAL;
                } else if (field == TensorProto.EXTERNAL_DATA_FIELD_NUMBER && delimited) {
                    external = true;
                    String value = externalLocation();
                    location = value != null ? value : location;
                } else {
                    in.skipField(tag);
                }
            }
            if (external) {
                boolean escapes = location != null && (location.startsWith("/") || location.startsWith("\\")
                        || location.contains("..") || location.contains(":"));
                throw AtriumException.invalidParam(role, "the '" + role + "' part keeps tensor '" + name + "' in an"
                        + " external file" + (location == null ? "" : " ('" + location + "')")
                        + (escapes ? ", a path outside the model's own directory" : "")
                        + "; Atrium takes only self-contained ONNX files: save the model with every tensor inside"
                        + " it (in Python, onnx.save(model, path, save_as_external_data=False))");
            }
        }

        /** The value of an external-data entry whose key is {@code location}, else null. */
        private String externalLocation() throws IOException {
            int limit = in.pushLimit(length());
            String key = null;
            String value = null;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == StringStringEntryProto.KEY_FIELD_NUMBER) {
                    key = shortString();
                } else if (field == StringStringEntryProto.VALUE_FIELD_NUMBER) {
                    value = shortString();
                } else {
                    in.skipField(tag);
                }
            }
            in.popLimit(limit);
            return "location".equals(key) ? value : null;
        }

        private String shortString() throws IOException {
            int length = length();
            if (length > MAX_NAME_BYTES) {
                in.skipRawBytes(length);
                return "(a name of " + length + " bytes)";
            }
            return new String(in.readRawBytes(length), StandardCharsets.UTF_8);
        }

        private int length() throws IOException {
            int length = in.readRawVarint32();
            if (length < 0) {
                throw new ScanFailed("a negative length");
            }
            return length;
        }

        private interface Step {
            void run() throws IOException;
        }

        private interface Descent {
            /** The step that reads a field's message, or null to skip the field. */
            Step of(int field);
        }

        /** Reads the current message's fields, descending into those {@code descent} names. */
        private void fields(Descent descent) throws IOException {
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    return;
                }
                Step step = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED
                        ? descent.of(WireFormat.getTagFieldNumber(tag)) : null;
                if (step == null) {
                    in.skipField(tag);
                    continue;
                }
                if (++depth > MAX_DEPTH) {
                    throw new ScanFailed("its graphs nest deeper than " + MAX_DEPTH + " levels");
                }
                int limit = in.pushLimit(length());
                step.run();
                in.popLimit(limit);
                depth--;
            }
        }
    }
}
