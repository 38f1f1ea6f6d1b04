package dev.atrium.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The runtimes that can serve a model. */
public enum EngineKind {
    ONNX;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<EngineKind> fromWireName(String name) {
        return Arrays.stream(values()).filter(kind -> kind.wireName().equals(name)).findFirst();
    }
}
