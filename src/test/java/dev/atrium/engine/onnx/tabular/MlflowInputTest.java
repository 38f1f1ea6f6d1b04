package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularFixture.JSON;
import static dev.atrium.engine.onnx.tabular.TabularFixture.json;
import static dev.atrium.engine.onnx.tabular.TabularFixture.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.onnx.tabular.MlflowInput.MlflowFormat;
import dev.atrium.engine.onnx.tabular.TabularFixture.Body;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * MLflow's scoring formats read into rows: each format's shapes accepted, and every malformed body refused with a
 * 400 that names the field, and in its message the column and row.
 */
class MlflowInputTest {
    private static final FeatureSchema SCHEMA = TabularFixture.schema("\"task\": \"regression\"");
    private static final String VALID = "{\"age\": 30, \"color\": \"red\", \"size\": \"S\", \"member\": true, \"floor\": 1}";

    private static MlflowInput parse(String body) {
        return MlflowInput.parse(json(body), SCHEMA, 100);
    }

    @Test
    void parse_readsCellsInFeatureOrder_categoriesAsIndices_booleansAsOneOrZero_missingAsDefaults() {
        TabularRows rows = parse("""
                {"dataframe_split": {"columns": ["floor", "color", "age"], "data": [[3, "blue", 7.25]]}}""").rows();
        assertThat(rows.rowCount()).isEqualTo(1);
        // age, color (blue = 2), size (default M = 1), member (default false = 0), floor (3 = index 2)
        assertThat(new double[] {rows.cell(0, 0), rows.cell(0, 1), rows.cell(0, 2), rows.cell(0, 3), rows.cell(0, 4)})
                .containsExactly(7.25, 2, 1, 0, 2);
    }

    @ParameterizedTest
    @EnumSource(Body.class)
    void parse_everyShape_readsTheSameCells(Body body) {
        TabularRows expected = MlflowInput.parse(Body.DATAFRAME_RECORDS.of(rows()), SCHEMA, 100).rows();
        TabularRows rows = MlflowInput.parse(body.of(rows()), SCHEMA, 100).rows();
        assertThat(rows.rowCount()).isEqualTo(expected.rowCount()).isEqualTo(rows().size());
        for (int row = 0; row < rows.rowCount(); row++) {
            for (int feature = 0; feature < SCHEMA.features().size(); feature++) {
                assertThat(rows.cell(row, feature)).isEqualTo(expected.cell(row, feature));
            }
        }
    }

    @Test
    void parse_format_isTheKeyTheBodyUses() {
        assertThat(parse("{\"dataframe_split\": {\"data\": []}}").format()).isEqualTo(MlflowFormat.DATAFRAME_SPLIT);
        assertThat(parse("{\"dataframe_records\": []}").format()).isEqualTo(MlflowFormat.DATAFRAME_RECORDS);
        assertThat(parse("{\"instances\": []}").format()).isEqualTo(MlflowFormat.INSTANCES);
        assertThat(parse("{\"inputs\": [" + VALID + "]}").format()).isEqualTo(MlflowFormat.INPUTS);
    }

    @Test
    void parse_paramsAndOtherTopLevelFields_areLeftToTheCaller_asMlflowLeavesThem() {
        assertThat(parse("{\"model\": \"houses\", \"params\": {\"threshold\": 0.5}, \"dataframe_records\": [" + VALID
                + "]}").rows().rowCount()).isEqualTo(1);
    }

    @Test
    void parse_inputsOfSingleValues_isOneRow() {
        TabularRows rows = parse("{\"inputs\": {\"age\": 30, \"color\": \"green\", \"floor\": 2}}").rows();
        assertThat(rows.rowCount()).isEqualTo(1);
        assertThat(rows.cell(0, 1)).isEqualTo(1);
    }

    @Test
    void parse_aOneColumnModel_takesAListOfSingleValues() {
        FeatureSchema single = FeatureSchema.parse(json("{\"task\": \"regression\", \"features\": [{\"name\": \"x\","
                + " \"type\": \"numeric\", \"missing\": -1}]}"));
        for (String key : List.of("instances", "inputs")) {
            TabularRows rows = MlflowInput.parse(json("{\"" + key + "\": [1.5, null, 3]}"), single, 10).rows();
            assertThat(rows.rowCount()).isEqualTo(3);
            assertThat(new double[] {rows.cell(0, 0), rows.cell(1, 0), rows.cell(2, 0)}).containsExactly(1.5, -1, 3);
        }
    }

