package dev.atrium.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.Pooling;
import java.nio.FloatBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddingPoolingTest {
    /** Two inputs of 3 and 1 tokens, padded to 3, dimension 2: token t of input b holds (10b + t, -(10b + t)). */
    private static FloatBuffer hiddenStates() {
        float[] values = new float[2 * 3 * 2];
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                values[(b * 3 + t) * 2] = 10 * b + t;
                values[(b * 3 + t) * 2 + 1] = -(10 * b + t);
            }
        }
        return FloatBuffer.wrap(values);
    }

    private static float[][] pool(Pooling pooling) {
        EmbeddingMetadata metadata = new EmbeddingMetadata(true, 8, 2, 0, pooling, false, "out");
        return EmbeddingPipeline.pool(hiddenStates(), new long[] {2, 3, 2}, List.of(new long[3], new long[1]), metadata);
    }

    @Test
    void pool_lastToken_takesEachInputsLastUnpaddedToken() {
        float[][] vectors = pool(Pooling.LAST);
        assertThat(vectors[0]).containsExactly(2f, -2f);
        assertThat(vectors[1]).containsExactly(10f, -10f);
    }

    @Test
    void pool_clsAndMean_takeTheFirstTokenAndTheMaskedMean() {
        assertThat(pool(Pooling.CLS)[1]).containsExactly(10f, -10f);
        assertThat(pool(Pooling.MEAN)[0]).containsExactly(1f, -1f);
        assertThat(pool(Pooling.MEAN)[1]).containsExactly(10f, -10f);
    }

    @Test
    void pooling_wireNames_roundTrip() {
        for (Pooling pooling : Pooling.values()) {
            assertThat(Pooling.fromWireName(pooling.wireName())).contains(pooling);
        }
        assertThat(Pooling.LAST.wireName()).isEqualTo("last_token");
    }
}
