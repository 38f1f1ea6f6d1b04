package dev.atrium.engine.remote;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Counts tokens with OpenAI's o200k encoding, for upstreams that report no usage of their own. For other model
 * families it is an estimate; upstream usage, when given, always wins.
 */
public final class TokenCounter {
    /** What OpenAI adds per chat message (role and separators), and per reply (its priming). */
    private static final int PER_MESSAGE = 4;
    private static final int PER_REPLY = 3;
    private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

    private TokenCounter() {}

    public static int count(String text) {
        return text.isEmpty() ? 0 : ENCODING.countTokensOrdinary(text);
    }

    /** The prompt tokens of a chat whose messages have these texts. */
    public static int countChat(Iterable<String> messageTexts) {
        int tokens = PER_REPLY;
        for (String text : messageTexts) {
            tokens += PER_MESSAGE + count(text);
        }
        return tokens;
    }
}
