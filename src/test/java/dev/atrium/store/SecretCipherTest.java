package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretCipherTest {
    private static final String KEY = Base64.getEncoder().encodeToString(new byte[] {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});

    @Test
    void seal_opensForItsContextOnly() {
        SecretCipher cipher = SecretCipher.ofKey(KEY);
        String sealed = cipher.seal("sk-abc", "model-version:1:2");
        assertThat(sealed).startsWith("v1:").doesNotContain("sk-abc");
        assertThat(cipher.open(sealed, "model-version:1:2")).isEqualTo("sk-abc");
        assertThat(cipher.seal("sk-abc", "model-version:1:2")).as("a fresh nonce each time").isNotEqualTo(sealed);
        assertThatThrownBy(() -> cipher.open(sealed, "model-version:1:3")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("does not open");
    }

    @Test
    void open_refusesAnotherKey_andAlteredText() {
        String sealed = SecretCipher.ofKey(KEY).seal("sk-abc", "c");
        SecretCipher other = SecretCipher.ofKey(Base64.getEncoder().encodeToString(new byte[32]));
        assertThatThrownBy(() -> other.open(sealed, "c")).isInstanceOf(IllegalStateException.class);
        byte[] bytes = Base64.getDecoder().decode(sealed.substring(3));
        bytes[bytes.length - 1] ^= 1;
        String altered = "v1:" + Base64.getEncoder().encodeToString(bytes);
        assertThatThrownBy(() -> SecretCipher.ofKey(KEY).open(altered, "c")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> SecretCipher.ofKey(KEY).open("plain", "c")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void keys_mustBe32BytesOfBase64() {
        assertThatThrownBy(() -> SecretCipher.ofKey("c2hvcnQ=")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("32 bytes");
        assertThatThrownBy(() -> SecretCipher.ofKey("not base64!")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void open_makesTheKeyFileOnce_andTheEnvironmentKeyWins(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("secrets.key");
        String sealed = SecretCipher.open(null, file).seal("x", "c");
        assertThat(Files.readString(file).strip()).hasSize(44);
        assertThat(SecretCipher.open(null, file).open(sealed, "c")).as("the same key on the next start").isEqualTo("x");
        assertThatThrownBy(() -> SecretCipher.open(KEY, file).open(sealed, "c")).isInstanceOf(IllegalStateException.class);
    }
}
