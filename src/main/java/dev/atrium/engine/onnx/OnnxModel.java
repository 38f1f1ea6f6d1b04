package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.Deployment;
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
    private int leases;
    private boolean unloaded;

    OnnxModel(Deployment deployment, OrtSession session, TextTokenizer tokenizer) {
        this.deployment = deployment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.inputNames = Set.copyOf(session.getInputNames());
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

    /** Marks the model unloaded; its resources close now, or when the last running request finishes. */
    synchronized void unload() {
        if (unloaded) {
            return;
        }
        unloaded = true;
        if (leases == 0) {
            closeResources();
        }
    }

    private void closeResources() {
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
