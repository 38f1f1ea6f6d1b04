package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularModels.Node.branch;
import static dev.atrium.engine.onnx.tabular.TabularModels.Node.leaf;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.onnx.tabular.TabularModels.Linear;
import dev.atrium.engine.onnx.tabular.TabularModels.Softmax;
import dev.atrium.engine.onnx.tabular.TabularModels.Trees;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The tabular tests' schema, rows and models: five features (numeric, one-hot, ordinal, boolean, one-hot of integer
 * categories) that encode to nine columns, rows with missing cells, and each row's encoding written out by hand.
 */
final class TabularFixture {
    static final ObjectMapper JSON = JsonMapper.builder().build();
    static final OrtEnvironment ENVIRONMENT = OrtEnvironment.getEnvironment();

    static final List<String> COLORS = List.of("red", "green", "blue");
    static final List<String> SIZES = List.of("S", "M", "L");
    static final int WIDTH = 9;

    static final String FEATURES = """
            [{"name": "age", "type": "numeric", "missing": 40},
             {"name": "color", "type": "categorical", "categories": ["red", "green", "blue"]},
             {"name": "size", "type": "categorical", "categories": ["S", "M", "L"], "encoding": "ordinal",
              "missing": "M"},
             {"name": "member", "type": "boolean", "missing": false},
             {"name": "floor", "type": "categorical", "categories": [1, 2, 3]}]""";

    static final Linear LINEAR = new Linear(new double[] {0.5, -1.25, 2.0, 0.75, 1.5, -3.0, 0.25, -0.5, 1.0}, 4.0);

    static final Softmax SOFTMAX = new Softmax(new double[][] {
            {0.05, -0.02, 0.01}, {1.0, -0.5, 0.2}, {-0.3, 0.8, 0.1}, {0.4, 0.4, -0.9}, {-0.6, 0.1, 0.7},
            {0.9, -0.2, -0.4}, {0.3, 0.0, -0.3}, {-0.1, 0.5, 0.2}, {0.2, -0.7, 0.6}}, new double[] {0.1, -0.2, 0.3});

    /** Two trees over age (0), color=green (2), size (4), member (5) and floor=3 (8). */
    static Trees trees(double[][] leaves) {
        return new Trees(List.of(
                List.of(branch(0, 30, 1, 2), branch(2, 0.5, 3, 4), branch(4, 1.5, 5, 6),
                        leaf(leaves[0]), leaf(leaves[1]), leaf(leaves[2]), leaf(leaves[3])),
                List.of(branch(5, 0.5, 1, 2), branch(8, 0.5, 3, 4), leaf(leaves[4]), leaf(leaves[5]), leaf(leaves[6]))),
                leaves[0].length);
    }

    static final Trees TREE_REGRESSION = trees(new double[][] {{1.5}, {-2.0}, {0.75}, {3.25}, {-1.0}, {0.5}, {2.0}});
    static final Trees TREE_CLASSES = trees(new double[][] {{1.5, 0.2, -0.4}, {-0.3, 1.1, 0.0}, {0.2, 0.2, 0.9},
            {-1.0, 0.4, 1.6}, {0.3, -0.2, 0.1}, {0.8, 0.1, -0.5}, {-0.4, 0.9, 0.3}});

    private TabularFixture() {}

    /** Test rows: an absent key or a null is a missing cell. */
    static List<Map<String, Object>> rows() {
        List<Map<String, Object>> rows = new ArrayList<>();
        rows.add(row("age", 23.5, "color", "red", "size", "S", "member", true, "floor", 1));
        rows.add(row("age", 61, "color", "green", "size", "L", "member", false, "floor", 3));
        rows.add(row("color", "blue", "size", "M", "member", true, "floor", 2));
        rows.add(row("age", 35.25, "color", "green", "floor", 1));
        rows.add(row("age", 47, "color", "blue", "size", "L", "member", null, "floor", 2));
        rows.add(row("age", 12, "color", "red", "size", "M", "member", false, "floor", 3));
        rows.add(row("age", 29.75, "color", "green", "size", "S", "member", true, "floor", 3));
        return rows;
    }

