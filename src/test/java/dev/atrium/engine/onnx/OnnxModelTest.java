package dev.atrium.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.VersionKey;
import dev.atrium.testing.OnnxModelWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A loaded ONNX model's session closes only once nothing uses it: no request's lease, and no running batch. */
class OnnxModelTest {
    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();

    private OnnxModel model() throws Exception {
        byte[] identity = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, 1)
                .output("y", OnnxModelWriter.ElementType.FLOAT, 1)
                .node("Identity", List.of("x"), List.of("y"))
                .toBytes();
        OrtSession session = environment.createSession(identity, new OrtSession.SessionOptions());
        Deployment deployment = new Deployment(new VersionKey(1, "identity", 1), ModelTask.TENSOR, ArtifactFiles.none(),
                new ModelMetadata(List.of(), List.of(), null, null, null));
        return new OnnxModel(deployment, session, null);
    }

    private void run(OnnxModel model) throws Exception {
        try (OnnxTensor x = OnnxTensor.createTensor(environment, new float[] {1f});
                OrtSession.Result result = model.session().run(Map.of("x", x))) {
            assertThat(result.size()).isEqualTo(1);
        }
    }

    @Test
    void unload_whileABatchRuns_whoseRequestGaveItsLeaseBack_keepsTheSessionOpenUntilTheBatchEnds() throws Exception {
        OnnxModel model = model();
        assertThat(model.acquire()).isTrue();
        model.batchStarted();
        // the request expired (or its client left) and returned its lease while its batch still runs
        model.release();
        model.unload();
        run(model);
        model.batchEnded();
        assertThatThrownBy(() -> run(model)).as("closed once the batch ended").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void unload_withALeaseHeld_closesWhenTheLeaseIsReturned() throws Exception {
        OnnxModel model = model();
        assertThat(model.acquire()).isTrue();
        model.unload();
        assertThat(model.acquire()).as("no new lease once unloaded").isFalse();
        run(model);
        model.release();
        assertThatThrownBy(() -> run(model)).isInstanceOf(IllegalStateException.class);
    }
}
