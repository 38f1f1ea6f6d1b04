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
    /** What a task model keeps beside its session, made when it loads: a tabular runner, image preprocessing... */
    private volatile Object taskState;
    private Batcher<OnnxBatches.Work, OnnxBatches.Done> batcher;
    private Runnable onUnload = () -> { };
    /** Closed after the session: its options (native memory of their own). */
    private final java.util.List<AutoCloseable> closeAfterSession = new java.util.ArrayList<>();
    private int leases;
    private int runningBatches;
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

    /** Closes the resource once the session has closed. */
    synchronized void closeWith(AutoCloseable resource) {
        closeAfterSession.add(resource);
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

    /** The task's state, made once when the model loaded. */
    <T> T taskState(Class<T> type) {
        return type.cast(taskState);
    }

    void taskState(Object state) {
        this.taskState = state;
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

    /** Work on the model now: requests holding a lease (queued or running) and batches running. */
    synchronized int inFlight() {
        return leases + runningBatches;
    }

    /**
     * Unloads the model only when no request holds a lease and no batch runs, atomically with {@link #acquire}: a
     * request that comes after finds it unloaded and loads it again.
     *
     * @return whether it was idle and is now unloaded
     */
    boolean unloadIfIdle() {
        synchronized (this) {
            if (unloaded || leases > 0 || runningBatches > 0) {
                return false;
            }
            unloaded = true;
        }
        stop();
        return true;
    }

    synchronized void release() {
        leases--;
        closeIfUnused();
    }

    /** A batch runs on the session: it stays open until the batch ends, even if the model is unloaded meanwhile. */
    synchronized void batchStarted() {
        runningBatches++;
    }

    synchronized void batchEnded() {
        runningBatches--;
        closeIfUnused();
    }

    private void closeIfUnused() {
        if (unloaded && leases == 0 && runningBatches == 0) {
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
        stop();
    }

    /** Once marked unloaded: stops the batcher, and closes the session now or when the last lease returns. */
    private void stop() {
        if (batcher != null) {
            batcher.close();
        }
        onUnload.run();
        synchronized (this) {
            closeIfUnused();
        }
    }

    /** Only once no request holds a lease and no batch runs: nothing uses the session after this. */
    private void closeResources() {
        if (closed) {
            return;
        }
        closed = true;
        if (taskState instanceof AutoCloseable state) {
            try {
                state.close();
            } catch (Exception e) {
                LOG.warn("closing the task state of {} failed: {}", deployment.key(), e.getMessage());
            }
        }
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing the session of {} failed", deployment.key(), e);
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        for (AutoCloseable resource : closeAfterSession) {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.warn("closing a resource of {} failed: {}", deployment.key(), e.getMessage());
            }
        }
        // what the session's arena and graph held goes back to the system, not to a heap that keeps it resident
        dev.atrium.engine.residency.Residency.releaseFreedMemory();
        LOG.info("unloaded {}", deployment.key());
    }
}
