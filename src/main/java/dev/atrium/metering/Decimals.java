package dev.atrium.metering;

import dev.atrium.AtriumException;
import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one check of every decimal the API takes: prices, budgets' {@code monthly_limit}, {@code alert_at}
 * fractions. A value has at most {@value #MAX_INTEGER_DIGITS} digits before the point (so it is below 10^12) and
 * at most {@value #MAX_FRACTION_DIGITS} after it (trailing zeros aside).
 *
 * <p>Text is judged before it becomes a {@link BigDecimal}: at most {@value #MAX_TEXT_LENGTH} characters, an
 * exponent of at most four digits. So a value such as {@code 1E+10000000} or a 100,000-digit decimal is refused
 * at once and never expanded: its plain form, or a comparison with it, would take seconds to minutes of CPU. The
 * same check reads values back from the store (where older versions may have left such values), so a read is
 * always cheap.
 */
public final class Decimals {
    public static final int MAX_INTEGER_DIGITS = 12;
    public static final int MAX_FRACTION_DIGITS = 12;
    /** Room for 12 + 12 digits, a sign, a point, an exponent and a few leading zeros. */
    public static final int MAX_TEXT_LENGTH = 40;
    /** At most 128 bits of unscaled value: more than 12 + 12 digits need, however many trailing zeros. */
    private static final int MAX_UNSCALED_BITS = 128;
    private static final Pattern SYNTAX = Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]{1,4})?");

    private Decimals() {}

    /**
     * A non-negative amount from a request (a price, a budget's limit).
     *
     * @throws AtriumException 400 {@code invalid_request_error} naming {@code param}
     */
    public static BigDecimal amount(String param, String text) {
        BigDecimal value = parse(text).orElseThrow(() -> AtriumException.invalidParam(param, "'" + param
                + "' must be a decimal string such as \"0.02\", " + bounds()));
        if (value.signum() < 0) {
            throw AtriumException.invalidParam(param, "'" + param + "' must not be negative");
        }
        return value;
    }

    /**
     * A fraction in (0, 1] from a request (a budget's alert threshold).
     *
     * @throws AtriumException 400 {@code invalid_request_error} naming {@code param}
     */
    public static BigDecimal fraction(String param, String text) {
        BigDecimal value = parse(text).orElseThrow(() -> AtriumException.invalidParam(param, "'" + param
                + "' holds decimal strings such as \"0.8\", " + bounds()));
        if (value.signum() <= 0 || value.compareTo(BigDecimal.ONE) > 0) {
            throw AtriumException.invalidParam(param, "'" + param + "' holds fractions greater than 0 and at most 1");
        }
        return value;
    }

    /**
     * A decimal within the bounds, or empty: for text from a request or from the store. Cheap for any text.
     * Trailing zeros past the 12th fractional digit are dropped, and a value with an exponent comes back plain.
     */
    public static Optional<BigDecimal> parse(String text) {
        if (text == null || text.length() > MAX_TEXT_LENGTH || !SYNTAX.matcher(text).matches()) {
            return Optional.empty();
        }
        // at most 40 characters and an exponent of at most 9999: constructing it is cheap
        BigDecimal value = new BigDecimal(text);
        return withinBounds(value) ? Optional.of(plain(value)) : Optional.empty();
    }

    /** Whether a value keeps the bounds; cheap for any value, however large its digits or its exponent. */
    public static boolean withinBounds(BigDecimal value) {
        if (value.signum() == 0) {
            return true;
        }
        if (value.unscaledValue().bitLength() > MAX_UNSCALED_BITS) {
            return false;
        }
        long integerDigits = (long) value.precision() - value.scale();
        return integerDigits <= MAX_INTEGER_DIGITS && value.stripTrailingZeros().scale() <= MAX_FRACTION_DIGITS;
    }

    /**
     * Checks a value given to the metering API in code (requests come through {@link #amount}).
     *
     * @throws IllegalArgumentException when it is null, negative or out of bounds
     */
    static BigDecimal requireAmount(String name, BigDecimal value) {
        if (value == null || value.signum() < 0 || !withinBounds(value)) {
            throw new IllegalArgumentException(name + " must be a non-negative decimal, " + bounds());
        }
        return value;
    }

    private static BigDecimal plain(BigDecimal value) {
        if (value.signum() == 0) {
            return value.scale() < 0 || value.scale() > MAX_FRACTION_DIGITS ? BigDecimal.ZERO : value;
        }
        BigDecimal shorter = value.scale() > MAX_FRACTION_DIGITS ? value.stripTrailingZeros() : value;
        return shorter.scale() < 0 ? shorter.setScale(0) : shorter;
    }

    private static String bounds() {
        return "with at most " + MAX_INTEGER_DIGITS + " digits before the point and " + MAX_FRACTION_DIGITS
                + " after";
    }
}
