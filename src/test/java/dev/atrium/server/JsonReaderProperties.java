package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.FuzzInput;
import java.nio.charset.StandardCharsets;
import dev.atrium.testing.FuzzTries;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import tools.jackson.core.JacksonException;

/**
 * Fuzzing what {@link Json#readObject} does with a body's bytes: the mapper either reads them or fails with a
 * {@link JacksonException} (which it answers with 400), never another exception, and {@link Json#describe}
 * tells the client what is wrong without the parser's class names or internals.
 */
@AddLifecycleHook(FuzzTries.class)
class JsonReaderProperties {

    @Property(tries = 3000)
    void readTree_mutatedOrGarbageBytes_readOrFailWithAPlainMessage(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        byte[] bytes = fuzz.chance(20) ? fuzz.garbage(64)
                : fuzz.chance(10) ? fuzz.mutate(("[".repeat(600) + "1" + "]".repeat(600)).getBytes(StandardCharsets.UTF_8))
                : fuzz.mutate(Json.MAPPER.writeValueAsBytes(fuzz.value(4)));
        long start = System.nanoTime();
        try {
            Json.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            String message = Json.describe(e);
            assertThat(message).as(FuzzInput.describe(bytes)).isNotBlank()
                    .doesNotContain("`", "tools.jackson", "com.fasterxml", "Exception", ".java", "StreamReadConstraints");
        }
        assertThat((System.nanoTime() - start) / 1_000_000).as(FuzzInput.describe(bytes)).isLessThan(2_000);
    }
}
