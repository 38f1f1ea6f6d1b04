package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assertions;

class DecimalsTest {
    /** Each is refused, and quickly: none may be expanded to its digits. */
    private static final String[] OUT_OF_BOUNDS = {"1E+10000000", "1e2147483647", "1e2147483648", "1E-10000000",
            "1e-2147483648", "1" + "0".repeat(100_000), "0." + "0".repeat(100_000) + "1", "1000000000000",
            "1E+12", "0.0000000000001", "1E-13", "NaN", "Infinity", "", " 1", "1e", "0x10", "1,5", "--1"};

    @Test
    void amount_withinBounds_isParsedPlain() {
        assertThat(Decimals.amount("p", "0.02")).isEqualTo(new BigDecimal("0.02"));
        assertThat(Decimals.amount("p", "999999999999.999999999999")).isEqualTo(new BigDecimal("999999999999.999999999999"));
        assertThat(Decimals.amount("p", "1E+3").toPlainString()).isEqualTo("1000");
        assertThat(Decimals.amount("p", "0.000000000001")).isEqualByComparingTo("1E-12");
        assertThat(Decimals.amount("p", "1.50000000000000000000").toPlainString()).isEqualTo("1.5");
        assertThat(Decimals.amount("p", "0E+9999")).isEqualByComparingTo("0");
        assertThat(Decimals.amount("p", "0")).isEqualByComparingTo("0");
    }

    @Test
    void amount_outOfBounds_isRefusedAtOnceNamingTheParam() {
        Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            for (String text : OUT_OF_BOUNDS) {
                AtriumException refused = catchThrowableOfType(AtriumException.class,
                        () -> Decimals.amount("monthly_limit", text));
                assertThat(refused).as(text.length() > 40 ? text.length() + " characters" : text).isNotNull();
                assertThat(refused.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                assertThat(refused.param()).contains("monthly_limit");
            }
        });
    }

    @Test
    void amount_negative_isRefused() {
        AtriumException refused = catchThrowableOfType(AtriumException.class, () -> Decimals.amount("per_request", "-1"));
        assertThat(refused.param()).contains("per_request");
        assertThat(refused.getMessage()).contains("negative");
    }

    @Test
    void fraction_outsideZeroToOne_isRefused() {
        assertThat(Decimals.fraction("alert_at", "0.8")).isEqualByComparingTo("0.8");
        assertThat(Decimals.fraction("alert_at", "1")).isEqualByComparingTo("1");
        for (String text : new String[] {"0", "-0.5", "1.000000000001", "1E-10000000", "2"}) {
            assertThat(catchThrowableOfType(AtriumException.class, () -> Decimals.fraction("alert_at", text)).param())
                    .as(text).contains("alert_at");
        }
    }

    @Test
    void withinBounds_hugeValues_answerQuickly() {
        BigDecimal manyDigits = new BigDecimal(BigInteger.TEN.pow(200_000).add(BigInteger.ONE), 100_000);
        Assertions.assertTimeoutPreemptively(Duration.ofSeconds(1), () -> {
            assertThat(Decimals.withinBounds(manyDigits)).isFalse();
            assertThat(Decimals.withinBounds(new BigDecimal("1E+10000000"))).isFalse();
            assertThat(Decimals.withinBounds(new BigDecimal("1E+2147483647"))).isFalse();
            assertThat(Decimals.withinBounds(new BigDecimal("1E-2147483647"))).isFalse();
            assertThat(Decimals.withinBounds(new BigDecimal("123.4500"))).isTrue();
        });
    }
}
