package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.atrium.testing.TestServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK works against Atrium unchanged. */
class OpenAiSdkTest {
    private static TestServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        client = OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl() + "/v1")
                .apiKey(server.adminKey())
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    @Test
    void modelsList_containsTheBundledModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).contains("all-minilm-l6-v2");
        assertThat(client.models().retrieve("all-minilm-l6-v2").id()).isEqualTo("all-minilm-l6-v2");
    }

    @Test
    void modelsRetrieve_unknownModel_isNotFound() {
        assertThatThrownBy(() -> client.models().retrieve("no-such-model")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void embeddingsCreate_float() {
        CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
                .model("all-minilm-l6-v2")
                .input("The SDK needs no changes.")
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT)
                .build());
        assertThat(response.data()).hasSize(1);
        assertThat(response.data().getFirst().embedding()).hasSize(384);
        assertThat(response.usage().promptTokens()).isPositive();
        assertThat(response.usage().totalTokens()).isEqualTo(response.usage().promptTokens());
    }

    @Test
    void embeddingsCreate_base64_equalsFloat() {
        EmbeddingCreateParams.Builder params = EmbeddingCreateParams.builder()
                .model("all-minilm-l6-v2")
                .input(EmbeddingCreateParams.Input.ofArrayOfStrings(List.of("first", "second")));
        CreateEmbeddingResponse floats = client.embeddings().create(params
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        CreateEmbeddingResponse base64 = client.embeddings().create(params
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build());
        assertThat(base64.data()).hasSize(2);
        for (int i = 0; i < 2; i++) {
            List<Float> expected = floats.data().get(i).embedding();
            List<Float> actual = decode(base64.data().get(i).embeddingValue());
            assertThat(actual).containsExactlyElementsOf(expected);
        }
    }

    private static List<Float> decode(com.openai.models.embeddings.EmbeddingValue value) {
        if (value.isFloats()) {
            return value.asFloats();
        }
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(value.asBase64())).order(ByteOrder.LITTLE_ENDIAN);
        Float[] floats = new Float[bytes.remaining() / Float.BYTES];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = bytes.getFloat();
        }
        return List.of(floats);
    }
}
