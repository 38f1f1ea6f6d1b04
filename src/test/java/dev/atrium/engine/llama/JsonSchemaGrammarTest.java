package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/** The GBNF each JSON Schema construct becomes, and the schemas refused with a 400 instead. */
class JsonSchemaGrammarTest {

    @Test
    void fromSchema_emptyAndJsonObject_areAnyObject() {
        for (String schema : List.of("{}", "{\"type\": \"object\"}")) {
            Map<String, String> rules = rules(schema);
            assertThat(rules.get("root")).isEqualTo("object");
            assertThat(rules.get("object")).startsWith("\"{\" space (string \":\" space value");
            assertThat(rules).containsKeys("value", "array", "string", "number", "boolean", "null");
        }
    }

    @Test
    void fromSchema_primitiveTypes() {
        assertThat(rules("{\"type\": \"string\"}").get("root")).isEqualTo("string");
        assertThat(rules("{\"type\": \"integer\"}").get("integer")).isEqualTo("\"-\"? integral-part space");
        assertThat(rules("{\"type\": \"number\"}").get("number")).contains("integral-part", "[eE]");
        assertThat(rules("{\"type\": \"boolean\"}").get("boolean")).isEqualTo("(\"true\" | \"false\") space");
        assertThat(rules("{\"type\": \"null\"}").get("null")).isEqualTo("\"null\" space");
        assertThat(rules("{\"type\": [\"string\", \"null\"]}").get(rules("{\"type\": [\"string\", \"null\"]}")
                .get("root"))).isEqualTo("string | null");
    }

    @Test
    void fromSchema_object_requiredInOrderThenOptional_andNoOthers() {
        Map<String, String> rules = rules("""
                {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                 "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["age", "name"]}""");
        assertThat(rules.get("name-kv")).isEqualTo("\"\\\"name\\\"\" space \":\" space string");
        assertThat(rules.get("age-kv")).isEqualTo("\"\\\"age\\\"\" space \":\" space integer");
        assertThat(rules.get(rules.get("root")))
                .isEqualTo("\"{\" space name-kv \",\" space age-kv (\",\" space tags-kv)? \"}\" space");
    }

    @Test
    void fromSchema_objectWithOnlyOptionalProperties_allowsEachSubsetInOrder() {
        Map<String, String> rules = rules("""
                {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}""");
        assertThat(rules.get(rules.get("root"))).isEqualTo(
                "\"{\" space (a-kv (\",\" space b-kv)? | b-kv)? \"}\" space");
    }

    @Test
    void fromSchema_additionalProperties_falseSchemaOrAbsent() {
        Map<String, String> map = rules("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"number\"}}");
        assertThat(map.get("additional-kv")).isEqualTo("string \":\" space number");
        assertThat(map.get(map.get("root")))
                .isEqualTo("\"{\" space (additional-kv (\",\" space additional-kv)*)? \"}\" space");
        Map<String, String> closed = rules("""
                {"properties": {"a": {"type": "null"}}, "required": ["a"], "additionalProperties": false}""");
        assertThat(closed.get(closed.get("root"))).isEqualTo("\"{\" space a-kv \"}\" space");
        Map<String, String> open = rules("""
                {"properties": {"a": {"type": "null"}}, "required": ["a"], "additionalProperties": true}""");
        assertThat(open.get(open.get("root"))).isEqualTo(
                "\"{\" space a-kv (\",\" space additional-kv)* \"}\" space");
        // an extra member's key is never a declared one: "a" may only go on, and other keys may stop anywhere
        assertThat(open.get("additional-kv")).isEqualTo("other-key \":\" space value");
        String escape = "\"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})";
        assertThat(open.get("other-key")).isEqualTo("\"\\\"\" (\"a\" (([\\x20-\\x21\\x23-\\x5B\\x5D-\\uD7FF\\uE000-\\U0010FFFF]"
                + " | " + escape + ") char*) | ([\\x20-\\x21\\x23-\\x5B\\x5D-\\x60b-\\uD7FF\\uE000-\\U0010FFFF] | " + escape
                + ") char* | \"\") \"\\\"\" space");
    }

