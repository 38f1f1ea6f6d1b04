package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.Deployment;
import dev.atrium.scheduling.Batcher;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded model version: its ONNX Runtime session and tokenizer. Requests hold a lease while they run; an
 * unloaded model closes its native resources when the last lease is returned.
 */
final class OnnxModel {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxModel.class);

    private final Deployment deployment;
    private final OrtSession session;
    private final TextTokenizer tokenizer;
    private final Set<String> inputNames;
    private Batcher<OnnxBatches.Work, OnnxBatches.Done> batcher;
    private Runnable onUnload = () -> { };
    private int leases;
    private boolean unloaded;
    private boolean closed;

    OnnxModel(Deployment deployment, OrtSession session, TextTokenizer tokenizer) {
        this.deployment = deployment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.inputNames = Set.copyOf(session.getInputNames());
    }

    /** Starts serving through the batcher; {@code onUnload} runs once it has stopped. */
    void start(Batcher<OnnxBatches.Work, OnnxBatches.Done> batcher, Runnable onUnload) {
        this.batcher = batcher;
        this.onUnload = onUnload;
    }

    Batcher<OnnxBatches.Work, OnnxBatches.Done> batcher() {
        return batcher;
    }

    int queueDepth() {
        return batcher == null ? 0 : batcher.queueDepth();
    }

    Deployment deployment() {
        return deployment;
    }

    OrtSession session() {
        return session;
    }

    Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    boolean hasInput(String name) {
        return inputNames.contains(name);
    }

    /** Takes a lease; false once the model is unloaded, in which case the caller must load it again. */
    synchronized boolean acquire() {
        if (unloaded) {
            return false;
        }
        leases++;
        return true;
    }

    synchronized void release() {
        leases--;
        if (unloaded && leases == 0) {
            closeResources();
        }
    }

    /**
     * Marks the model unloaded and stops its batcher (waiting requests are refused, running batches finish); its
     * native resources close now, or when the last request holding a lease returns it.
     */
    void unload() {
        synchronized (this) {
            if (unloaded) {
                return;
            }
            unloaded = true;
        }
        if (batcher != null) {
            batcher.close();
        }
        onUnload.run();
        synchronized (this) {
            if (leases == 0) {
                closeResources();
            }
        }
    }

    /** Requests hold a lease until their batches ran, so no batch uses the session once the leases are back. */
    private void closeResources() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing the session of {} failed", deployment.key(), e);
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        LOG.info("unloaded {}", deployment.key());
    }
}
