package dev.atrium.engine.llama;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns the bytes of generated tokens into text as it streams: a token may carry part of a UTF-8 character
 * (byte-fallback vocabularies split emoji and CJK characters over several tokens), so the text given out is
 * the longest prefix of complete characters, and the incomplete tail waits for the next token. Not thread-safe.
 */
final class Utf8Pieces {
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** The complete characters the bytes end, with any held back before them; "" while a character is unfinished. */
    String add(byte[] bytes) {
        pending.writeBytes(bytes);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    /** What is still held back (an unfinished character, which is malformed at the end), as text. */
    String flush() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /**
     * The length of the longest prefix that does not end inside a character: a trailing lead byte and fewer
     * continuation bytes than it announces wait (at most 3 bytes); anything else, malformed or not, goes out.
     */
    static int completePrefix(byte[] bytes) {
        int end = bytes.length;
        for (int back = 1; back <= Math.min(3, end); back++) {
            int b = bytes[end - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back for its lead
            }
            int needed = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needed > back ? end - back : end;
        }
        return end;
    }
}
