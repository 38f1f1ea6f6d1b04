package dev.atrium.openai;

import dev.atrium.engine.EmbeddingResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Writing {@code /v1/embeddings} answers: 384-dimension vectors as JSON numbers or base64. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class EncodingBenchmarks {
    @Param({"1", "8"})
    public int vectors;

    private EmbeddingResult result;

    @Setup
    public void setUp() {
        Random random = new Random(1);
        List<float[]> list = new ArrayList<>();
        for (int v = 0; v < vectors; v++) {
            float[] vector = new float[384];
            for (int d = 0; d < vector.length; d++) {
                vector[d] = (float) random.nextGaussian() / 20;
            }
            list.add(vector);
        }
        result = new EmbeddingResult(list, 16L * vectors, 1_000_000);
    }

    @Benchmark
    public byte[] embeddingsAsJsonNumbers() {
        return OpenAiService.encode(result, "all-minilm-l6-v2", false);
    }

    @Benchmark
    public byte[] embeddingsAsBase64() {
        return OpenAiService.encode(result, "all-minilm-l6-v2", true);
    }
}
