package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A huge embedding input costs time in proportion to the model's limit, not to its size: refused (or, with
 * {@code --truncate-inputs true}, cut) after tokenizing a bounded prefix, never tokenized whole.
 */
class LongInputTest {
    private static final String MODEL = "all-minilm-l6-v2";
    /** 10 MB of text, about two million tokens. */
    private static final String TEN_MEGABYTES = "word ".repeat(2_000_000);
    private static final byte[] TEN_MEGABYTE_BODY = Json.MAPPER.writeValueAsBytes(Map.of("model", MODEL,
            "input", TEN_MEGABYTES));
    private static TestServer strict;
    private static TestServer truncating;

    @BeforeAll
    static void start() {
        strict = TestServer.start();
        truncating = TestServer.start(Map.of("truncate-inputs", "true"));
    }

    @AfterAll
    static void stop() {
        strict.close();
        truncating.close();
    }

    @Test
    void embeddings_tenMegabyteInput_isRefusedInTimeBoundedByTheLimit() {
        Http http = strict.http();
        assertThat(http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "warm up")).status()).isEqualTo(200);
        http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "word ".repeat(5_000)));

        long start = System.nanoTime();
        Http.Reply reply = http.post("/v1/embeddings", "application/json", TEN_MEGABYTE_BODY);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("LongInputTest: 10 MB input refused in " + millis + " ms (the issue asks under 100 ms)");

        assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
        JsonNode error = reply.json().path("error");
        assertThat(error.path("code").asString()).isEqualTo("context_length_exceeded");
        assertThat(error.path("param").asString()).isEqualTo("input");
        assertThat(error.path("message").asString()).contains("more than 256 tokens");
        // the limit is 100 ms; the margin is for a loaded CI machine (tokenizing it all took 21.8 s)
        assertThat(millis).as("milliseconds to refuse 10 MB").isLessThan(1_000);
        assertThat(http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "still here")).status()).isEqualTo(200);
    }

    @Test
    void embeddings_tenMegabyteInputWithTruncation_isCutToWhatTheWholeTextWouldGive() {
        Http http = truncating.http();
        Http.Reply shortText = http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "word ".repeat(300)));
        assertThat(shortText.status()).as(shortText.toString()).isEqualTo(200);

        long start = System.nanoTime();
        Http.Reply huge = http.post("/v1/embeddings", "application/json", TEN_MEGABYTE_BODY);
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(huge.status()).as(huge.toString()).isEqualTo(200);
        assertThat(huge.json().path("usage").path("prompt_tokens").asInt()).isEqualTo(256);
        assertThat(huge.json().path("data").get(0).path("embedding"))
                .isEqualTo(shortText.json().path("data").get(0).path("embedding"));
        assertThat(millis).as("milliseconds to cut 10 MB").isLessThan(2_000);
    }

    @Test
    void embeddings_textPastTheCharacterCap_isRefusedNamingIt() {
        // 41 words of 101 letters: 43 tokens (WordPiece reads each as [UNK]), but 4,182 characters, past 16 x 256
        Http.Reply reply = strict.http().postJson("/v1/embeddings", Map.of("model", MODEL,
                "input", ("x".repeat(101) + " ").repeat(41)));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
        assertThat(reply.json().path("error").path("code").asString()).isEqualTo("context_length_exceeded");
        assertThat(reply.json().path("error").path("message").asString()).contains("4096 characters");
    }

    @Test
    void embeddings_textJustWithinTheCharacterCap_isTokenizedWhole() {
        Http.Reply reply = strict.http().postJson("/v1/embeddings", Map.of("model", MODEL,
                "input", ("x".repeat(101) + " ").repeat(40)));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.json().path("usage").path("prompt_tokens").asInt()).isEqualTo(42);
    }
}
