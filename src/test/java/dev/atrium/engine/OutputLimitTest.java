package dev.atrium.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import org.junit.jupiter.api.Test;

class OutputLimitTest {
    private final OutputLimit limit = new OutputLimit(1024);

    @Test
    void bytes_ofAShape_isItsElementsTimesTheirSize() {
        assertThat(OutputLimit.bytes(DataType.FP32, new long[] {2, 3})).isEqualTo(24);
        assertThat(OutputLimit.bytes(DataType.INT64, new long[] {})).isEqualTo(8);
        assertThat(OutputLimit.bytes(DataType.BOOL, new long[] {0, 7})).isZero();
    }

    @Test
    void bytes_ofAShapePastLong_saturatesInsteadOfOverflowing() {
        assertThat(OutputLimit.bytes(DataType.FP64, new long[] {1L << 31, 1L << 31})).isEqualTo(Long.MAX_VALUE);
        assertThat(OutputLimit.bytes(DataType.FP64, new long[] {1L << 40, 1L << 40})).isEqualTo(Long.MAX_VALUE);
        assertThat(OutputLimit.bytes(DataType.FP32, new long[] {-1, 3})).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void bytes_ofStrings_isTheirLength() {
        Tensor strings = new Tensor("s", DataType.BYTES, new long[] {2}, new byte[][] {new byte[100], new byte[5]});
        assertThat(OutputLimit.bytes(strings)).isEqualTo(105);
    }

    @Test
    void check_pastTheLimit_isAUserErrorNamingTheLimit() {
        limit.check(1024, "the output tensors");
        assertThatThrownBy(() -> limit.check(1025, "the output tensors"))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OUTPUT_TOO_LARGE))
                .hasMessageContaining("1024 bytes").hasMessageContaining("the output tensors");
    }

    @Test
    void checkEmbeddings_countsFourBytesPerNumber_withoutOverflow() {
        limit.checkEmbeddings(2, 128);
        assertThatThrownBy(() -> limit.checkEmbeddings(2, 129)).isInstanceOf(AtriumException.class);
        assertThatThrownBy(() -> limit.checkEmbeddings(Integer.MAX_VALUE, Integer.MAX_VALUE))
                .isInstanceOf(AtriumException.class).hasMessageContaining("too many");
    }
}