    static Map<String, Object> row(Object... keysAndValues) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            row.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return row;
    }

    /** A row's model input as the schema defines it, by hand: defaults age 40, size M, member false. */
    static double[] encode(Map<String, Object> row) {
        double age = row.get("age") == null ? 40 : ((Number) row.get("age")).doubleValue();
        String color = (String) row.get("color");
        String size = row.get("size") == null ? "M" : (String) row.get("size");
        boolean member = row.get("member") != null && (Boolean) row.get("member");
        int floor = (Integer) row.get("floor");
        return new double[] {age, color.equals("red") ? 1 : 0, color.equals("green") ? 1 : 0,
                color.equals("blue") ? 1 : 0, SIZES.indexOf(size), member ? 1 : 0, floor == 1 ? 1 : 0,
                floor == 2 ? 1 : 0, floor == 3 ? 1 : 0};
    }

    static FeatureSchema schema(String taskAndOutputs) {
        return FeatureSchema.parse(json("{\"features\": " + FEATURES + ", " + taskAndOutputs + "}"));
    }

    static JsonNode json(String text) {
        return JSON.readTree(text);
    }

    static OrtSession session(byte[] model) {
        try {
            return ENVIRONMENT.createSession(model, new OrtSession.SessionOptions());
        } catch (OrtException e) {
            throw new IllegalStateException("the test model does not load", e);
        }
    }

    // ---- request bodies -----------------------------------------------------------------------------------------

    /** Every way MLflow's scoring formats carry the same rows. */
    enum Body {
        /** Columns named in an order of their own, with an index. */
        DATAFRAME_SPLIT,
        /** No {@code columns}: positional. */
        DATAFRAME_SPLIT_POSITIONAL,
        DATAFRAME_RECORDS,
        INSTANCES_RECORDS,
        INSTANCES_ROWS,
        INPUTS_COLUMNS,
        INPUTS_RECORDS,
        INPUTS_ROWS;

        static final List<String> ORDER = List.of("age", "color", "size", "member", "floor");
        static final List<String> SHUFFLED = List.of("floor", "member", "age", "size", "color");

        JsonNode of(List<Map<String, Object>> rows) {
            ObjectNode body = JSON.createObjectNode();
            switch (this) {
                case DATAFRAME_SPLIT -> {
                    ObjectNode split = body.putObject("dataframe_split");
                    SHUFFLED.forEach(split.putArray("columns")::add);
                    split.set("data", positional(rows, SHUFFLED));
                    ArrayNode index = split.putArray("index");
                    for (int i = 0; i < rows.size(); i++) {
                        index.add(100 + i);
                    }
                }
                case DATAFRAME_SPLIT_POSITIONAL -> body.putObject("dataframe_split").set("data", positional(rows, ORDER));
                case DATAFRAME_RECORDS -> body.set("dataframe_records", records(rows));
                case INSTANCES_RECORDS -> body.set("instances", records(rows));
                case INSTANCES_ROWS -> body.set("instances", positional(rows, ORDER));
                case INPUTS_COLUMNS -> {
                    ObjectNode columns = body.putObject("inputs");
                    for (String name : SHUFFLED) {
                        ArrayNode values = columns.putArray(name);
                        rows.forEach(row -> values.add(value(row.get(name))));
                    }
                }
                case INPUTS_RECORDS -> body.set("inputs", records(rows));
                case INPUTS_ROWS -> body.set("inputs", positional(rows, ORDER));
            }
            return body;
        }

        private static ArrayNode positional(List<Map<String, Object>> rows, List<String> order) {
            ArrayNode data = JSON.createArrayNode();
            for (Map<String, Object> row : rows) {
                ArrayNode values = data.addArray();
                order.forEach(name -> values.add(value(row.get(name))));
            }
            return data;
        }

        private static ArrayNode records(List<Map<String, Object>> rows) {
            ArrayNode records = JSON.createArrayNode();
            rows.forEach(row -> records.add(JSON.valueToTree(row)));
            return records;
        }
    }

    private static JsonNode value(Object value) {
        return value == null ? JSON.nullNode() : JSON.valueToTree(value);
    }
}
