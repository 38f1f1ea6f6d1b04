package dev.atrium.v2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Tensor;
import dev.atrium.server.Json;
import java.io.ByteArrayOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JsonGenerator;

/** Every v2 datatype parses from JSON and writes back the same values, at the edges of its range. */
class V2TensorCodecTest {

    static Stream<Arguments> everyDatatype() {
        return Stream.of(
                Arguments.of("BOOL", "[true,false]"),
                Arguments.of("UINT8", "[0,255]"),
                Arguments.of("UINT16", "[0,65535]"),
                Arguments.of("UINT32", "[0,4294967295]"),
                Arguments.of("UINT64", "[0,18446744073709551615]"),
                Arguments.of("INT8", "[-128,127]"),
                Arguments.of("INT16", "[-32768,32767]"),
                Arguments.of("INT32", "[-2147483648,2147483647]"),
                Arguments.of("INT64", "[-9223372036854775808,9223372036854775807]"),
                Arguments.of("FP16", "[-65504.0,6.1035156E-5]"),
                Arguments.of("FP32", "[3.4028235E38,-1.4E-45]"),
                Arguments.of("FP64", "[1.7976931348623157E308,4.9E-324]"),
                Arguments.of("BYTES", "[\"héllo\",\"\"]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyDatatype")
    void parseAndWrite_roundTripTheEdgesOfTheRange(String datatype, String data) {
        Tensor tensor = parse("{\"name\":\"t\",\"shape\":[2],\"datatype\":\"" + datatype + "\",\"data\":" + data + "}");
        assertThat(tensor.datatype()).isEqualTo(DataType.valueOf(datatype));
        assertThat(tensor.shape()).containsExactly(2);
        assertThat(write(tensor)).isEqualTo("{\"name\":\"t\",\"datatype\":\"" + datatype + "\",\"shape\":[2],\"data\":" + data + "}");
    }

    static Stream<Arguments> outOfRange() {
        return Stream.of(
                Arguments.of("UINT8", "256"), Arguments.of("UINT8", "-1"), Arguments.of("UINT16", "65536"),
                Arguments.of("UINT32", "4294967296"), Arguments.of("UINT64", "18446744073709551616"),
                Arguments.of("INT8", "128"), Arguments.of("INT16", "-32769"), Arguments.of("INT32", "2147483648"),
                Arguments.of("INT64", "9223372036854775808"), Arguments.of("INT32", "1.5"), Arguments.of("BOOL", "1"),
                Arguments.of("FP32", "\"1.0\""), Arguments.of("BYTES", "7"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("outOfRange")
    void parse_valueTheTypeCannotHold_isRefusedNamingTheTensor(String datatype, String value) {
        assertThatThrownBy(() -> parse("{\"name\":\"scores\",\"shape\":[1],\"datatype\":\"" + datatype + "\",\"data\":[" + value + "]}"))
                .isInstanceOf(AtriumException.class)
                .hasMessageContaining("scores");
    }

    @Test
    void parse_nestedData_isFlattenedRowMajor() {
        Tensor tensor = parse("{\"name\":\"m\",\"shape\":[2,3],\"datatype\":\"INT32\",\"data\":[[1,2,3],[4,5,6]]}");
        assertThat((int[]) tensor.data()).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void parse_scalar_hasAnEmptyShape() {
        Tensor tensor = parse("{\"name\":\"s\",\"shape\":[],\"datatype\":\"FP64\",\"data\":[2.5]}");
        assertThat((double[]) tensor.data()).containsExactly(2.5);
    }

    @Test
    void parse_nestedDataThatDoesNotMatchTheShape_isRefused() {
        assertThatThrownBy(() -> parse("{\"name\":\"m\",\"shape\":[2,2],\"datatype\":\"INT32\",\"data\":[[1,2,3],[4]]}"))
                .hasMessageContaining("'m'").hasMessageContaining("shape");
        assertThatThrownBy(() -> parse("{\"name\":\"m\",\"shape\":[3,1],\"datatype\":\"INT32\",\"data\":[[1],[2]]}"))
                .hasMessageContaining("'m'");
    }

    @Test
    void parse_missingFields_areNamed() {
        assertThatThrownBy(() -> parse("{\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1]}")).hasMessageContaining("name");
        assertThatThrownBy(() -> parse("{\"name\":\"a\",\"datatype\":\"INT32\",\"data\":[1]}")).hasMessageContaining("shape");
        assertThatThrownBy(() -> parse("{\"name\":\"a\",\"shape\":[1],\"data\":[1]}")).hasMessageContaining("datatype");
        assertThatThrownBy(() -> parse("{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT32\"}")).hasMessageContaining("data");
    }

    @Test
    void parse_hugeDeclaredShapeWithLittleData_allocatesForTheDataOnly() {
        // 2^28 - 1 elements declared, three sent: sized by the shape, the element list alone would be 1 GiB
        var json = Json.MAPPER.readTree("{\"name\":\"big\",\"shape\":[1,268435455],\"datatype\":\"INT64\",\"data\":[1,2,3]}");
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThatThrownBy(() -> V2TensorCodec.parse(json, 0))
                .isInstanceOf(AtriumException.class)
                .hasMessageContaining("'big' has 3 elements");
        assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(1L << 20);
    }

    @Test
    void parse_shapeWhoseProductOverflows_isRefusedBeforeTheData() {
        assertThatThrownBy(() -> parse("{\"name\":\"o\",\"shape\":[4294967296,4294967296],\"datatype\":\"INT8\",\"data\":[1]}"))
                .isInstanceOf(AtriumException.class).hasMessageContaining("'o'").hasMessageContaining("too large");
    }

    @Test
    void parse_unknownTensorField_isRefusedByName() {
        assertThatThrownBy(() -> parse("{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1],\"colour\":1}"))
                .isInstanceOf(AtriumException.class).hasMessageContaining("'a'").hasMessageContaining("'colour'");
    }

    private static Tensor parse(String json) {
        return V2TensorCodec.parse(Json.MAPPER.readTree(json), 0);
    }

    private static String write(Tensor tensor) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            V2TensorCodec.write(json, tensor);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
