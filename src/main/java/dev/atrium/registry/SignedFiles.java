package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * What a publisher signs for an upload: the SHA-256 of each of its files, in one canonical statement, so that the
 * tokenizer, voice activity detector and config are covered as well as the model file. The statement is these five
 * lines of ASCII, each ending in {@code \n}, hashes as lowercase hex and {@code -} for a part the upload lacks:
 *
 * <pre>
 * atrium-model-signature/1
 * model SHA256-OF-THE-ONNX-OR-GGUF-FILE
 * tokenizer SHA256-OR-DASH
 * vad SHA256-OR-DASH
 * config SHA256-OF-THE-CONFIG-PART'S-BYTES-OR-DASH
 * </pre>
 *
 * The signature is Ed25519 over exactly those bytes; {@code atrium models sign} and the server build them here.
 *
 * @param model the model file's hash
 * @param tokenizer the tokenizer's hash, or {@link #NONE}
 * @param vad the voice activity detector's hash, or {@link #NONE}
 * @param config the config part's hash (its bytes as sent), or {@link #NONE}
 */
public record SignedFiles(String model, String tokenizer, String vad, String config) {
    public static final String FORMAT = "atrium-model-signature/1";
    /** The hash of a part the upload does not have. */
    public static final String NONE = "-";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public SignedFiles {
        check("model", requireNonNull(model, "model is null"), false);
        check("tokenizer", requireNonNull(tokenizer, "tokenizer is null"), true);
        check("vad", requireNonNull(vad, "vad is null"), true);
        check("config", requireNonNull(config, "config is null"), true);
    }

    private static void check(String part, String hash, boolean optional) {
        if (!SHA256.matcher(hash).matches() && !(optional && hash.equals(NONE))) {
            throw new IllegalArgumentException(part + " is not a lowercase hex SHA-256" + (optional ? " or -" : ""));
        }
    }

    /** Whether the statement names exactly these files (its config aside). */
    public boolean covers(String model, String tokenizer, String vad) {
        return this.model.equals(model) && this.tokenizer.equals(tokenizer) && this.vad.equals(vad);
    }

    /** The statement's bytes, which the signature covers. */
    public byte[] statement() {
        return (FORMAT + "\nmodel " + model + "\ntokenizer " + tokenizer + "\nvad " + vad + "\nconfig " + config + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }
}
