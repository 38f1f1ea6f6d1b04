package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

/** One file of a model version, by its role ({@code onnx}, {@code tokenizer}) and content hash. */
public record ArtifactFile(String role, String sha256, long sizeBytes) {
    public static final String ONNX = "onnx";
    public static final String TOKENIZER = "tokenizer";
    public static final String GGUF = "gguf";
    /** A transcription model's voice activity detector (Silero VAD), which cuts long audio at silences. */
    public static final String VAD = "vad";

    public ArtifactFile {
        requireNonNull(role, "role is null");
        requireNonNull(sha256, "sha256 is null");
    }
}
