package dev.atrium.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A GGUF model loaded by llama.cpp: its weights and vocabulary. Tokenizing and reading metadata are safe from any
 * thread; contexts made from it ({@link LlamaContext}) must be closed before it is.
 */
public final class LlamaModel implements AutoCloseable {
    /** How to load. */
    public record Options(boolean vocabularyOnly, boolean extraBufferTypes) {
        /** The weights for inference, with llama.cpp's weight repacking as {@code extraBufferTypes} says. */
        public static Options inference(boolean extraBufferTypes) {
            return new Options(false, extraBufferTypes);
        }

        /** Only the vocabulary and metadata: cheap, to check an upload. */
        public static Options vocabulary() {
            return new Options(true, false);
        }
    }

    private final LlamaCpp cpp;
    private final MemorySegment model;
    private final MemorySegment vocab;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LlamaModel(LlamaCpp cpp, MemorySegment model) throws Throwable {
        this.cpp = cpp;
        this.model = model;
        this.vocab = (MemorySegment) cpp.modelGetVocab.invokeExact(model);
    }

    /**
     * @throws LlamaException when llama.cpp cannot load the file
     */
    public static LlamaModel load(LlamaCpp cpp, Path file, Options options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = (MemorySegment) cpp.modelDefaultParams.invokeExact((SegmentAllocator) arena);
            LlamaCpp.set(LlamaCpp.MODEL_PARAMS, params, "n_gpu_layers", 0);
            LlamaCpp.set(LlamaCpp.MODEL_PARAMS, params, "vocab_only", options.vocabularyOnly());
            LlamaCpp.set(LlamaCpp.MODEL_PARAMS, params, "use_extra_bufts", options.extraBufferTypes());
            MemorySegment model = (MemorySegment) cpp.modelLoadFromFile.invokeExact(
                    arena.allocateFrom(file.toString()), params);
            if (model.equals(MemorySegment.NULL)) {
                throw new LlamaException("llama.cpp could not load the model file (not a GGUF it supports)");
            }
            return new LlamaModel(cpp, model);
        } catch (LlamaException e) {
            throw e;
        } catch (Throwable e) {
            throw new LlamaException("llama.cpp failed to load the model: " + e);
        }
    }

    LlamaCpp cpp() {
        return cpp;
    }

    MemorySegment pointer() {
        requireOpen();
        return model;
    }

    MemorySegment vocab() {
        requireOpen();
        return vocab;
    }

    /** The tokens of the vocabulary. */
    public int vocabularySize() {
        return call(() -> (int) cpp.vocabNTokens.invokeExact(vocab()));
    }

    /** The context the model was trained with. */
    public int trainingContext() {
        return call(() -> (int) cpp.modelNCtxTrain.invokeExact(pointer()));
    }

    /** Bytes of its tensors. */
    public long sizeBytes() {
        return call(() -> (long) cpp.modelSize.invokeExact(pointer()));
    }

    public int bos() {
        return call(() -> (int) cpp.vocabBos.invokeExact(vocab()));
    }

    public int eos() {
        return call(() -> (int) cpp.vocabEos.invokeExact(vocab()));
    }

    /** Whether the token ends a generation (end of sequence, end of turn, …). */
    public boolean isEndOfGeneration(int token) {
        return call(() -> (boolean) cpp.vocabIsEog.invokeExact(vocab(), token));
    }

    /** A metadata value of the GGUF, as text. */
    public Optional<String> metadata(String key) {
        return call(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment name = arena.allocateFrom(key);
                int size = 256;
                while (true) {
                    MemorySegment buffer = arena.allocate(size);
                    int length = (int) cpp.modelMetaValStr.invokeExact(pointer(), name, buffer, (long) size);
                    if (length < 0) {
                        return Optional.<String>empty();
                    }
                    if (length < size) {
                        return Optional.of(new String(buffer.asSlice(0, length).toArray(JAVA_BYTE), StandardCharsets.UTF_8));
                    }
                    size = length + 1;
                }
            }
        });
    }

    /** The chat template the GGUF carries ({@code tokenizer.chat_template}), if any. */
    public Optional<String> chatTemplate() {
        return call(() -> {
            MemorySegment template = (MemorySegment) cpp.modelChatTemplate.invokeExact(pointer(), MemorySegment.NULL);
            return template.equals(MemorySegment.NULL) ? Optional.<String>empty() : Optional.of(LlamaCpp.cString(template));
        });
    }

    /**
     * The text's tokens.
     *
     * @param addSpecial add the BOS (and EOS) the model is configured to add
     * @param parseSpecial read special tokens written in the text ({@code <|im_start|>}) as themselves
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        return call(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = arena.allocate(Math.max(1, utf8.length));
                MemorySegment.copy(utf8, 0, bytes, JAVA_BYTE, 0, utf8.length);
                int capacity = utf8.length + 2;
                while (true) {
                    MemorySegment tokens = arena.allocate(JAVA_INT, capacity);
                    int count = (int) cpp.tokenize.invokeExact(vocab(), bytes, utf8.length, tokens, capacity,
                            addSpecial, parseSpecial);
                    if (count == Integer.MIN_VALUE) {
                        throw new LlamaException("the text has more tokens than llama.cpp can count");
                    }
                    if (count >= 0) {
                        return tokens.asSlice(0, (long) count * Integer.BYTES).toArray(JAVA_INT);
                    }
                    capacity = -count;
                }
            }
        });
    }

    /** The bytes a token stands for (part of a UTF-8 character, possibly); special tokens as their text if asked. */
    public byte[] piece(int token, boolean special) {
        return call(() -> {
            try (Arena arena = Arena.ofConfined()) {
                int size = 64;
                while (true) {
                    MemorySegment buffer = arena.allocate(size);
                    int length = (int) cpp.tokenToPiece.invokeExact(vocab(), token, buffer, size, 0, special);
                    if (length >= 0) {
                        return buffer.asSlice(0, length).toArray(JAVA_BYTE);
                    }
                    size = -length;
                }
            }
        });
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            call(() -> {
                cpp.modelFree.invokeExact(model);
                return null;
            });
        }
    }

    public boolean isClosed() {
        return closed.get();
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the model is closed");
        }
    }

    @FunctionalInterface
    interface NativeCall<T> {
        T call() throws Throwable;
    }

    static <T> T call(NativeCall<T> call) {
        try {
            return call.call();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new LlamaException("llama.cpp call failed: " + e);
        }
    }
}
