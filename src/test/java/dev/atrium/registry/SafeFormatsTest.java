package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Only safe formats reach an engine: pickles, zips and other formats are refused by name, and an ONNX file that keeps
 * a tensor in an external file, which ONNX Runtime would open beside the stored artifact, is refused naming the
 * tensor, before ONNX Runtime is asked to open it.
 */
class SafeFormatsTest {
    @TempDir
    Path directory;

    /** y = x + w, with w a float initializer of two values; {@code location} puts w's data in an external file. */
    static byte[] addModel(String location) {
        TensorProto.Builder weight = TensorProto.newBuilder().setName("w").addDims(2)
                .setDataType(TensorProto.DataType.FLOAT.getNumber());
        if (location == null) {
            weight.setRawData(ByteString.copyFrom(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(1).putFloat(2).array()));
        } else {
            weight.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", location))
                    .addExternalData(entry("offset", "0"))
                    .addExternalData(entry("length", "8"));
        }
        GraphProto graph = GraphProto.newBuilder().setName("add")
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("w").addOutput("y"))
                .addInitializer(weight)
                .addInput(floatVector("x"))
                .addOutput(floatVector("y"))
                .build();
        return model(graph);
    }

    /** y = Constant, whose value attribute keeps its data in {@code location}: attributes are scanned too. */
    static byte[] constantModel(String location) {
        TensorProto value = TensorProto.newBuilder().setName("c").addDims(2)
                .setDataType(TensorProto.DataType.FLOAT.getNumber())
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location)).build();
        GraphProto graph = GraphProto.newBuilder().setName("constant")
                .addNode(NodeProto.newBuilder().setOpType("Constant").addOutput("y")
                        .addAttribute(AttributeProto.newBuilder().setName("value").setT(value)
                                .setType(AttributeProto.AttributeType.TENSOR)))
                .addOutput(floatVector("y"))
                .build();
        return model(graph);
    }

    private static byte[] model(GraphProto graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("atrium-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(graph).build().toByteArray();
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static ValueInfoProto floatVector(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber())
                        .setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder()
                                .setDimValue(2))))).build();
    }

    private Path write(String name, byte[] bytes) throws Exception {
        return Files.write(directory.resolve(name), bytes);
    }

    private static byte[] zip() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2, ']', 'q', 0, '.'});
            zip.closeEntry();
        }
        return bytes.toByteArray();
    }

    /** A pickle of protocol 2 as torch.save wrote it before zip files: {@code \x80\x02} then opcodes. */
    private static final byte[] PICKLE = {(byte) 0x80, 2, 'c', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n',
        'q', 0, '.'};

    @Test
    void check_selfContainedOnnx_passes() throws Exception {
        assertThatCode(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("ok.onnx", addModel(null))))
                .doesNotThrowAnyException();
        assertThatCode(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("writer.onnx",
                OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.FLOAT), 2).toBytes())))
                .doesNotThrowAnyException();
    }

    @Test
    void check_externalData_isRefusedNamingTheTensor() throws Exception {
        for (String location : List.of("../../etc/passwd", "/etc/passwd", "weights.bin")) {
            Path file = write("external.onnx", addModel(location));
            assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.ONNX, file))
                    .isInstanceOfSatisfying(AtriumException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.param()).contains("onnx");
                    })
                    .hasMessageContaining("tensor 'w'").hasMessageContaining(location);
        }
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("up.onnx",
                addModel("../../etc/passwd")))).hasMessageContaining("outside the model's own directory");
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.VAD, write("constant.onnx",
                constantModel("weights.bin")))).hasMessageContaining("'vad'").hasMessageContaining("tensor 'c'");
    }

    @Test
    void check_formatsThatRunCode_areRefusedByName() throws Exception {
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("model.pt", PICKLE)))
                .hasMessageContaining("pickle").hasMessageContaining("never");
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.GGUF, write("model.pth", zip())))
                .hasMessageContaining("zip");
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("x.npy",
                "\u0093NUMPY".getBytes(StandardCharsets.ISO_8859_1)))).hasMessageContaining("NumPy");
        assertThatThrownBy(() -> ArtifactFormats.check(ArtifactFile.ONNX, write("garbage.onnx",
                "this is not a model".getBytes(StandardCharsets.UTF_8))))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code())
                        .isEqualTo(ErrorCode.INVALID_ARTIFACT));
    }

    /**
     * End to end: the refusal comes from the check, not from ONNX Runtime, though a {@code weights.bin} lies right
     * where ONNX Runtime would look for it (beside the staged upload); no version is made and nothing is left.
     */
    @Test
    void upload_unsafeFiles_areRefusedWith400_andLeaveNothing() throws Exception {
        try (TestServer server = TestServer.start(Map.of("preload", "none"))) {
            Http http = server.http();
            assertThat(http.postJson("/admin/models", Map.of("name", "adder", "task", "tensor")).status())
                    .isEqualTo(201);
            Path weights = server.dataDir().resolve("staging").resolve("weights.bin");
            Files.write(weights, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2)
                    .array());
            for (String location : List.of("weights.bin", "../../etc/passwd")) {
                Http.Reply reply = http.post("/admin/models/adder/versions", "multipart/form-data; boundary="
                        + Http.BOUNDARY, Http.multipart(Map.of("onnx", addModel(location))));
                assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
                JsonNode error = reply.json().path("error");
                assertThat(error.path("param").asString()).isEqualTo("onnx");
                assertThat(error.path("message").asString()).contains("tensor 'w'").contains("external file")
                        .doesNotContain(server.dataDir().toString());
            }
            for (byte[] unsafe : List.of(PICKLE, zip())) {
                Http.Reply reply = http.post("/admin/models/adder/versions", "multipart/form-data; boundary="
                        + Http.BOUNDARY, Http.multipart(Map.of("onnx", unsafe)));
                assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
                assertThat(reply.json().path("error").path("message").asString()).contains("never pickle");
            }
            Files.delete(weights);
            try (var staged = Files.list(server.dataDir().resolve("staging"))) {
                assertThat(staged.toList()).isEmpty();
            }
            assertThat(http.get("/admin/models/adder").json().path("versions").size()).isZero();
            // the same model with its weight inside is taken, and runs
            Http.Reply ok = http.post("/admin/models/adder/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(Map.of("onnx", addModel(null))));
            assertThat(ok.status()).as(ok.toString()).isEqualTo(201);
            Http.Reply sum = http.postJson("/v2/models/adder/infer", "{\"inputs\": [{\"name\": \"x\", \"shape\": [2],"
                    + " \"datatype\": \"FP32\", \"data\": [10, 20]}]}");
            assertThat(sum.json().path("outputs").get(0).path("data").toString()).isEqualTo("[11.0,22.0]");
        }
    }
}