    @Test
    void fromSchema_enumAndConst_areLiteralsOfTheirJson() {
        Map<String, String> rules = rules("{\"enum\": [\"red\", 2, null, {\"x\": [true]}, \"say \\\"hi\\\"\"]}");
        assertThat(rules.get(rules.get("root"))).isEqualTo(
                "(\"\\\"red\\\"\" | \"2\" | \"null\" | \"{\\\"x\\\":[true]}\" | \"\\\"say \\\\\\\"hi\\\\\\\"\\\"\") space");
        Map<String, String> constant = rules("{\"const\": \"é\"}");
        assertThat(constant.get(constant.get("root"))).isEqualTo("(\"\\\"\\xE9\\\"\") space");
    }

    @Test
    void fromSchema_arrays_itemsCountsAndTuples() {
        Map<String, String> bounded = rules("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 2,"
                + " \"maxItems\": 4}");
        assertThat(bounded.get(bounded.get("root"))).isEqualTo(
                "\"[\" space integer (\",\" space integer){1,3} \"]\" space");
        Map<String, String> any = rules("{\"type\": \"array\"}");
        assertThat(any.get(any.get("root"))).isEqualTo("\"[\" space (value (\",\" space value)*)? \"]\" space");
        Map<String, String> tuple = rules("{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"boolean\"}],"
                + " \"items\": false}");
        assertThat(tuple.get(tuple.get("root"))).isEqualTo("\"[\" space string \",\" space boolean \"]\" space");
        Map<String, String> empty = rules("{\"type\": \"array\", \"maxItems\": 0}");
        assertThat(empty.get(empty.get("root"))).isEqualTo("\"[\" space \"]\" space");
    }

    @Test
    void fromSchema_stringLengthsAndFormats() {
        Map<String, String> lengths = rules("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 5}");
        assertThat(lengths.get(lengths.get("root"))).isEqualTo("\"\\\"\" char{2,5} \"\\\"\" space");
        assertThat(rules("{\"type\": \"string\", \"format\": \"date\"}").get("root")).isEqualTo("date-string");
        assertThat(rules("{\"type\": \"string\", \"format\": \"date-time\"}")).containsKeys("date", "time");
        assertThat(rules("{\"type\": \"string\", \"format\": \"uuid\"}").get("uuid")).contains("[0-9a-f]{12}");
        // other formats are annotations
        assertThat(rules("{\"type\": \"string\", \"format\": \"email\"}").get("root")).isEqualTo("string");
    }