    static Stream<Arguments> malformedBodies() {
        String valid = VALID;
        return Stream.of(
                // body
                Arguments.of("[]", null, List.of("exactly one of")),
                Arguments.of("{}", null, List.of("exactly one of")),
                Arguments.of("{\"data\": []}", null, List.of("exactly one of")),
                Arguments.of("{\"dataframe_split\": {\"data\": []}, \"instances\": []}", "instances",
                        List.of("dataframe_split", "instances")),
                // dataframe_split
                Arguments.of("{\"dataframe_split\": [[1]]}", "dataframe_split", List.of("object")),
                Arguments.of("{\"dataframe_split\": {\"data\": [], \"dtype\": \"float\"}}", "dataframe_split.dtype",
                        List.of("dtype")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"age\"]}}", "dataframe_split.data", List.of("data")),
                Arguments.of("{\"dataframe_split\": {\"data\": [[30, \"red\"]]}}", "dataframe_split.data[0]",
                        List.of("row 0", "2 values", "5")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"age\", \"color\"], \"data\": [[30, \"red\"],"
                        + " [30, \"red\", 1]]}}", "dataframe_split.data[1]", List.of("row 1", "3 values")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"age\", \"colour\"], \"data\": []}}",
                        "dataframe_split.columns[1]", List.of("'colour'", "not a feature")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"color\", \"color\"], \"data\": []}}",
                        "dataframe_split.columns[1]", List.of("'color'", "twice")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [1, 2], \"data\": []}}", "dataframe_split.columns[0]",
                        List.of("strings")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"age\", \"size\", \"member\", \"floor\"], \"data\":"
                        + " [[30, \"S\", true, 1]]}}", "dataframe_split", List.of("column 'color'", "row 0", "missing")),
                Arguments.of("{\"dataframe_split\": {\"columns\": [\"age\", \"color\", \"floor\"], \"data\":"
                        + " [[30, \"red\", 1]], \"index\": [0, 1]}}", "dataframe_split.index", List.of("index")),
                Arguments.of("{\"dataframe_split\": {\"data\": [{\"age\": 1}]}}", "dataframe_split.data[0]",
                        List.of("row 0", "list")),
                // dataframe_records
                Arguments.of("{\"dataframe_records\": {\"age\": [30]}}", "dataframe_records", List.of("list")),
                Arguments.of("{\"dataframe_records\": [" + valid + ", [30, \"red\", \"S\", true, 1]]}",
                        "dataframe_records[1]", List.of("row 1", "record")),
                Arguments.of("{\"dataframe_records\": [" + valid + ", {\"colour\": \"red\"}]}",
                        "dataframe_records[1].colour", List.of("'colour'", "not a feature")),
                Arguments.of("{\"dataframe_records\": [" + valid + ", " + valid + ", {\"age\": 1, \"floor\": 1}]}",
                        "dataframe_records", List.of("column 'color'", "row 2", "missing")),
                // values
                Arguments.of("{\"dataframe_records\": [" + valid + ", " + valid.replace("30", "\"30\"") + "]}",
                        "dataframe_records[1].age", List.of("column 'age'", "row 1", "number", "string")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("30", "true") + "]}", "dataframe_records[0].age",
                        List.of("column 'age'", "row 0", "number")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("30", "[30]") + "]}", "dataframe_records[0].age",
                        List.of("column 'age'", "list")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("30", "1e400") + "]}", "dataframe_records[0].age",
                        List.of("column 'age'", "range")),
                Arguments.of("{\"dataframe_records\": [" + valid + ", " + valid + ", " + valid + ", "
                        + valid.replace("\"red\"", "\"purple\"") + "]}", "dataframe_records[3].color",
                        List.of("column 'color'", "row 3", "'purple'", "red, green, blue")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("\"red\"", "1") + "]}",
                        "dataframe_records[0].color", List.of("column 'color'", "string")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("\"floor\": 1", "\"floor\": \"1\"") + "]}",
                        "dataframe_records[0].floor", List.of("column 'floor'", "integer")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("\"floor\": 1", "\"floor\": 4") + "]}",
                        "dataframe_records[0].floor", List.of("column 'floor'", "'4'", "1, 2, 3")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("true", "\"yes\"") + "]}",
                        "dataframe_records[0].member", List.of("column 'member'", "true or false")),
                Arguments.of("{\"dataframe_records\": [" + valid.replace("true", "2") + "]}",
                        "dataframe_records[0].member", List.of("column 'member'", "true or false")),
                // instances
                Arguments.of("{\"instances\": {\"age\": [30]}}", "instances", List.of("list")),
                Arguments.of("{\"instances\": [30, 31]}", "instances", List.of("single values", "5 columns")),
                Arguments.of("{\"instances\": [[30, \"red\", \"S\", true, 1], " + valid + "]}", "instances[1]",
                        List.of("row 1", "list")),
                Arguments.of("{\"instances\": [" + valid + ", [30, \"red\", \"S\", true, 1]]}", "instances[1]",
                        List.of("row 1", "record")),
                // inputs
                Arguments.of("{\"inputs\": \"age=30\"}", "inputs", List.of("list")),
                Arguments.of("{\"inputs\": {}}", "inputs", List.of("no columns")),
                Arguments.of("{\"inputs\": {\"age\": [30, 31], \"color\": [\"red\"]}}", "inputs.color",
                        List.of("'color'", "'age'")),
                Arguments.of("{\"inputs\": {\"age\": [30], \"color\": \"red\"}}", "inputs", List.of("mixes")),
                Arguments.of("{\"inputs\": {\"age\": {\"0\": 30}}}", "inputs.age", List.of("'age'", "object")),
                Arguments.of("{\"inputs\": {\"colour\": [\"red\"]}}", "inputs.colour", List.of("'colour'")),
                Arguments.of("{\"inputs\": {\"age\": [30, \"31\"], \"color\": [\"red\", \"red\"]}}", "inputs.age[1]",
                        List.of("column 'age'", "row 1")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedBodies")
    void parse_malformedBody_isA400_namingTheFieldColumnAndRow(String body, String param, List<String> message) {
        assertThatThrownBy(() -> parse(body)).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.param().orElse(null)).isEqualTo(param);
            assertThat(e.getMessage()).contains(message);
        });
    }

