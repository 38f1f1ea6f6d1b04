package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/** A credential held in memory to call an upstream; it never prints itself, so it cannot reach a log by accident. */
public final class Secret {
    private final String value;

    public Secret(String value) {
        this.value = requireNonNull(value, "value is null");
    }

    /** The secret itself, for the one place that sends it. */
    public String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return "[secret]";
    }
}
