package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.EmbeddingResult;
import dev.atrium.server.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class EmbeddingEncodingTest {
    /** Reads the answer's numbers back as a client does: each to the nearest float32. */
    private static float[] readBack(byte[] answer) {
        JsonNode embedding = Json.MAPPER.readTree(answer).path("data").get(0).path("embedding");
        float[] values = new float[embedding.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = Float.parseFloat(embedding.get(i).asString());
        }
        return values;
    }

    private static byte[] encode(float[] vector) {
        return OpenAiService.encode(new EmbeddingResult(List.of(vector), 7, 0), "m", false);
    }

    @Test
    void encode_unitVectors_readBackAsTheSameFloats() {
        SplittableRandom random = new SplittableRandom(42);
        for (int round = 0; round < 2_000; round++) {
            float[] vector = new float[384];
            double norm = 0;
            for (int i = 0; i < vector.length; i++) {
                vector[i] = (float) random.nextGaussian();
                norm += vector[i] * vector[i];
            }
            for (int i = 0; i < vector.length; i++) {
                vector[i] = (float) (vector[i] / Math.sqrt(norm));
            }
            byte[] answer = encode(vector);
            assertThat(readBack(answer)).containsExactly(vector);
            // written by the fixed-digit path, not Jackson's shortest form (which writes 1.2E-4 for small values)
            assertThat(new String(answer, StandardCharsets.US_ASCII)).doesNotContain("E-");
        }
    }

    @Test
    void encode_everyFloatOfTheFastRangeEdges_readBackAsTheSameFloats() {
        // the edges of each scale, and the floats next to them, where a wrong number of digits would show first
        float[] edges = {1.0001e-8f, 1e-7f, 1e-6f, 1e-5f, 1e-4f, 0.001f, 0.01f, 0.1f, 0.0999999f, 0.00999999f, 0.000999999f,
            0.5f, 0.25f, 0.999999f, Math.nextDown(Math.nextDown(1f)), 1.2345678e-8f, 9.876543e-8f};
        float[] vector = new float[edges.length * 6];
        int n = 0;
        for (float edge : edges) {
            for (float value : new float[] {edge, Math.nextUp(edge), Math.nextDown(Math.max(edge, 1.0001e-8f))}) {
                vector[n++] = value;
                vector[n++] = -value;
            }
        }
        byte[] answer = encode(vector);
        assertThat(readBack(answer)).containsExactly(vector);
        assertThat(new String(answer, StandardCharsets.US_ASCII)).doesNotContain("E-");
    }

    @Test
    void encode_valuesOutsideTheFastRange_writtenInTheirShortestFormBesideTheOthers() {
        float[] vector = {0.5f, 1.5f, -2e-5f, 0f, -0f, 123456.78f, Float.MIN_VALUE, -9e-9f, 1f};
        byte[] answer = encode(vector);
        assertThat(readBack(answer)).containsExactly(vector);
        assertThat(new String(answer, StandardCharsets.UTF_8))
                .contains("[0.5,1.5,-0.0000199999995,0.0,-0.0,123456.78,1.4E-45,-9.0E-9,1.0]");
    }

    @Test
    void encode_nonFiniteValues_leftToJacksonForTheWholeVector() {
        byte[] answer = encode(new float[] {0.5f, Float.NaN, Float.POSITIVE_INFINITY});
        JsonNode embedding = Json.MAPPER.readTree(answer).path("data").get(0).path("embedding");
        assertThat(embedding.size()).isEqualTo(3);
        assertThat(embedding.get(0).asString()).isEqualTo("0.5");
        assertThat(embedding.get(1).asString()).isEqualTo("NaN");
    }

    @Test
    void encode_fastRange_writesNineSignificantDigitsAtMostWithoutTrailingZeros() {
        String answer = new String(encode(new float[] {0.5f, -0.125f, 0f, -0f, 0.1f, 0.0123f, 1.5e-6f}), StandardCharsets.UTF_8);
        assertThat(readBack(answer.getBytes(StandardCharsets.UTF_8))).containsExactly(0.5f, -0.125f, 0f, -0f, 0.1f, 0.0123f, 1.5e-6f);
        assertThat(answer).contains("\"embedding\":[0.5,-0.125,0.0,-0.0,0.100000001,0.0122999996,0.00000150000005]");
    }
}
