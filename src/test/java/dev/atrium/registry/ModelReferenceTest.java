package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelReferenceTest {
    @Test
    void parse_plainName() {
        assertThat(ModelReference.parse("all-minilm-l6-v2"))
                .isEqualTo(new ModelReference("all-minilm-l6-v2", OptionalInt.empty(), Optional.empty()));
    }

    @Test
    void parse_version() {
        assertThat(ModelReference.parse("bert.base_v2:12").version()).hasValue(12);
        assertThat(ModelReference.parse("bert.base_v2:12").toString()).isEqualTo("bert.base_v2:12");
    }

    @Test
    void parse_alias() {
        ModelReference reference = ModelReference.parse("bert:production");
        assertThat(reference.alias()).contains("production");
        assertThat(reference.version()).isEmpty();
        assertThat(ModelReference.parse("bert:latest").alias()).contains("latest");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Bert", "bert:", "bert:0", "bert:Prod", "bert:1:2", ":1", "-bert", "bert:-1", "bert name",
            "bert:9999999999"})
    void parse_malformed_isModelNotFound(String text) {
        assertThatThrownBy(() -> ModelReference.parse(text))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));
    }

    @Test
    void parse_empty_isInvalidRequest() {
        assertThatThrownBy(() -> ModelReference.parse(""))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void isValidName_allowsLowercaseDigitsDashDotUnderscore() {
        assertThat(Model.isValidName("a-b.c_d9")).isTrue();
        assertThat(Model.isValidName("a".repeat(128))).isTrue();
        assertThat(Model.isValidName("a".repeat(129))).isFalse();
        assertThat(Model.isValidName("a/b")).isFalse();
        assertThat(Model.isValidName("a:b")).isFalse();
    }
}