    @Test
    void fromSchema_pattern_literalsClassesGroupsAndQuantifiers() {
        assertThat(patternRule("^abc$")).isEqualTo("\"\\\"\" (\"abc\") \"\\\"\" space");
        assertThat(patternRule("abc")).isEqualTo("\"\\\"\" char* (\"abc\") char* \"\\\"\" space");
        assertThat(patternRule("^[a-z0-9_]{2,8}(-x|y)?$"))
                .isEqualTo("\"\\\"\" ([0-9\\x5Fa-z]{2,8} (\"-x\" | \"y\")?) \"\\\"\" space");
        assertThat(patternRule("^\\d+\\.\\d*$")).isEqualTo("\"\\\"\" ([0-9]+ \".\" [0-9]*) \"\\\"\" space");
        // characters JSON must escape are written escaped
        assertThat(patternRule("^a\"b\\\\c\\n$")).isEqualTo("\"\\\"\" (\"a\\\\\\\"b\\\\\\\\c\\\\n\") \"\\\"\" space");
        assertThat(patternRule("^[^\"]$")).isEqualTo("\"\\\"\" (([\\x20-\\x21\\x23-\\x5B\\x5D-\\uD7FF\\uE000-\\U0010FFFF]"
                + " | \"\\\\u00\" [01] [0-9a-fA-F] | \"\\\\\\\\\")) \"\\\"\" space");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "\"minimum\": 0", "\"minimum\": 7", "\"minimum\": -13", "\"maximum\": 0", "\"maximum\": 250",
        "\"maximum\": -40", "\"minimum\": 3, \"maximum\": 3", "\"minimum\": 5, \"maximum\": 1234",
        "\"minimum\": -1000, \"maximum\": -7", "\"minimum\": -99, \"maximum\": 99",
        "\"exclusiveMinimum\": 9, \"exclusiveMaximum\": 101", "\"minimum\": 1.5, \"maximum\": 20.5",
        "\"minimum\": 190, \"maximum\": 1001", "\"exclusiveMinimum\": -1"})
    void fromSchema_integerBounds_allowExactlyTheIntegersWithin(String bounds) {
        JsonNode schema = tools.jackson.databind.json.JsonMapper.builder().build()
                .readTree("{\"type\": \"integer\", " + bounds + "}");
        Map<String, String> rules = rules(schema.toString());
        // the range's GBNF uses only digit literals, "-", digit classes, groups, | and {n}: as a Java regex
        String body = rules.get(rules.get("root"));
        Pattern regex = Pattern.compile(body.substring(0, body.length() - " space".length()).replace("\"", "")
                .replace(" ", ""));
        double min = schema.has("minimum") ? schema.get("minimum").doubleValue()
                : schema.has("exclusiveMinimum") ? Math.nextUp(schema.get("exclusiveMinimum").doubleValue())
                : Double.NEGATIVE_INFINITY;
        double max = schema.has("maximum") ? schema.get("maximum").doubleValue()
                : schema.has("exclusiveMaximum") ? Math.nextDown(schema.get("exclusiveMaximum").doubleValue())
                : Double.POSITIVE_INFINITY;
        for (long n = -3_000; n <= 3_000; n++) {
            assertThat(regex.matcher(Long.toString(n)).matches()).as(n + " for " + bounds + ": " + body)
                    .isEqualTo(n >= min && n <= max);
        }
        assertThat(regex.matcher("-0").matches()).isFalse();
        assertThat(regex.matcher("007").matches()).isFalse();
        assertThat(regex.matcher("123456789012345").matches()).isEqualTo(max > 3_000);
    }

    @Test
    void fromSchema_anyOfOneOfAndAllOf() {
        Map<String, String> anyOf = rules("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}");
        assertThat(anyOf.get(anyOf.get("root"))).isEqualTo("string | integer");
        Map<String, String> oneOf = rules("{\"oneOf\": [{\"const\": 1}, {\"type\": \"null\"}]}");
        assertThat(oneOf.get(oneOf.get("root"))).endsWith(" | null");
        Map<String, String> allOf = rules("""
                {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                           {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]}""");
        assertThat(allOf.get(allOf.get("root"))).isEqualTo("\"{\" space a-kv \",\" space b-kv \"}\" space");
        // keywords beside anyOf hold in every alternative
        Map<String, String> beside = rules("""
                {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
                 "anyOf": [{"properties": {"x": {"type": "integer"}}}, {"properties": {"y": {"type": "null"}}}]}""");
        assertThat(beside.values()).anyMatch(body -> body.contains("kind-kv (\",\" space x-kv)?"))
                .anyMatch(body -> body.contains("kind-kv (\",\" space y-kv)?"));
    }

    @Test
    void fromSchema_localRefs_includingRecursiveOnes() {
        Map<String, String> rules = rules("""
                {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                  "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["value"]}},
                 "$ref": "#/$defs/node"}""");
        assertThat(rules.get("root")).isEqualTo("node");
        assertThat(rules.get("node-children")).isEqualTo("\"[\" space (node (\",\" space node)*)? \"]\" space");
        Map<String, String> definitions = rules("""
                {"definitions": {"id": {"type": "string", "maxLength": 3}},
                 "properties": {"id": {"$ref": "#/definitions/id"}, "self": {"$ref": "#"}}}""");
        assertThat(definitions.get("id-kv")).endsWith(" id");
        assertThat(definitions.get("id")).isEqualTo("id-1");
        assertThat(definitions.get("id-1")).isEqualTo("\"\\\"\" char{0,3} \"\\\"\" space");
        // "#" is the root itself: its rule is the root's
        assertThat(definitions.get("schema")).isEqualTo(definitions.get("root"));
        assertThat(definitions.values()).anyMatch(body -> body.startsWith("\"\\\"self\\\"\"")
                && body.endsWith(" schema"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"$ref\": \"#/$defs/missing\"}",
        "{\"$ref\": \"https://example.com/schema.json\"}",
        "{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"anyOf\": [{\"$ref\": \"#/$defs/a\"}]}}, \"$ref\": \"#/$defs/a\"}",
        "{\"type\": \"number\", \"minimum\": 3}",
        "{\"not\": {\"type\": \"string\"}}",
        "{\"type\": \"string\", \"pattern\": \"(?=a)b\"}",
        "{\"type\": \"string\", \"pattern\": \"(a)\\\\1\"}",
        "{\"type\": \"string\", \"pattern\": \"a\\\\bb\"}",
        "{\"type\": \"string\", \"pattern\": \"^(a*)*$\"}",
        "{\"type\": \"string\", \"pattern\": \"a^b\"}",
        "{\"type\": \"string\", \"pattern\": \"[z-a]\"}",
        "{\"type\": \"string\", \"pattern\": \"(ab\"}",
        "{\"type\": \"string\", \"pattern\": \"a{1001}\"}",
        "{\"type\": \"string\", \"pattern\": \"\\\\p{L}\"}",
        "{\"type\": \"string\", \"maxLength\": 1000000}",
        "{\"type\": \"array\", \"minItems\": 5, \"maxItems\": 2}",
        "{\"type\": \"unicorn\"}",
        "{\"enum\": []}",
        "{\"allOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}",
        "{\"properties\": {\"a\": false}, \"required\": [\"a\"]}",
        "{\"properties\": {\"a\": 7}}",
        "{\"const\": \"\\ud800\"}",
        "{\"type\": \"string\", \"pattern\": \"^\\ud800$\"}",
        "{\"type\": \"string\", \"pattern\": \"^[\\ud800-\\udfff]$\"}",
        "not json",
        "[]",
    })
    void fromSchema_whatItCannotHonour_is400NamingResponseFormat(String schema) {
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema(schema))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains("response_format");
                });
    }

    @Test
    void fromSchema_tooDeepOrTooLarge_isRefused() {
        String deep = "{\"type\": \"array\", \"items\": ".repeat(40) + "{}" + "}".repeat(40);
        assertRefused(deep);
        StringBuilder wide = new StringBuilder("{\"properties\": {");
        for (int i = 0; i < 3_000; i++) {
            wide.append(i == 0 ? "" : ",").append("\"p").append(i).append("\": {\"type\": \"integer\"}");
        }
        assertRefused(wide.append("}}").toString());
        String repeats = "{\"type\": \"array\", \"maxItems\": 1000, \"items\": {\"type\": \"string\", \"maxLength\": 1000}}"
                .repeat(1);
        assertRefused("{\"prefixItems\": [" + String.join(",", java.util.Collections.nCopies(11, repeats)) + "]}");
        // a schema whose text is small but whose grammar would be huge: one enum value repeated by many $refs
        String big = "\"" + "x".repeat(5_000) + "\"";
        StringBuilder refs = new StringBuilder("{\"$defs\": {");
        for (int i = 0; i < 30; i++) {
            refs.append(i == 0 ? "" : ",").append("\"d").append(i).append("\": {\"enum\": [").append(big)
                    .append(", ").append(i).append("]}");
        }
        refs.append("}, \"prefixItems\": [");
        for (int i = 0; i < 30; i++) {
            refs.append(i == 0 ? "" : ",").append("{\"$ref\": \"#/$defs/d").append(i).append("\"}");
        }
        assertRefused(refs.append("]}").toString());
    }

    private static void assertRefused(String schema) {
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema(schema)).isInstanceOfSatisfying(AtriumException.class,
                e -> assertThat(e.param()).contains("response_format"));
    }

    @Test
    void fromSchema_everyRuleItUsesIsDefined_andRootComesFirst() {
        String grammar = JsonSchemaGrammar.fromSchema("""
                {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"},
                 "code": {"type": "string", "pattern": "^[A-Z]{3}$"}, "n": {"type": ["integer", "null"]}}}""");
        Map<String, String> rules = parse(grammar);
        assertThat(grammar).startsWith("root ::= ");
        rules.values().forEach(body -> assertThat(rules.keySet()).containsAll(JsonSchemaGrammar.referencedRules(body)));
    }

    private static String patternRule(String pattern) {
        Map<String, String> rules = rules("{\"type\": \"string\", \"pattern\": \"" + pattern.replace("\\", "\\\\")
                .replace("\"", "\\\"") + "\"}");
        return rules.get(rules.get("root"));
    }

    private static Map<String, String> rules(String schema) {
        return parse(JsonSchemaGrammar.fromSchema(schema));
    }

    static Map<String, String> parse(String grammar) {
        return Arrays.stream(grammar.split("\n")).map(line -> line.split(" ::= ", 2))
                .collect(Collectors.toMap(parts -> parts[0], parts -> parts[1], (a, b) -> {
                    throw new AssertionError("a rule defined twice");
                }, LinkedHashMap::new));
    }
}
