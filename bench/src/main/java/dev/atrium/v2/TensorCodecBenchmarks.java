package dev.atrium.v2;

import dev.atrium.engine.DataType;
import dev.atrium.engine.Tensor;
import dev.atrium.server.Json;
import java.io.ByteArrayOutputStream;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;

/** The Open Inference Protocol's JSON tensors: an FP32 [8, 384] output written, and the same read back. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TensorCodecBenchmarks {
    private Tensor tensor;
    private byte[] json;

    @Setup
    public void setUp() {
        Random random = new Random(1);
        float[] data = new float[8 * 384];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        tensor = new Tensor("last_hidden_state", DataType.FP32, new long[] {8, 384}, data);
        json = writeFp32();
    }

    @Benchmark
    public byte[] writeFp32() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        try (JsonGenerator generator = Json.MAPPER.createGenerator(out)) {
            V2TensorCodec.write(generator, tensor);
        }
        return out.toByteArray();
    }

    @Benchmark
    public Tensor readFp32() {
        JsonNode node = Json.MAPPER.readTree(json);
        return V2TensorCodec.parse(node, 0);
    }
}
