package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StreamingTextTest {
    @Test
    void utf8Pieces_charactersSplitAcrossTokens_comeOutWhole() {
        String text = "añ€😀 z日本";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 200; round++) {
            Utf8Pieces pieces = new Utf8Pieces();
            StringBuilder out = new StringBuilder();
            int at = 0;
            while (at < bytes.length) {
                int length = Math.min(bytes.length - at, 1 + random.nextInt(3));
                byte[] piece = java.util.Arrays.copyOfRange(bytes, at, at + length);
                String emitted = pieces.add(piece);
                assertThat(emitted).doesNotContain("\uFFFD");
                out.append(emitted);
                at += length;
            }
            out.append(pieces.flush());
            assertThat(out.toString()).isEqualTo(text);
        }
    }

    @Test
    void utf8Pieces_anUnfinishedCharacterAtTheEnd_isFlushedAsMalformed() {
        Utf8Pieces pieces = new Utf8Pieces();
        assertThat(pieces.add(new byte[] {'a', (byte) 0xE2, (byte) 0x82})).isEqualTo("a");
        assertThat(pieces.flush()).isEqualTo("\uFFFD");
        assertThat(pieces.add(new byte[] {(byte) 0x80})).isEqualTo("\uFFFD"); // a lone continuation goes out
    }

    @Test
    void stopSequences_splitAcrossPieces_endTheTextBeforeThem() {
        StopSequences stops = new StopSequences(List.of("\nUser:", "###"));
        StringBuilder out = new StringBuilder();
        for (String piece : List.of("Hello", " there", "\nUs", "er", ": more")) {
            out.append(stops.add(piece));
            if (stops.stopped()) {
                break;
            }
        }
        assertThat(stops.stopped()).isTrue();
        assertThat(out.toString()).isEqualTo("Hello there");
    }

    @Test
    void stopSequences_aPrefixThatDoesNotComplete_isGivenOutLater() {
        StopSequences stops = new StopSequences(List.of("###"));
        assertThat(stops.add("a#")).isEqualTo("a");
        assertThat(stops.add("#b")).isEqualTo("##b");
        assertThat(stops.add("##")).isEqualTo("");
        assertThat(stops.flush()).isEqualTo("##");
        assertThat(stops.stopped()).isFalse();
    }

    @Test
    void stopSequences_none_passEverythingAtOnce() {
        StopSequences stops = new StopSequences(List.of());
        assertThat(stops.add("abc")).isEqualTo("abc");
        assertThat(stops.flush()).isEmpty();
    }
}
