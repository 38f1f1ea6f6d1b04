package dev.atrium.engine.llama;

import dev.atrium.AtriumException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Turns a client's JSON Schema into a GBNF grammar for llama.cpp's constrained sampling, in Java, so that no
 * schema a client sends can reach native code that might abort the process.
 *
 * <p>Design: one pass over the schema writes one rule per object, array, alternative and {@code $ref} (a
 * {@code $ref} is a rule of its own, so recursive schemas give recursive rules). The grammar allows only JSON
 * that validates against the schema, possibly less than all of it: objects hold their properties in the
 * schema's order (required ones, then the optional ones), extra members never repeat a declared key (though two
 * extra members may share one), tuples hold exactly their prefix items, and {@code oneOf} is written as
 * {@code anyOf}. Work and output are bounded: nesting depth, subschema count,
 * repetitions (which llama.cpp's parser expands into copies) and the grammar's size. Anything it does not
 * support, cannot resolve or that exceeds a bound is a 400 naming {@code response_format}, never a crash.
 *
 * <p>Covered: {@code type} (one or several), {@code properties}, {@code required}, {@code additionalProperties},
 * {@code minimum}, {@code maximum}, {@code exclusiveMinimum} and {@code exclusiveMaximum} on integers,
 * {@code enum}, {@code const}, {@code items}, {@code prefixItems}, {@code minItems}, {@code maxItems},
 * {@code anyOf}, {@code oneOf}, {@code allOf} (merged), local {@code $ref} ({@code #}, {@code #/$defs/...},
 * {@code #/definitions/...}), {@code minLength}, {@code maxLength}, {@code pattern} (see {@link PatternGrammar})
 * and the formats {@code date}, {@code time}, {@code date-time} and {@code uuid} (other formats are annotations
 * and read as plain strings). The root schema {@code {}} means any JSON object.
 */
final class JsonSchemaGrammar {
    /** The most copies one repetition ({@code maxLength}, {@code maxItems}, {@code {m,n}}) may ask for. */
    static final int MAX_REPEAT = 1_000;
    private static final int MAX_REPEAT_TOTAL = 10_000;
    private static final int MAX_DEPTH = 32;
    private static final int MAX_SUBSCHEMAS = 2_000;
    private static final int MAX_REF_HOPS = 16;
    /** Declared keys longer than this make extra members' keys any string (the trie recurses per character). */
    private static final int MAX_TRIE_KEY = 200;
    static final int MAX_GRAMMAR_CHARS = 100_000;
    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private static final JsonNode TRUE = MAPPER.getNodeFactory().booleanNode(true);
    private static final String QUOTE = "\"\\\"\"";
    private static final Map<String, String> PRIMITIVES = primitives();
    /** Keywords that constrain values in ways this converter cannot express (when they do constrain). */
    private static final Set<String> UNSUPPORTED = Set.of("minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "multipleOf", "uniqueItems", "contains", "minContains", "maxContains", "minProperties",
            "maxProperties", "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas",
            "dependencies", "not", "if", "then", "else", "additionalItems", "$dynamicRef", "$recursiveRef");
    /** Bounds this converter supports on integers only. */
    private static final List<String> BOUNDS = List.of("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum");
    /** Integers are written with at most this many digits (they fit a long). */
    private static final long LARGEST_INTEGER = 999_999_999_999_999_999L;
    /** Keywords that say nothing about which values are valid; {@code allOf} keeps the first one's. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples",
            "$schema", "$id", "$comment", "$anchor", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
            "contentMediaType", "contentEncoding");

    private final JsonNode root;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> ruleByBody = new HashMap<>();
    private final Map<String, String> ruleByRef = new HashMap<>();
    private int subschemas;
    private int repeats;
    private int size;

    private JsonSchemaGrammar(JsonNode root) {
        this.root = root;
        rules.put("root", null);
    }

    /**
     * @param jsonSchema a JSON Schema as JSON text
     * @return a GBNF grammar whose {@code root} rule allows only JSON that validates against the schema
     * @throws AtriumException 400 {@code invalid_request_error} naming {@code response_format}, saying why
     */
    static String fromSchema(String jsonSchema) {
        JsonNode schema;
        try {
            schema = MAPPER.readTree(jsonSchema);
        } catch (JacksonException e) {
            throw refusal("the JSON schema is not valid JSON");
        }
        try {
            JsonSchemaGrammar grammar = new JsonSchemaGrammar(schema);
            grammar.define("root", grammar.visit(schema, "", 0, Set.of()));
            return grammar.text();
        } catch (IllegalArgumentException e) {
            throw refusal(e.getMessage());
        }
    }

    private static AtriumException refusal(String reason) {
        return AtriumException.invalidParam("response_format", "response_format's JSON schema cannot be used: "
                + reason);
    }

    // ---- the visit ----------------------------------------------------------------------------------------------

    /**
     * @param leftRefs the {@code $ref}s entered since the last character this grammar writes: meeting one again
     *     would be a rule that starts with itself, which llama.cpp's grammar parser refuses
     * @return a GBNF expression
     */
    private String visit(JsonNode schema, String name, int depth, Set<String> leftRefs) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("it nests more than " + MAX_DEPTH + " deep");
        }
        if (++subschemas > MAX_SUBSCHEMAS) {
            throw new IllegalArgumentException("it has more than " + MAX_SUBSCHEMAS + " subschemas");
        }
        if (schema.isBoolean()) {
            if (schema.booleanValue()) {
                return use("value");
            }
            throw new IllegalArgumentException("the schema 'false' (at " + where(name) + ") allows nothing");
        }
        if (!schema.isObject()) {
            throw new IllegalArgumentException("a schema (at " + where(name) + ") must be an object or a boolean");
        }
        boolean integer = schema.path("type").asString("").equals("integer");
        for (Map.Entry<String, JsonNode> keyword : schema.properties()) {
            if (UNSUPPORTED.contains(keyword.getKey()) && constrains(keyword.getKey(), keyword.getValue())
                    && !(integer && BOUNDS.contains(keyword.getKey()))) {
                throw new IllegalArgumentException("the keyword '" + keyword.getKey() + "' (at " + where(name)
                        + ") is not supported");
            }
        }
        if (schema.has("$ref")) {
            return ref(schema, name, depth, leftRefs);
        }
        if (schema.has("allOf")) {
            return visit(mergeAllOf(schema), name, depth + 1, leftRefs);
        }
        if (schema.has("anyOf") || schema.has("oneOf")) {
            return alternatives(schema, schema.has("anyOf") ? "anyOf" : "oneOf", name, depth, leftRefs);
        }
        if (schema.has("const")) {
            return literals(List.of(schema.get("const")), name);
        }
        if (schema.has("enum")) {
            JsonNode values = schema.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw new IllegalArgumentException("'enum' (at " + where(name) + ") must be a non-empty array");
            }
            return literals(values.valueStream().toList(), name);
        }
        JsonNode type = schema.get("type");
        if (type != null && type.isArray()) {
            return types(schema, type, name, depth, leftRefs);
        }
        if (type != null && !type.isString()) {
            throw new IllegalArgumentException("'type' (at " + where(name) + ") must be a string or an array");
        }
        String typeName = type == null ? inferredType(schema, depth) : type.stringValue();
        return switch (typeName) {
            case "object" -> object(schema, name, depth);
            case "array" -> array(schema, name, depth);
            case "string" -> string(schema, name);
            case "integer" -> BOUNDS.stream().anyMatch(schema::has) ? integerRange(schema, name) : use(typeName);
            case "number", "boolean", "null" -> use(typeName);
            case "any" -> use("value");
            default -> throw new IllegalArgumentException("the type '" + Gbnf.shorten(typeName) + "' (at "
                    + where(name) + ") is not a JSON Schema type");
        };
    }

    private static boolean constrains(String keyword, JsonNode value) {
        return switch (keyword) {
            case "uniqueItems" -> !value.isBoolean() || value.booleanValue();
            case "additionalItems" -> !value.isBoolean() || value.booleanValue();
            case "minProperties", "minContains" -> !value.isNumber() || value.doubleValue() > 0;
            default -> true;
        };
    }

    private static String inferredType(JsonNode schema, int depth) {
        if (schema.has("properties") || schema.has("additionalProperties") || schema.has("required")) {
            return "object";
        }
        if (schema.has("items") || schema.has("prefixItems") || schema.has("minItems") || schema.has("maxItems")) {
            return "array";
        }
        if (schema.has("pattern") || schema.has("format") || schema.has("minLength") || schema.has("maxLength")) {
            return "string";
        }
        return depth == 0 ? "object" : "any"; // the root {} is "any JSON object" (response_format json_object)
    }

    private String types(JsonNode schema, JsonNode types, String name, int depth, Set<String> leftRefs) {
        if (types.isEmpty()) {
            throw new IllegalArgumentException("'type' (at " + where(name) + ") is an empty array");
        }
        Set<String> seen = new LinkedHashSet<>();
        List<String> alternatives = new ArrayList<>();
        for (JsonNode type : types) {
            if (!type.isString() || !seen.add(type.stringValue())) {
                throw new IllegalArgumentException("'type' (at " + where(name) + ") must list distinct type names");
            }
            ObjectNode single = ((ObjectNode) schema).deepCopy();
            single.put("type", type.stringValue());
            alternatives.add(visit(single, name, depth + 1, leftRefs));
        }
        return rule(name, String.join(" | ", alternatives));
    }

    private String alternatives(JsonNode schema, String keyword, String name, int depth, Set<String> leftRefs) {
        JsonNode options = schema.get(keyword);
        if (!options.isArray() || options.isEmpty()) {
            throw new IllegalArgumentException("'" + keyword + "' (at " + where(name) + ") must be a non-empty array");
        }
        ObjectNode siblings = constraintsBeside(schema, keyword);
        List<String> alternatives = new ArrayList<>();
        for (JsonNode option : options) {
            // the keywords beside anyOf apply to every alternative
            JsonNode alternative = siblings.isEmpty() ? option : merge(resolved(option), siblings, name);
            alternatives.add(visit(alternative, name, depth + 1, leftRefs));
        }
        return rule(name, String.join(" | ", alternatives));
    }

    private String ref(JsonNode schema, String name, int depth, Set<String> leftRefs) {
        JsonNode refNode = schema.get("$ref");
        if (!refNode.isString()) {
            throw new IllegalArgumentException("'$ref' (at " + where(name) + ") must be a string");
        }
        String ref = refNode.stringValue();
        ObjectNode siblings = constraintsBeside(schema, "$ref");
        if (!siblings.isEmpty()) {
            return visit(merge(resolve(ref), siblings, name), name, depth + 1, leftRefs);
        }
        if (leftRefs.contains(ref)) {
            throw new IllegalArgumentException("the $ref '" + Gbnf.shorten(ref) + "' refers back to itself before"
                    + " any value begins");
        }
        String existing = ruleByRef.get(ref);
        if (existing != null) {
            return existing;
        }
        JsonNode target = resolve(ref);
        String rule = reserve(ref.substring(ref.lastIndexOf('/') + 1));
        ruleByRef.put(ref, rule);
        Set<String> left = new HashSet<>(leftRefs);
        left.add(ref);
        define(rule, visit(target, rule, depth + 1, left));
        return rule;
    }

    private JsonNode resolve(String ref) {
        if (!ref.startsWith("#") || (ref.length() > 1 && ref.charAt(1) != '/')) {
            throw new IllegalArgumentException("the $ref '" + Gbnf.shorten(ref) + "' is not a local reference"
                    + " (#/$defs/...); only those are supported");
        }
        JsonNode target;
        try {
            target = root.at(ref.substring(1));
        } catch (IllegalArgumentException e) {
            target = null;
        }
        if (target == null || target.isMissingNode()) {
            throw new IllegalArgumentException("the $ref '" + Gbnf.shorten(ref) + "' does not resolve");
        }
        return target;
    }

    /** The schema a {@code $ref}-only schema points at (following chains), else the schema itself. */
    private JsonNode resolved(JsonNode schema) {
        for (int hop = 0; schema.isObject() && schema.has("$ref") && schema.get("$ref").isString(); hop++) {
            if (hop == MAX_REF_HOPS) {
                throw new IllegalArgumentException("a chain of $ref is longer than " + MAX_REF_HOPS);
            }
            ObjectNode rest = constraintsBeside(schema, "$ref");
            JsonNode target = resolve(schema.get("$ref").stringValue());
            schema = rest.isEmpty() ? target : merge(target, rest, "");
        }
        return schema;
    }

    private static ObjectNode constraintsBeside(JsonNode schema, String keyword) {
        ObjectNode rest = MAPPER.createObjectNode();
        for (Map.Entry<String, JsonNode> entry : schema.properties()) {
            if (!entry.getKey().equals(keyword) && !ANNOTATIONS.contains(entry.getKey())) {
                rest.set(entry.getKey(), entry.getValue());
            }
        }
        return rest;
    }

    // ---- allOf --------------------------------------------------------------------------------------------------

    private JsonNode mergeAllOf(JsonNode schema) {
        JsonNode parts = schema.get("allOf");
        if (!parts.isArray() || parts.isEmpty()) {
            throw new IllegalArgumentException("'allOf' must be a non-empty array");
        }
        JsonNode merged = constraintsBeside(schema, "allOf");
        for (JsonNode part : parts) {
            merged = merge(merged, resolved(part), "");
        }
        return merged;
    }

    /** One schema that both schemas' constraints hold in, where this converter knows how to combine them. */
    private JsonNode merge(JsonNode first, JsonNode second, String name) {
        if (first.isBoolean() || second.isBoolean()) {
            if ((first.isBoolean() && !first.booleanValue()) || (second.isBoolean() && !second.booleanValue())) {
                throw new IllegalArgumentException("an allOf (at " + where(name) + ") includes 'false'");
            }
            return first.isBoolean() ? second : first;
        }
        if (!first.isObject() || !second.isObject()) {
            throw new IllegalArgumentException("a schema (at " + where(name) + ") must be an object or a boolean");
        }
        ObjectNode merged = ((ObjectNode) first).deepCopy();
        for (Map.Entry<String, JsonNode> entry : second.properties()) {
            String keyword = entry.getKey();
            JsonNode theirs = entry.getValue();
            JsonNode ours = merged.get(keyword);
            if (ours == null || ours.equals(theirs) || ANNOTATIONS.contains(keyword)) {
                if (ours == null) {
                    merged.set(keyword, theirs);
                }
                continue;
            }
            merged.set(keyword, switch (keyword) {
                case "properties" -> mergeProperties(ours, theirs, name);
                case "required", "allOf" -> concatenate(ours, theirs, keyword);
                case "additionalProperties" -> allOf(ours, theirs);
                case "type" -> mergeTypes(ours, theirs, name);
                case "minLength", "minItems" -> ours.asInt() >= theirs.asInt() ? ours : theirs;
                case "maxLength", "maxItems" -> ours.asInt() <= theirs.asInt() ? ours : theirs;
                default -> throw new IllegalArgumentException("an allOf (at " + where(name) + ") combines two"
                        + " different '" + Gbnf.shorten(keyword) + "', which is not supported");
            });
        }
        return merged;
    }

    private static JsonNode mergeProperties(JsonNode ours, JsonNode theirs, String name) {
        if (!ours.isObject() || !theirs.isObject()) {
            throw new IllegalArgumentException("'properties' (at " + where(name) + ") must be an object");
        }
        ObjectNode merged = ((ObjectNode) ours).deepCopy();
        for (Map.Entry<String, JsonNode> property : theirs.properties()) {
            JsonNode existing = merged.get(property.getKey());
            merged.set(property.getKey(), existing == null ? property.getValue() : allOf(existing, property.getValue()));
        }
        return merged;
    }

    private static JsonNode allOf(JsonNode first, JsonNode second) {
        ObjectNode both = MAPPER.createObjectNode();
        both.putArray("allOf").add(first).add(second);
        return both;
    }

    private static JsonNode concatenate(JsonNode ours, JsonNode theirs, String keyword) {
        if (!ours.isArray() || !theirs.isArray()) {
            throw new IllegalArgumentException("'" + keyword + "' must be an array");
        }
        ArrayNode both = MAPPER.createArrayNode();
        Set<JsonNode> seen = new HashSet<>();
        for (JsonNode item : ours) {
            if (seen.add(item)) {
                both.add(item);
            }
        }
        for (JsonNode item : theirs) {
            if (seen.add(item)) {
                both.add(item);
            }
        }
        return both;
    }

    private static JsonNode mergeTypes(JsonNode ours, JsonNode theirs, String name) {
        Set<String> common = new LinkedHashSet<>(typeNames(ours, name));
        Set<String> other = typeNames(theirs, name);
        if (other.contains("integer") && common.contains("number")) {
            common.add("integer");
        }
        if (common.contains("integer") && other.contains("number")) {
            other = new LinkedHashSet<>(other);
            other.add("integer");
        }
        common.retainAll(other);
        if (common.contains("integer")) {
            common.remove("number");
        }
        if (common.isEmpty()) {
            throw new IllegalArgumentException("an allOf (at " + where(name) + ") asks for types that no value has");
        }
        ArrayNode types = MAPPER.createArrayNode();
        common.forEach(types::add);
        return types.size() == 1 ? types.get(0) : types;
    }

    private static Set<String> typeNames(JsonNode type, String name) {
        Set<String> names = new LinkedHashSet<>();
        if (type.isString()) {
            names.add(type.stringValue());
        } else if (type.isArray()) {
            type.forEach(item -> names.add(item.asString("")));
        } else {
            throw new IllegalArgumentException("'type' (at " + where(name) + ") must be a string or an array");
        }
        return names;
    }

    // ---- objects, arrays, strings, literals ---------------------------------------------------------------------

    private String object(JsonNode schema, String name, int depth) {
        JsonNode properties = schema.path("properties");
        if (!properties.isMissingNode() && !properties.isObject()) {
            throw new IllegalArgumentException("'properties' (at " + where(name) + ") must be an object");
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode requiredNode = schema.path("required");
        if (!requiredNode.isMissingNode()) {
            if (!requiredNode.isArray()) {
                throw new IllegalArgumentException("'required' (at " + where(name) + ") must be an array of names");
            }
            for (JsonNode item : requiredNode) {
                if (!item.isString()) {
                    throw new IllegalArgumentException("'required' (at " + where(name) + ") must hold strings");
                }
                required.add(item.stringValue());
            }
        }
        JsonNode additional = schema.get("additionalProperties");
        boolean hasProperties = properties.isObject() && !properties.isEmpty();
        if (!hasProperties && required.isEmpty() && (additional == null || additional.equals(TRUE))) {
            return use("object");
        }
        List<String> requiredPairs = new ArrayList<>();
        List<String> optionalPairs = new ArrayList<>();
        Set<String> declared = new HashSet<>();
        for (Map.Entry<String, JsonNode> property : properties.properties()) {
            String key = property.getKey();
            declared.add(key);
            String child = child(name, key);
            String pair = pair(key, visit(property.getValue(), child, depth + 1, Set.of()), child);
            (required.contains(key) ? requiredPairs : optionalPairs).add(pair);
        }
        for (String key : required) {
            if (!declared.contains(key)) {
                requiredPairs.add(pair(key, use("value"), child(name, key)));
            }
        }
        String extraValue = additional == null ? (hasProperties ? null : use("value"))
                : additional.isBoolean() && !additional.booleanValue() ? null
                : visit(additional, child(name, "additional"), depth + 1, Set.of());
        String extra = extraValue == null ? null : rule(child(name, "additional-kv"),
                otherKey(declared, name) + " \":\" space " + extraValue);
        use("space");
        return rule(name, "\"{\" space " + members(requiredPairs, optionalPairs, extra) + " \"}\" space");
    }

    private String pair(String key, String value, String name) {
        return rule(name + "-kv", Gbnf.literal(MAPPER.writeValueAsString(key)) + " space \":\" space " + value);
    }

    /**
     * A key that is none of the declared ones, so that an extra member never repeats a property: a trie of the
     * declared keys where each step may instead take another character (and then any) or end early.
     */
    private String otherKey(Set<String> declared, String name) {
        boolean plain = !declared.isEmpty() && declared.stream().allMatch(key -> key.length() <= MAX_TRIE_KEY
                && key.codePoints().allMatch(c -> c >= 0x20 && c != '"' && c != '\\'
                        && !Character.isSurrogate((char) c)));
        if (!plain) {
            return use("string"); // no declared keys, or ones this trie does not spell: any key
        }
        KeyTrie trie = new KeyTrie();
        declared.forEach(trie::add);
        use("space");
        String escape = "\"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})";
        return rule(child(name, "other-key"), QUOTE + " " + trie.notIn(use("char"), escape) + " " + QUOTE + " space");
    }

    /** Declared keys by character; {@link #notIn} is the GBNF of every other key's content. */
    private static final class KeyTrie {
        private final Map<Integer, KeyTrie> next = new TreeMap<>();
        private boolean key;

        void add(String text) {
            KeyTrie node = this;
            for (int c : text.codePoints().toArray()) {
                node = node.next.computeIfAbsent(c, k -> new KeyTrie());
            }
            node.key = true;
        }

        String notIn(String anyChar, String escape) {
            List<String> alternatives = new ArrayList<>();
            next.forEach((c, child) -> alternatives.add(Gbnf.literal(Character.toString(c)) + " "
                    + child.notIn(anyChar, escape)));
            PatternGrammar.CharSet others = PatternGrammar.CharSet.RAW_IN_JSON;
            for (int c : next.keySet()) {
                others = others.minus(PatternGrammar.CharSet.of(c));
            }
            alternatives.add("(" + others.toGbnfClass() + " | " + escape + ") " + anyChar + "*");
            if (!key) {
                alternatives.add("\"\"");
            }
            return "(" + String.join(" | ", alternatives) + ")";
        }
    }

    /** Required members in order, then each optional one or none, then any number of extra ones. */
    private static String members(List<String> required, List<String> optional, String extra) {
        String extras = extra == null ? "" : " (\",\" space " + extra + ")*";
        if (!required.isEmpty()) {
            StringBuilder out = new StringBuilder(String.join(" \",\" space ", required));
            optional.forEach(pair -> out.append(" (\",\" space ").append(pair).append(")?"));
            return out.append(extras).toString();
        }
        List<String> firsts = new ArrayList<>();
        for (int i = 0; i < optional.size(); i++) {
            StringBuilder out = new StringBuilder(optional.get(i));
            optional.subList(i + 1, optional.size()).forEach(pair -> out.append(" (\",\" space ").append(pair)
                    .append(")?"));
            firsts.add(out.append(extras).toString());
        }
        if (extra != null) {
            firsts.add(extra + extras);
        }
        return firsts.isEmpty() ? "" : "(" + String.join(" | ", firsts) + ")?";
    }

    private String array(JsonNode schema, String name, int depth) {
        JsonNode items = schema.get("items");
        JsonNode prefix = schema.get("prefixItems");
        if (items != null && items.isArray()) { // the tuple form before draft 2020-12
            prefix = items;
            items = null;
        }
        int min = count(schema, "minItems", 0, name);
        int max = count(schema, "maxItems", -1, name);
        if (max >= 0 && max < min) {
            throw new IllegalArgumentException("maxItems is below minItems (at " + where(name) + ")");
        }
        use("space");
        if (prefix != null && !(prefix.isArray() && prefix.isEmpty())) {
            if (!prefix.isArray()) {
                throw new IllegalArgumentException("'prefixItems' (at " + where(name) + ") must be an array");
            }
            // a tuple is written with exactly its prefix items
            if (prefix.size() < min || (max >= 0 && prefix.size() > max)) {
                throw new IllegalArgumentException("a tuple's minItems or maxItems (at " + where(name)
                        + ") is not supported");
            }
            List<String> elements = new ArrayList<>();
            for (int i = 0; i < prefix.size(); i++) {
                elements.add(visit(prefix.get(i), child(name, String.valueOf(i)), depth + 1, Set.of()));
            }
            return rule(name, "\"[\" space " + String.join(" \",\" space ", elements) + " \"]\" space");
        }
        if (max == 0) {
            return rule(name, "\"[\" space \"]\" space");
        }
        String item = items == null ? use("value") : visit(items, child(name, "item"), depth + 1, Set.of());
        repeat(Math.max(min, max));
        String rest = repetition(Math.max(min - 1, 0), max < 0 ? -1 : max - 1);
        String list = item + (rest == null ? "" : " (\",\" space " + item + ")" + rest);
        return rule(name, "\"[\" space " + (min == 0 ? "(" + list + ")?" : list) + " \"]\" space");
    }

    /** A GBNF repetition suffix for min to max copies (max -1: unbounded); null for none at all. */
    private static String repetition(int min, int max) {
        if (max == 0) {
            return null;
        }
        if (max < 0) {
            return min == 0 ? "*" : min == 1 ? "+" : "{" + min + ",}";
        }
        return min == 0 && max == 1 ? "?" : min == 1 && max == 1 ? "" : "{" + min + "," + max + "}";
    }

    private String string(JsonNode schema, String name) {
        int min = count(schema, "minLength", 0, name);
        int max = count(schema, "maxLength", -1, name);
        if (max >= 0 && max < min) {
            throw new IllegalArgumentException("maxLength is below minLength (at " + where(name) + ")");
        }
        boolean lengths = schema.has("minLength") || schema.has("maxLength");
        JsonNode pattern = schema.get("pattern");
        if (pattern != null) {
            if (!pattern.isString()) {
                throw new IllegalArgumentException("'pattern' (at " + where(name) + ") must be a string");
            }
            if (lengths || schema.has("format")) {
                throw new IllegalArgumentException("a pattern together with minLength, maxLength or format (at "
                        + where(name) + ") is not supported");
            }
            String content = PatternGrammar.toGbnf(pattern.stringValue(), use("char"), this::repeat);
            use("space");
            return rule(name, QUOTE + " " + content + " " + QUOTE + " space");
        }
        String format = schema.path("format").asString("");
        if (!lengths && PRIMITIVES.containsKey(format + "-string")) {
            return use(format + "-string");
        }
        if (!lengths) {
            return use("string");
        }
        repeat(Math.max(min, max));
        String chars = repetition(min, max);
        use("space");
        return rule(name, QUOTE + (chars == null ? "" : " " + use("char") + chars) + " " + QUOTE + " space");
    }

    // ---- integer ranges -----------------------------------------------------------------------------------------

    /** An integer from {@code minimum} to {@code maximum} (exclusive bounds too): digit by digit, without "-0". */
    private String integerRange(JsonNode schema, String name) {
        long low = -LARGEST_INTEGER;
        long high = LARGEST_INTEGER;
        for (String keyword : BOUNDS) {
            JsonNode bound = schema.get(keyword);
            if (bound == null) {
                continue;
            }
            if (!bound.isNumber() || Math.abs(bound.doubleValue()) > LARGEST_INTEGER) {
                throw new IllegalArgumentException("'" + keyword + "' (at " + where(name) + ") must be a number of at"
                        + " most 18 digits");
            }
            double value = bound.doubleValue();
            switch (keyword) {
                case "minimum" -> low = Math.max(low, (long) Math.ceil(value));
                case "exclusiveMinimum" -> low = Math.max(low, (long) Math.floor(value) + 1);
                case "maximum" -> high = Math.min(high, (long) Math.floor(value));
                default -> high = Math.min(high, (long) Math.ceil(value) - 1);
            }
        }
        if (low > high) {
            throw new IllegalArgumentException("no integer is within the bounds (at " + where(name) + ")");
        }
        List<String> alternatives = new ArrayList<>();
        if (low < 0) {
            alternatives.add("\"-\" " + nonNegative(Math.max(1, -high), -low));
        }
        if (high >= 0) {
            alternatives.add(nonNegative(Math.max(0, low), high));
        }
        use("space");
        return rule(name, "(" + String.join(" | ", alternatives) + ") space");
    }

    /** The decimal numbers from low to high, both at least 0, with no leading zeros. */
    private static String nonNegative(long low, long high) {
        String from = Long.toString(low);
        String to = Long.toString(high);
        if (from.length() == to.length()) {
            return sameLength(from, to);
        }
        List<String> alternatives = new ArrayList<>();
        alternatives.add(sameLength(from, "9".repeat(from.length())));
        if (to.length() - from.length() >= 2) { // every number of the lengths between
            alternatives.add("[1-9] [0-9]{" + from.length() + "," + (to.length() - 2) + "}");
        }
        alternatives.add(sameLength("1" + "0".repeat(to.length() - 1), to));
        return "(" + String.join(" | ", alternatives) + ")";
    }

    /** The digit strings of one length from {@code from} to {@code to}: split at the first digit they differ in. */
    private static String sameLength(String from, String to) {
        if (from.equals(to)) {
            return Gbnf.literal(from);
        }
        int length = from.length();
        if (from.equals("0".repeat(length)) && to.equals("9".repeat(length))) {
            return length == 1 ? "[0-9]" : "[0-9]{" + length + "}";
        }
        int k = 0;
        while (from.charAt(k) == to.charAt(k)) {
            k++;
        }
        String prefix = k == 0 ? "" : Gbnf.literal(from.substring(0, k)) + " ";
        char a = from.charAt(k);
        char b = to.charAt(k);
        int rest = length - k - 1;
        if (rest == 0) {
            return prefix + "[" + a + "-" + b + "]";
        }
        List<String> alternatives = new ArrayList<>();
        alternatives.add("\"" + a + "\" " + sameLength(from.substring(k + 1), "9".repeat(rest)));
        if (b - a >= 2) {
            alternatives.add("[" + (char) (a + 1) + "-" + (char) (b - 1) + "] " + sameLength("0".repeat(rest),
                    "9".repeat(rest)));
        }
        alternatives.add("\"" + b + "\" " + sameLength("0".repeat(rest), to.substring(k + 1)));
        return prefix + "(" + String.join(" | ", alternatives) + ")";
    }

    private String literals(List<JsonNode> values, String name) {
        List<String> alternatives = new ArrayList<>();
        for (JsonNode value : values) {
            String literal = Gbnf.literal(MAPPER.writeValueAsString(value));
            if (!alternatives.contains(literal)) {
                alternatives.add(literal);
            }
        }
        use("space");
        return rule(name, "(" + String.join(" | ", alternatives) + ") space");
    }

    private static int count(JsonNode schema, String keyword, int fallback, String name) {
        JsonNode node = schema.get(keyword);
        if (node == null) {
            return fallback;
        }
        if (!node.isNumber() || node.doubleValue() < 0 || node.doubleValue() != Math.rint(node.doubleValue())) {
            throw new IllegalArgumentException("'" + keyword + "' (at " + where(name) + ") must be a whole number");
        }
        if (node.doubleValue() > MAX_REPEAT) {
            throw new IllegalArgumentException("'" + keyword + "' (at " + where(name) + ") is more than "
                    + MAX_REPEAT + ", the most structured output supports");
        }
        return node.intValue();
    }

    // ---- rules --------------------------------------------------------------------------------------------------

    private void repeat(int copies) {
        repeats += copies;
        if (repeats > MAX_REPEAT_TOTAL) {
            throw new IllegalArgumentException("its lengths and item counts add up to more than "
                    + MAX_REPEAT_TOTAL);
        }
    }

    /** The name of a primitive rule, defining it (and the rules it uses) on first use. */
    private String use(String primitive) {
        if (!rules.containsKey(primitive)) {
            String body = PRIMITIVES.get(primitive);
            rules.put(primitive, null);
            for (String word : body.split("[^a-z-]+")) {
                if (PRIMITIVES.containsKey(word) && !word.equals(primitive)) {
                    use(word);
                }
            }
            define(primitive, body);
        }
        return primitive;
    }

    /** A rule with this body (the existing one if another has the same body). */
    private String rule(String name, String body) {
        String existing = ruleByBody.get(body);
        if (existing != null) {
            return existing;
        }
        String rule = reserve(name);
        define(rule, body);
        ruleByBody.put(body, rule);
        return rule;
    }

    private String reserve(String hint) {
        String base = hint.replaceAll("[^a-zA-Z0-9]+", "-").replaceAll("^-+|-+$", "");
        base = base.length() > 40 ? base.substring(0, 40).replaceAll("-+$", "") : base;
        base = base.isEmpty() ? "schema" : base;
        String name = base;
        for (int n = 1; rules.containsKey(name) || PRIMITIVES.containsKey(name); n++) {
            name = base + "-" + n;
        }
        rules.put(name, null);
        return name;
    }

    private void define(String rule, String body) {
        size += rule.length() + body.length() + 6;
        if (size > MAX_GRAMMAR_CHARS) {
            throw new IllegalArgumentException("its grammar would be larger than " + MAX_GRAMMAR_CHARS
                    + " characters");
        }
        rules.put(rule, body);
    }

    private String text() {
        StringBuilder out = new StringBuilder(size);
        rules.forEach((rule, body) -> {
            for (String used : referencedRules(body)) {
                if (rules.get(used) == null) {
                    // llama.cpp would silently generate without the grammar: fail loudly instead
                    throw new IllegalStateException("rule '" + rule + "' uses the undefined rule '" + used + "'");
                }
            }
            out.append(rule).append(" ::= ").append(body).append('\n');
        });
        return out.toString();
    }

    /** The rule names a GBNF rule body uses: its words outside literals, classes and repetition bounds. */
    static Set<String> referencedRules(String body) {
        Set<String> names = new LinkedHashSet<>();
        int i = 0;
        while (i < body.length()) {
            char c = body.charAt(i);
            if (c == '"' || c == '[') {
                char close = c == '"' ? '"' : ']';
                i++;
                while (i < body.length() && body.charAt(i) != close) {
                    i += body.charAt(i) == '\\' ? 2 : 1;
                }
                i++;
            } else if (c == '{') {
                i = body.indexOf('}', i) + 1;
            } else if (Character.isLetterOrDigit(c) || c == '-') {
                int start = i;
                while (i < body.length() && (Character.isLetterOrDigit(body.charAt(i)) || body.charAt(i) == '-')) {
                    i++;
                }
                names.add(body.substring(start, i));
            } else {
                i++;
            }
        }
        return names;
    }

    private static String child(String name, String key) {
        return name.isEmpty() ? key : name + "-" + key;
    }

    private static String where(String name) {
        return name.isEmpty() ? "the root" : "'" + Gbnf.shorten(name) + "'";
    }

    private static Map<String, String> primitives() {
        Map<String, String> rules = new LinkedHashMap<>();
        rules.put("space", "\" \"?");
        rules.put("char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        rules.put("string", QUOTE + " char* " + QUOTE + " space");
        rules.put("boolean", "(\"true\" | \"false\") space");
        rules.put("null", "\"null\" space");
        rules.put("integral-part", "\"0\" | [1-9] [0-9]{0,15}");
        rules.put("integer", "\"-\"? integral-part space");
        rules.put("number", "\"-\"? integral-part (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})? space");
        rules.put("value", "object | array | string | number | boolean | null");
        rules.put("object", "\"{\" space (string \":\" space value (\",\" space string \":\" space value)*)? \"}\" space");
        rules.put("array", "\"[\" space (value (\",\" space value)*)? \"]\" space");
        // RFC 3339 dates: days past 28 only in months that have them (no leap days)
        rules.put("date", "[0-9]{4} \"-\" ((\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8])"
                + " | (\"0\" [13-9] | \"1\" [0-2]) \"-\" (\"29\" | \"30\") | (\"0\" [13578] | \"1\" [02]) \"-31\")");
        rules.put("time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})?"
                + " (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])");
        rules.put("date-time", "date \"T\" time");
        rules.put("uuid", "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}");
        for (String format : List.of("date", "time", "date-time", "uuid")) {
            rules.put(format + "-string", QUOTE + " " + format + " " + QUOTE + " space");
        }
        return Map.copyOf(rules);
    }
}
