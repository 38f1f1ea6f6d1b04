package dev.atrium.tenancy;

/**
 * Admission limits of a key or a tenant; a null field is no limit of its own.
 *
 * @param rpm requests per minute
 * @param tpm tokens per minute
 * @param maxConcurrent requests at once
 */
public record Limits(Integer rpm, Integer tpm, Integer maxConcurrent) {
    public static final Limits NONE = new Limits(null, null, null);

    public Limits {
        check("rpm", rpm);
        check("tpm", tpm);
        check("max_concurrent", maxConcurrent);
    }

    private static void check(String name, Integer value) {
        if (value != null && value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1");
        }
    }
}
