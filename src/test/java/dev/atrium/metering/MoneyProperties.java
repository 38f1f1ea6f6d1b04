package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Instant;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;

/** Charges are exact: no rounding anywhere, so splitting usage never changes what it costs. */
class MoneyProperties {

    @Provide
    Arbitrary<Price> prices() {
        Arbitrary<BigDecimal> amount = Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("1000"))
                .ofScale(6);
        return net.jqwik.api.Combinators.combine(amount, amount, amount, amount).as((input, output, request, compute) ->
                new Price(1, "m", null, input, output, request, compute, "USD", Instant.EPOCH, Instant.EPOCH));
    }

    @Property
    void charge_isExactlyPriceTimesQuantity(@ForAll("prices") Price price,
            @ForAll @LongRange(max = 10_000_000) long input, @ForAll @LongRange(max = 10_000_000) long output,
            @ForAll @LongRange(max = 1_000) long requests, @ForAll @LongRange(max = 86_400_000) long computeMillis) {
        Charge charge = Charge.of(price, new Usage(input, output, requests, computeMillis));
        BigDecimal expected = price.inputPer1m().multiply(BigDecimal.valueOf(input)).divide(BigDecimal.valueOf(1_000_000))
                .add(price.outputPer1m().multiply(BigDecimal.valueOf(output)).divide(BigDecimal.valueOf(1_000_000)))
                .add(price.perRequest().multiply(BigDecimal.valueOf(requests)))
                .add(price.perComputeSecond().multiply(BigDecimal.valueOf(computeMillis)).divide(BigDecimal.valueOf(1_000)));
        assertThat(charge.total()).isEqualByComparingTo(expected);
    }

    @Property
    void charge_ofSplitUsage_addsUpToTheChargeOfTheWhole(@ForAll("prices") Price price,
            @ForAll @LongRange(max = 5_000_000) long inputA, @ForAll @LongRange(max = 5_000_000) long inputB,
            @ForAll @LongRange(max = 60_000) long computeA, @ForAll @LongRange(max = 60_000) long computeB) {
        Charge a = Charge.of(price, new Usage(inputA, 0, 1, computeA));
        Charge b = Charge.of(price, new Usage(inputB, 0, 1, computeB));
        Charge whole = Charge.of(price, new Usage(inputA + inputB, 0, 2, computeA + computeB));
        assertThat(a.total().add(b.total())).isEqualByComparingTo(whole.total());
        assertThat(a.input().add(b.input())).isEqualByComparingTo(whole.input());
    }

    @Property
    void charge_survivesItsTextForm(@ForAll("prices") Price price, @ForAll @LongRange(max = 10_000_000) long input) {
        Charge charge = Charge.of(price, new Usage(input, 0, 1, 0));
        assertThat(new BigDecimal(charge.total().toPlainString())).isEqualTo(charge.total());
    }
}
