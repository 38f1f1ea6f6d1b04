package dev.atrium.v2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.DataType;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.Tensor;
import dev.atrium.server.Json;
import dev.atrium.testing.FuzzInput;
import dev.atrium.testing.FuzzTries;
import java.io.ByteArrayOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Fuzzing the v2 infer body and its tensor codec: whatever the body, {@link V2Service#parseInfer} gives tensors
 * or a 4xx, never another exception, and within a time bound; tensors it accepts survive a write and a re-read.
 */
@AddLifecycleHook(FuzzTries.class)
class V2ParserProperties {
    private static final long MAX_MILLIS = 2_000;

    @Property(tries = 3000)
    void parseInfer_anyBody_givesTensorsOrA4xx(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        JsonNode body = inferBody(fuzz);
        FuzzInput.Outcome outcome = FuzzInput.parse(body, MAX_MILLIS, () -> V2Service.parseInfer(body));
        Statistics.collect(outcome);
        Statistics.coverage(coverage -> {
            coverage.check(FuzzInput.Outcome.PARSED).percentage(p -> p > 3);
            coverage.check(FuzzInput.Outcome.REFUSED).percentage(p -> p > 10);
        });
    }

    @Property(tries = 1000)
    void parseInfer_acceptedTensors_readBackEqualAfterAWrite(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        JsonNode body = inferBody(fuzz);
        InferenceRequest parsed;
        try {
            parsed = V2Service.parseInfer(body);
        } catch (dev.atrium.AtriumException e) {
            return;
        }
        ObjectNode again = FuzzInput.object();
        ArrayNode inputs = again.putArray("inputs");
        for (Tensor tensor : parsed.inputs()) {
            inputs.add(written(tensor));
        }
        InferenceRequest reread = V2Service.parseInfer(again);
        for (int i = 0; i < parsed.inputs().size(); i++) {
            Tensor expected = parsed.inputs().get(i);
            Tensor actual = reread.inputs().get(i);
            if (expected.datatype() == DataType.FP16 || expected.datatype() == DataType.FP32) {
                // written as decimal text of a float: compared as floats
                assertThat(actual.shape()).isEqualTo(expected.shape());
                assertThat(actual.datatype()).isEqualTo(expected.datatype());
            } else {
                assertThat(actual).as(body.toString()).isEqualTo(expected);
            }
        }
    }

    @Property(tries = 2000)
    void parseInfer_mutatedText_givesTensorsOrA4xx(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        byte[] text = fuzz.mutate(Json.MAPPER.writeValueAsBytes(inferBody(fuzz)));
        JsonNode body;
        try {
            body = Json.MAPPER.readTree(text);
        } catch (tools.jackson.core.JacksonException e) {
            return; // the server's JSON reader answers these (JsonReaderProperties)
        }
        if (body == null || !body.isObject()) {
            return;
        }
        FuzzInput.parse(body, MAX_MILLIS, () -> V2Service.parseInfer(body));
    }

    @Example
    void parseInfer_numbersNoFloatHolds_areA400NamingTheTensor() {
        for (String tensor : java.util.List.of("\"FP64\", \"data\": [" + "9".repeat(999) + "]",
                "\"FP64\", \"data\": [1e400]", "\"FP32\", \"data\": [1e39]", "\"FP16\", \"data\": [70000]")) {
            JsonNode body = Json.MAPPER.readTree("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": "
                    + tensor + "}]}");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> V2Service.parseInfer(body)).as(tensor)
                    .isInstanceOfSatisfying(dev.atrium.AtriumException.class,
                            e -> assertThat(e.getMessage()).contains("'x'", "outside the range"));
        }
    }

    private static JsonNode written(Tensor tensor) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            V2TensorCodec.write(json, tensor);
        }
        return Json.MAPPER.readTree(out.toByteArray());
    }

    /** An infer body: mostly tensors whose shape and data agree, some mutated. */
    static ObjectNode inferBody(FuzzInput fuzz) {
        Map<String, Function<FuzzInput, JsonNode>> fields = new LinkedHashMap<>();
        fields.put("id", f -> FuzzInput.text(f.string()));
        fields.put("inputs", f -> f.array(3, V2ParserProperties::tensor));
        fields.put("outputs", f -> f.array(2, g -> {
            ObjectNode output = FuzzInput.object();
            output.put("name", g.oneOf("y", "x", "out"));
            return output;
        }));
        fields.put("parameters", f -> FuzzInput.object());
        return fuzz.body(fields);
    }

    /** A tensor whose data fits its shape and type, flat or nested, with some fields mutated. */
    static JsonNode tensor(FuzzInput fuzz) {
        DataType type = fuzz.oneOf(DataType.values());
        int rank = fuzz.below(4);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = fuzz.below(fuzz.chance(10) ? 200 : 4);
        }
        long total = 1;
        for (long dimension : shape) {
            total *= dimension;
        }
        // nested data is written out whole, flat data is cut at 20000 elements (a mismatch the parser must refuse)
        boolean nested = total <= 20_000 && fuzz.chance(40);
        Map<String, Function<FuzzInput, JsonNode>> fields = new LinkedHashMap<>();
        fields.put("name", f -> FuzzInput.text(f.oneOf("x", "input_ids", "é", "")));
        fields.put("datatype", f -> FuzzInput.text(f.chance(95) ? type.name() : f.string()));
        fields.put("shape", f -> {
            ArrayNode array = FuzzInput.array();
            for (long dimension : shape) {
                array.add(dimension);
            }
            return array;
        });
        fields.put("data", f -> data(f, type, shape, 0, nested));
        if (fuzz.chance(10)) {
            fields.put("parameters", f -> FuzzInput.object());
        }
        return fuzz.body(fields);
    }

    private static JsonNode data(FuzzInput fuzz, DataType type, long[] shape, int depth, boolean nested) {
        if (shape.length == 0) {
            return element(fuzz, type);
        }
        ArrayNode array = FuzzInput.array();
        if (nested && depth < shape.length - 1) {
            for (long i = 0; i < shape[depth]; i++) {
                array.add(data(fuzz, type, shape, depth + 1, true));
            }
            return array;
        }
        long count = 1;
        for (int i = nested ? depth : 0; i < shape.length; i++) {
            count *= shape[i];
        }
        for (long i = 0; i < Math.min(count, 20_000); i++) {
            array.add(element(fuzz, type));
        }
        return array;
    }

    private static JsonNode element(FuzzInput fuzz, DataType type) {
        if (fuzz.chance(1)) {
            return fuzz.value(1);
        }
        return switch (type) {
            case BOOL -> Json.MAPPER.getNodeFactory().booleanNode(fuzz.random().nextBoolean());
            case BYTES -> FuzzInput.text(fuzz.chance(99) ? fuzz.oneOf("", "a", "é", "\uD83D\uDE00", "\u0000")
                    : fuzz.string());
            case UINT8, UINT16, UINT32, UINT64 -> FuzzInput.integer(fuzz.below(200));
            case INT8, INT16, INT32, INT64 -> FuzzInput.integer(fuzz.below(200) - 100);
            case FP16, FP32, FP64 -> fuzz.chance(20) ? fuzz.number()
                    : Json.MAPPER.getNodeFactory().numberNode(fuzz.random().nextGaussian());
        };
    }
}
