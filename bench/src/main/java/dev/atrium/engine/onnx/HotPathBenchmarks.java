package dev.atrium.engine.onnx;

import dev.atrium.bench.Texts;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.Pooling;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** The embedding path around ONNX Runtime: tokenizing a sentence and a paragraph, and mean-pooling a batch. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class HotPathBenchmarks {
    private static final int DIMENSION = 384;

    private TextTokenizer tokenizer;
    private String sentence;
    private String paragraph;
    private FloatBuffer hidden;
    private long[] shape;
    private List<long[]> sequences;
    private EmbeddingMetadata metadata;

    @Setup
    public void setUp() throws IOException {
        Path file = Files.createTempFile("tokenizer", ".json");
        try (InputStream in = HotPathBenchmarks.class.getResourceAsStream("/all-minilm-l6-v2-q-tokenizer.json")) {
            if (in == null) {
                throw new IllegalStateException("the bundled tokenizer is not on the class path");
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        tokenizer = TextTokenizer.load(file);
        sentence = Texts.of("sentence").getFirst();
        paragraph = Texts.of("paragraph").getFirst();
        // a batch of 8 sixteen-token sentences, as the model's last hidden state
        int batch = 8;
        int length = 16;
        Random random = new Random(1);
        float[] values = new float[batch * length * DIMENSION];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        hidden = FloatBuffer.wrap(values);
        shape = new long[] {batch, length, DIMENSION};
        sequences = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            sequences.add(new long[length - b % 3]);
        }
        metadata = new EmbeddingMetadata(true, 256, DIMENSION, 30522, Pooling.MEAN, true, "last_hidden_state");
    }

    @TearDown
    public void tearDown() {
        tokenizer.close();
    }

    @Benchmark
    public long[] tokenizeSentence() {
        return tokenizer.encode(sentence);
    }

    @Benchmark
    public long[] tokenizeParagraph() {
        return tokenizer.encode(paragraph);
    }

    @Benchmark
    public float[][] meanPoolAndNormalizeBatchOf8() {
        return EmbeddingPipeline.pool(hidden, shape, sequences, metadata);
    }
}
