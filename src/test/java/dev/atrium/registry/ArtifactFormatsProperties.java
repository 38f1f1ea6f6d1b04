package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.testing.FuzzInput;
import dev.atrium.testing.FuzzTries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzing the ONNX external-data scan against protobuf's own parser: for valid models (with and without external
 * data) mutated byte by byte, the scan passes a file or refuses it with an {@link AtriumException}, never another
 * exception, within a time bound; and whenever the full parser reads a tensor with external data, the scan refuses
 * the file, so what the scan lets through never makes ONNX Runtime open a file beside it.
 */
@AddLifecycleHook(FuzzTries.class)
class ArtifactFormatsProperties {
    private static final long MAX_MILLIS = 2_000;

    @Property(tries = 1500)
    void check_mutatedOnnx_agreesWithTheFullParserOnExternalData(@ForAll long seed) throws IOException {
        FuzzInput fuzz = new FuzzInput(seed);
        byte[] valid = fuzz.chance(50) ? SafeFormatsTest.addModel(fuzz.chance(50) ? null : "weights.bin")
                : SafeFormatsTest.constantModel("../w");
        byte[] bytes = fuzz.chance(20) ? valid : fuzz.mutate(valid);
        Path file = Files.createTempFile("fuzz", ".onnx");
        try {
            Files.write(file, bytes);
            long start = System.nanoTime();
            String outcome;
            try {
                ArtifactFormats.check(ArtifactFile.ONNX, file);
                outcome = "passed";
            } catch (AtriumException e) {
                outcome = e.code() == ErrorCode.INVALID_ARTIFACT ? "unreadable" : "refused";
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(millis).as("scan time of %s", FuzzInput.describe(bytes)).isLessThanOrEqualTo(MAX_MILLIS);
            Boolean external = externalByTheFullParser(bytes);
            if (Boolean.TRUE.equals(external)) {
                assertThat(outcome).as("the scan of %s", FuzzInput.describe(bytes)).isNotEqualTo("passed");
            }
            Statistics.collect(outcome);
            Statistics.coverage(coverage -> {
                coverage.check("passed").percentage(p -> p > 3);
                coverage.check("refused").percentage(p -> p > 5);
            });
        } finally {
            Files.delete(file);
        }
    }

    /** Whether protobuf's parser finds a tensor with external data; null when it cannot read the file. */
    private static Boolean externalByTheFullParser(byte[] bytes) {
        try {
            ModelProto model = ModelProto.parseFrom(bytes);
            return model.hasGraph() && tensors(model.getGraph()).anyMatch(tensor ->
                    tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL || tensor.getExternalDataCount() > 0);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    private static Stream<TensorProto> tensors(GraphProto graph) {
        Stream<TensorProto> own = Stream.concat(graph.getInitializerList().stream(),
                graph.getSparseInitializerList().stream().flatMap(sparse -> Stream.of(sparse.getValues(),
                        sparse.getIndices())));
        Stream<TensorProto> inNodes = graph.getNodeList().stream().map(NodeProto::getAttributeList)
                .flatMap(java.util.List::stream).flatMap(ArtifactFormatsProperties::tensors);
        return Stream.concat(own, inNodes);
    }

    private static Stream<TensorProto> tensors(AttributeProto attribute) {
        return Stream.of(
                attribute.hasT() ? Stream.of(attribute.getT()) : Stream.<TensorProto>empty(),
                attribute.getTensorsList().stream(),
                attribute.hasG() ? tensors(attribute.getG()) : Stream.<TensorProto>empty(),
                attribute.getGraphsList().stream().flatMap(ArtifactFormatsProperties::tensors))
                .flatMap(stream -> stream);
    }
}
