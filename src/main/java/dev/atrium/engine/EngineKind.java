package dev.atrium.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The runtimes that can serve a model, each with the upload part that holds its model file. */
public enum EngineKind {
    /** ONNX Runtime: embedding, tensor and task models (speech, images, text and tabular), from an {@code onnx} part. */
    ONNX("onnx", java.util.Set.of(ModelTask.EMBEDDING, ModelTask.TENSOR, ModelTask.TRANSCRIPTION,
            ModelTask.IMAGE_CLASSIFICATION, ModelTask.TEXT_CLASSIFICATION, ModelTask.TABULAR), "onnxruntime_onnx"),
    /** llama.cpp: chat and completion models, from a {@code gguf} part. */
    LLAMA("gguf", java.util.Set.of(ModelTask.CHAT, ModelTask.COMPLETION), "llama_cpp_gguf"),
    /** An OpenAI-compatible upstream: embedding, chat and completion models, with no upload (a JSON version). */
    REMOTE(null, java.util.Set.of(ModelTask.EMBEDDING, ModelTask.CHAT, ModelTask.COMPLETION), "openai_compatible_remote");

    private final String artifactRole;
    private final java.util.Set<ModelTask> tasks;
    private final String platform;

    EngineKind(String artifactRole, java.util.Set<ModelTask> tasks, String platform) {
        this.artifactRole = artifactRole;
        this.tasks = tasks;
        this.platform = platform;
    }

    /** The Open Inference Protocol's {@code platform} of a model this engine serves. */
    public String platform() {
        return platform;
    }

    /** The name of the upload part (and artifact role) of the model file; null for a remote model, which has none. */
    public String artifactRole() {
        return artifactRole;
    }

    public boolean hasArtifacts() {
        return artifactRole != null;
    }

    public boolean serves(ModelTask task) {
        return tasks.contains(task);
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<EngineKind> fromWireName(String name) {
        return Arrays.stream(values()).filter(kind -> kind.wireName().equals(name)).findFirst();
    }
}
