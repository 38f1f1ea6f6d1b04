package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;

/** Whatever schema a client sends, the converter answers a well-formed grammar or a 400, never anything else. */
class JsonSchemaGrammarProperties {

    @Property(tries = 2000)
    void fromSchema_randomNestedSchemas_giveAWellFormedGrammarOrA400(@ForAll long seed) {
        String schema = RandomSchemas.root(seed);
        String grammar;
        try {
            grammar = JsonSchemaGrammar.fromSchema(schema);
        } catch (AtriumException e) {
            assertThat(e.code()).as(schema).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.param()).as(schema).contains("response_format");
            Statistics.collect("refused");
            return;
        }
        Statistics.collect("grammar");
        assertThat(grammar).as(schema).startsWith("root ::= ");
        assertThat(grammar.length()).isLessThanOrEqualTo(JsonSchemaGrammar.MAX_GRAMMAR_CHARS + 1_000);
        Map<String, String> rules = JsonSchemaGrammarTest.parse(grammar);
        rules.forEach((rule, body) -> assertThat(rules.keySet()).as(rule + " in " + schema)
                .containsAll(JsonSchemaGrammar.referencedRules(body)));
    }

    @Property(tries = 300)
    void fromSchema_supportedSchemas_alwaysGiveAGrammar(@ForAll long seed) {
        String schema = RandomSchemas.supported(seed);
        assertThat(JsonSchemaGrammar.fromSchema(schema)).as(schema).startsWith("root ::= ");
    }
}