    @ParameterizedTest
    @EnumSource(Body.class)
    void parse_moreRowsThanTheLimit_isA400_inEveryShape(Body body) {
        List<Map<String, Object>> rows = new ArrayList<>();
        while (rows.size() < 12) {
            rows.addAll(rows());
        }
        assertThat(MlflowInput.parse(body.of(rows.subList(0, 12)), SCHEMA, 12).rows().rowCount()).isEqualTo(12);
        assertThatThrownBy(() -> MlflowInput.parse(body.of(rows.subList(0, 13)),
                SCHEMA, 12)).isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains("at most 12 rows");
                });
    }

    @Test
    void parse_rowsWhoseEncodingWouldPassTheCellLimit_areRefused_whateverMaxRowsAllows() {
        ArrayNode categories = JSON.createArrayNode();
        for (int i = 0; i < 10_000; i++) {
            categories.add("c" + i);
        }
        ObjectNode config = JSON.createObjectNode().put("task", "regression");
        config.putArray("features").addObject().put("name", "c").put("type", "categorical").set("categories", categories);
        FeatureSchema wide = FeatureSchema.parse(config);
        long allowed = MlflowInput.MAX_ENCODED_CELLS / 10_000;

        ObjectNode body = JSON.createObjectNode();
        ArrayNode values = body.putObject("inputs").putArray("c");
        for (int i = 0; i <= allowed; i++) {
            values.add("c" + (i % 10_000));
        }
        assertThatThrownBy(() -> MlflowInput.parse(body, wide, 1_000_000))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains("at most " + allowed + " rows");
                });
        values.remove(0);
        assertThat(MlflowInput.parse(body, wide, 1_000_000).rows().rowCount()).isEqualTo(allowed);
    }
}
