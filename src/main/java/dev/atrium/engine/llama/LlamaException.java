package dev.atrium.engine.llama;

/**
 * llama.cpp cannot do what was asked: its libraries are missing or of another release, a model does not load, a
 * decode failed. The message names the cause in words a platform admin can act on, never a native address.
 */
public final class LlamaException extends RuntimeException {
    public LlamaException(String message) {
        super(message);
    }
}
